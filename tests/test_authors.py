"""Author states and actions: the policy honours them, undo restores, races leave one winner (SQLite and
PostgreSQL), reject-pending goes through the decision log, the profile shows what the source gave."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from moderation.assess.persist import items_for
from moderation.assess.pipeline import Pipeline
from moderation.domain.comments import Action, CommentRecord, ImportBatch
from moderation.services import authors, review
from moderation.scoring.lexicon import LexiconScorer
from moderation.services.jobs import triage_stored
from moderation.store import authors as store
from moderation.store.decisions import DecisionError
from moderation.store.loading import load_batch
from moderation.store.models import Comment, Decision, utcnow
from tests.test_decision_race import RACERS, race, replays

T0 = datetime(2026, 10, 28, 9, 0, tzinfo=timezone.utc)
CLEAN = "Danke für den Artikel, sehr informativ."
ATTACK = "Du bist ein Idiot."


def seed(db, rows, source="site") -> dict[str, int]:
    """rows: (external id, author, text[, meta]); returns external id -> comment id."""
    b = ImportBatch(source, "t.jsonl")
    for i, (ext, author, text, *meta) in enumerate(rows):
        b.comments.append(CommentRecord(ext, "a1", text, author=author, created_at=T0 + timedelta(minutes=i),
                                        article_title="Titel", meta=meta[0] if meta else {},
                                        location=f"t.jsonl:{i + 1}"))
    with db.session() as s:
        load_batch(s, b)
        return {c.external_id: c.id for c in s.scalars(select(Comment).where(Comment.source == source))}


def hold_all(db) -> None:
    with db.session() as s:
        s.execute(update(Comment).values(status="held"))


def verdicts(db, ruleset, ids) -> dict[int, object]:
    with db.session() as s:
        rows = list(s.scalars(select(Comment).where(Comment.id.in_(ids)).order_by(Comment.id)))
        return {c.id: a for c, a in zip(rows, Pipeline(ruleset, [LexiconScorer(ruleset)]).assess(items_for(s, rows)))}


def test_banned_and_suspended_authors_are_rejected_with_the_reason(db, ruleset):
    ids = seed(db, [("c1", "anna", CLEAN), ("c2", "bert", CLEAN), ("c3", "carl", CLEAN)])
    with db.session() as s:
        authors.act(s, "site", "anna", "ban", "mo", reason="spam wave")
        authors.act(s, "site", "bert", "suspend", "mo", reason="cool off", until=utcnow() + timedelta(days=1))
    got = verdicts(db, ruleset, list(ids.values()))
    anna, bert, carl = got[ids["c1"]], got[ids["c2"]], got[ids["c3"]]
    assert anna.decision is Action.REJECT and anna.evidence["reason_code"] == "author-banned"
    assert "banned" in anna.explanation and "mo" in anna.explanation and "spam wave" in anna.explanation
    assert bert.decision is Action.REJECT and bert.evidence["reason_code"] == "author-suspended"
    assert "until" in bert.explanation
    assert carl.decision is Action.APPROVE and "reason_code" not in carl.evidence
    # The same author on another site is not banned there.
    other = seed(db, [("c1", "anna", CLEAN)], source="other")
    assert verdicts(db, ruleset, [other["c1"]])[other["c1"]].decision is Action.APPROVE


def test_a_suspension_ends_by_itself(db, ruleset):
    ids = seed(db, [("c1", "anna", CLEAN)])
    with db.session() as s:
        authors.act(s, "site", "anna", "suspend", "mo", until=utcnow() + timedelta(seconds=60))
    assert verdicts(db, ruleset, [ids["c1"]])[ids["c1"]].decision is Action.REJECT
    with db.session() as s:  # the end has come
        s.execute(update(store.AuthorState).values(until=utcnow() - timedelta(seconds=1)))
    assert verdicts(db, ruleset, [ids["c1"]])[ids["c1"]].decision is Action.APPROVE
    with db.session() as s:
        assert authors.profile(s, "site", "anna").state == "normal"


def test_premoderated_authors_are_held_and_trusted_ones_approved_only_when_clean(db, ruleset):
    ids = seed(db, [("p1", "paul", CLEAN), ("p2", "paul", ATTACK), ("t1", "tina", CLEAN), ("t2", "tina", ATTACK)])
    with db.session() as s:
        authors.act(s, "site", "paul", "premoderate", "mo", reason="new account, many complaints")
        authors.act(s, "site", "tina", "trust", "mo")
    got = verdicts(db, ruleset, list(ids.values()))
    assert got[ids["p1"]].decision is Action.HOLD and got[ids["p1"]].evidence["reason_code"] == "author-premoderated"
    assert got[ids["p2"]].decision is Action.HOLD and "personal-attack" in got[ids["p2"]].explanation
    assert got[ids["t1"]].decision is Action.APPROVE and got[ids["t1"]].evidence["reason_code"] == "author-trusted"
    # A trusted author's comment with a rule hit follows the rule.
    assert got[ids["t2"]].decision is Action.HOLD and [h.rule_id for h in got[ids["t2"]].hits][0] == "personal-attack"
    assert "reason_code" not in got[ids["t2"]].evidence


def test_triage_writes_the_ban_and_keeps_human_decisions(db, ruleset):
    ids = seed(db, [("c1", "anna", CLEAN), ("c2", "anna", CLEAN)])
    with db.session() as s:
        review.decide_seen(s, ids["c2"], "approve", "mo", seen=0)
        authors.act(s, "site", "anna", "ban", "mo")
    triage_stored(db, Pipeline(ruleset, [LexiconScorer(ruleset)]))
    with db.session() as s:
        first, second = s.get(Comment, ids["c1"]), s.get(Comment, ids["c2"])
        assert first.status == "rejected" and second.status == "approved"


def test_undo_restores_the_state_before_and_only_while_nothing_changed_since(db):
    seed(db, [("c1", "anna", CLEAN)])
    with db.session() as s:
        trust = authors.act(s, "site", "anna", "trust", "mo", reason="regular").action
        ban = authors.act(s, "site", "anna", "ban", "mo2", reason="spam").action
    with pytest.raises(store.AuthorChanged, match="mo2.*undo that instead"):
        with db.session() as s:
            authors.undo(s, trust["id"], "mo")
    with db.session() as s:
        undone = authors.undo(s, ban["id"], "mo", reason="mistake").action
        assert undone["undoes"] == ban["id"] and undone["state_after"] == "trusted"
    with db.session() as s:
        profile = authors.profile(s, "site", "anna")
        assert profile.state == "trusted" and [a["action"] for a in profile.actions] == ["trust", "ban", "undo"]
        assert [a["undone"] for a in profile.actions] == [False, True, False]
        with pytest.raises(store.AuthorChanged, match="already undone"):
            authors.undo(s, ban["id"], "mo")
    with pytest.raises(store.AuthorError, match="cannot be undone"):
        with db.session() as s:
            authors.undo(s, undone["id"], "mo")
    with db.session() as s:  # the trust's own undo now restores the normal state, with the old reason gone
        authors.undo(s, trust["id"], "mo")
        row = store.current(s, "site", "anna")
        assert (row.state, row.version) == ("normal", 4)


def test_a_stale_view_and_a_repeated_state_are_refused(db):
    seed(db, [("c1", "anna", CLEAN)])
    with db.session() as s:
        authors.act(s, "site", "anna", "ban", "mo", seen=0)
    with pytest.raises(store.AuthorChanged, match="mo"):
        with db.session() as s:
            authors.act(s, "site", "anna", "trust", "mo2", seen=0)
    with pytest.raises(store.AuthorChanged, match="banned already"):
        with db.session() as s:
            authors.act(s, "site", "anna", "ban", "mo2")
    with db.session() as s:
        with pytest.raises(store.AuthorError):
            authors.act(s, "site", "anna", "suspend", "mo", until=utcnow() - timedelta(hours=1))
        with pytest.raises(store.AuthorError):
            authors.act(s, "site", "anna", "note", "mo", reason="  ")


def test_ban_with_reject_pending_previews_rejects_and_undoes_through_the_decision_log(db):
    ids = seed(db, [(f"c{i}", "anna", CLEAN) for i in range(4)] + [("x", "bert", CLEAN)])
    hold_all(db)
    with db.session() as s:
        review.decide_seen(s, ids["c0"], "approve", "mo", seen=0)  # published: not pending
        assert authors.pending_count(s, "site", "anna") == 3
        done = authors.act(s, "site", "anna", "ban", "mo", reason="spam", reject_pending=True, reason_code="spam")
    assert sorted(done.rejected) == sorted(ids[f"c{i}"] for i in (1, 2, 3)) and not done.skipped
    with db.session() as s:
        log = list(s.scalars(select(Decision).where(Decision.comment_id == ids["c2"])))
        assert [(d.action, d.reason_code, d.actor) for d in log] == [("reject", "spam", "mo")]
        assert s.get(Comment, ids["x"]).status == "held" and authors.pending_count(s, "site", "anna") == 0
        review.decide_seen(s, ids["c3"], "approve", "mo2", seen=1)  # decided again since: left alone by undo
    with db.session() as s:
        undone = authors.undo(s, done.action["id"], "mo")
    assert sorted(undone.rejected) == sorted([ids["c1"], ids["c2"]]) and [c for c, _ in undone.skipped] == [ids["c3"]]
    with db.session() as s:
        statuses = {k: s.get(Comment, v).status for k, v in ids.items()}
        assert statuses == {"c0": "approved", "c1": "held", "c2": "held", "c3": "approved", "x": "held"}
        assert store.current(s, "site", "anna").state == "normal"
    replays(db)


def test_simultaneous_bans_and_undos_leave_one_winner_each(db):
    seed(db, [("c1", "anna", CLEAN)])
    results = race(db, lambda s, i: authors.act(s, "site", "anna", "ban", f"mod{i}", reason=f"r{i}").action["id"])
    winners = [r for r in results if isinstance(r, int)]
    assert len(winners) == 1 and all(isinstance(r, store.AuthorChanged) for r in results if r not in winners)
    results = race(db, lambda s, i: authors.undo(s, winners[0], f"mod{i}").action["id"])
    assert len([r for r in results if isinstance(r, int)]) == 1, results
    # Trust and ban from many hands at once: the log replays to the state, one version per change.
    results = race(db, lambda s, i: authors.act(s, "site", "anna", "trust" if i % 2 else "ban", f"mod{i}",
                                                 seen=2).action["id"])
    assert len([r for r in results if isinstance(r, int)]) == 1, results
    with db.session() as s:
        log = store.log(s, "site", "anna")
        row = store.current(s, "site", "anna")
        changes = [a for a in log if a.action in (*store.SETS, "undo")]
        assert [a.version for a in changes] == list(range(1, row.version + 1))
        assert all(b.state_before == a.state_after for a, b in zip(changes, changes[1:]))
        assert changes[-1].state_after == row.state


def test_reject_pending_racing_moderators_decides_each_version_once(db):
    ids = seed(db, [(f"c{i}", "anna", CLEAN) for i in range(6)])
    hold_all(db)
    targets = sorted(ids.values())

    def work(s, i):
        if i % 2 == 0:
            return authors.act(s, "site", "anna", "reject-pending", f"mod{i}", reason_code="spam").rejected
        return review.decide_seen(s, targets[i % len(targets)], "approve", f"mod{i}", seen=0).id

    results = race(db, work)
    assert not [r for r in results if not isinstance(r, (list, int, DecisionError))], results
    with db.session() as s:
        per_comment = dict(s.execute(select(Decision.comment_id, func.count()).group_by(Decision.comment_id)).all())
        assert per_comment == {cid: 1 for cid in targets}
        assert authors.pending_count(s, "site", "anna") == 0
    rejected = [c for r in results if isinstance(r, list) for c in r]
    assert len(rejected) == len(set(rejected)) and len(rejected) + len([r for r in results if isinstance(r, int)]) \
        == len(targets)
    replays(db)


def test_profile_shows_comments_rates_notes_and_identities(db):
    ids = seed(db, [("c1", "anna", CLEAN, {"author_email": "Anna@Example.org", "author_ip": "203.0.113.77"}),
                    ("c2", "anna", CLEAN, {"author_ip": "2001:db8:1:2::5"}),
                    ("c3", "anna", CLEAN),
                    ("c4", "anna_b", CLEAN, {"author_email": "anna@example.org"}),
                    ("c5", "bert", CLEAN, {"author_email": "bert@example.org"})])
    with db.session() as s:
        review.decide_seen(s, ids["c1"], "reject", "mo", seen=0, reason_code="spam")
        review.decide_seen(s, ids["c2"], "approve", "mo", seen=0)
        review.decide_seen(s, ids["c3"], "approve", "mo", seen=0)
        note = authors.act(s, "site", "anna", "note", "mo", reason="warned by mail").action
        gone = authors.act(s, "site", "anna", "note", "mo", reason="wrong person").action
    with db.session() as s:
        authors.undo(s, gone["id"], "mo")
        p = authors.profile(s, "site", "anna")
    assert p.counts == {"new": 0, "approved": 2, "held": 0, "rejected": 1}
    assert p.rejection_rate == pytest.approx(1 / 3) and p.first_seen.startswith("2026-10-28T09:00")
    assert [c["external_id"] for c in p.comments] == ["c3", "c2", "c1"]
    assert [n["id"] for n in p.notes] == [note["id"]] and p.notes[0]["reason"] == "warned by mail"
    assert p.emails == ["anna@example.org"] and p.other_names == ["anna_b"]
    assert p.ip_prefixes == ["2001:db8:1::/48", "203.0.113.0/24"]
    assert p.state == "normal" and p.pending == 0


def test_reject_pending_needs_a_known_reason_code(db):
    seed(db, [("c1", "anna", CLEAN)])
    hold_all(db)
    with pytest.raises(DecisionError, match="unknown reason code"):
        with db.session() as s:
            authors.act(s, "site", "anna", "reject-pending", "mo", reason_code="nope")
    with db.session() as s:
        assert authors.pending_count(s, "site", "anna") == 1 and not store.log(s, "site", "anna")
    assert RACERS >= 4


def test_the_policy_order_of_author_states_and_evidence():
    """Ban beats an approving rule and missing evidence; a confident reject still rejects a pre-moderated
    author; missing evidence holds a trusted author's comment."""
    from moderation.assess.triage import decide  # noqa: PLC0415
    from moderation.rules import Evaluation  # noqa: PLC0415
    from moderation.rules.schema import Policy  # noqa: PLC0415
    from tests.test_triage import hit  # noqa: PLC0415

    policy = Policy(reject_at=0.97, premoderation="all")
    allow = Evaluation([hit("allow", action="approve", priority=99)])
    banned = decide(allow, policy, author_state="banned", scorer_errors=["scorer x failed"])
    assert banned.decision is Action.REJECT and banned.evidence["reason_code"] == "author-banned"
    assert decide(allow, policy, author_state="premoderated").decision is Action.HOLD
    severe = Evaluation([hit("severe", action="reject", confidence=0.99)])
    assert decide(severe, policy, author_state="premoderated").decision is Action.REJECT
    trusted_clean = decide(Evaluation(), policy, author_state="trusted")
    assert trusted_clean.decision is Action.APPROVE and decide(Evaluation(), policy).decision is Action.HOLD
    assert decide(Evaluation(), policy, author_state="trusted", scorer_errors=["x"]).decision is Action.HOLD
