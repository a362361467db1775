"""The store on SQLite and PostgreSQL: threads, idempotent loads, orphans, the append-only decision log."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError

from moderation.domain.comments import ArticleRecord, CommentRecord, ImportBatch
from moderation.assess.pipeline import Pipeline
from moderation.services.jobs import triage_stored
from moderation.scoring.lexicon import LexiconScorer
from moderation.store import Article, Comment, Decision, RuleSetVersion, TriageResult
from moderation.store.decisions import AlreadyDecided, DecisionError, decide, history, undo
from moderation.store.loading import ImportConflict, load_batch

T0 = datetime(2026, 10, 28, 12, 0, tzinfo=timezone.utc)


def batch(rows: list[tuple], source: str = "test", article: str = "a1") -> ImportBatch:
    """rows: (id, parent id, text[, decision])."""
    b = ImportBatch(source, "test.jsonl")
    for i, row in enumerate(rows):
        ext, parent, body, *decision = row
        b.comments.append(CommentRecord(ext, article, body, parent_id=parent, author=f"user{ext}",
                                        created_at=T0 + timedelta(minutes=i), article_title="Titel",
                                        decision=decision[0] if decision else None, location=f"test.jsonl:{i + 1}"))
    return b


def load(db, b: ImportBatch):
    with db.session() as s:
        return load_batch(s, b)


def comments(db) -> dict[str, Comment]:
    with db.session() as s:
        return {c.external_id: c for c in s.scalars(select(Comment))}


def test_threads_rebuilt_whatever_the_order(db):
    # Children before parents, several levels deep.
    report = load(db, batch([("c4", "c3", "d"), ("c3", "c2", "c"), ("c1", None, "a"), ("c2", "c1", "b"),
                             ("c5", "c1", "e")]))
    assert report.to_dict() == {"articles": 1, "comments": 5, "replies": 4, "orphans": 0, "skipped": 0}
    c = comments(db)
    assert {k: v.depth for k, v in c.items()} == {"c1": 0, "c2": 1, "c3": 2, "c4": 3, "c5": 1}
    assert c["c4"].parent_id == c["c3"].id and c["c1"].parent_id is None
    assert c["c1"].created_at == T0 + timedelta(minutes=2) and c["c1"].created_at.tzinfo is timezone.utc


def test_reimport_changes_nothing(db):
    b = batch([("c1", None, "a"), ("c2", "c1", "b", "rejected")])
    load(db, b)
    before = {k: (v.id, v.depth, v.status) for k, v in comments(db).items()}
    report = load(db, batch([("c1", None, "a"), ("c2", "c1", "b", "rejected")]))
    assert report.to_dict() == {"articles": 0, "comments": 0, "replies": 0, "orphans": 0, "skipped": 2}
    assert {k: (v.id, v.depth, v.status) for k, v in comments(db).items()} == before
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Decision)) == 1


def test_orphans_are_kept_and_adopted_when_the_parent_arrives(db):
    report = load(db, batch([("r1", "missing", "reply"), ("r2", "r1", "reply to reply")]))
    assert report.orphans == 1 and report.comments == 2
    c = comments(db)
    assert c["r1"].orphan and c["r1"].parent_id is None and c["r2"].depth == 1
    load(db, batch([("missing", "root", "the parent"), ("root", None, "root")]))
    c = comments(db)
    assert not c["r1"].orphan and c["r1"].parent_id == c["missing"].id
    assert (c["root"].depth, c["missing"].depth, c["r1"].depth, c["r2"].depth) == (0, 1, 2, 3)


def test_missing_article_is_a_placeholder_until_it_arrives(db):
    b = ImportBatch("disqus:x", "x.xml")
    b.comments.append(CommentRecord("p1", "thread-9", "Post", location="x.xml:3"))
    assert load(db, b).orphans == 1
    with db.session() as s:
        art = s.scalars(select(Article)).one()
        assert art.placeholder
    b2 = ImportBatch("disqus:x", "x.xml")
    b2.articles["thread-9"] = ArticleRecord("thread-9", "Der Artikel", "https://example.org/a")
    load(db, b2)
    with db.session() as s:
        art = s.scalars(select(Article)).one()
        assert not art.placeholder and art.title == "Der Artikel"
        assert not s.scalars(select(Comment)).one().orphan


def test_reply_cycle_is_refused_and_nothing_written(db):
    with pytest.raises(ImportConflict, match="loops back"):
        load(db, batch([("ok", None, "fine"), ("x", "y", "a"), ("y", "x", "b")]))
    assert comments(db) == {}
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Article)) == 0


def test_historic_decisions_become_log_entries(db):
    load(db, batch([("c1", None, "a", "approved"), ("c2", None, "b", "rejected"), ("c3", None, "c")]))
    c = comments(db)
    assert (c["c1"].status, c["c2"].status, c["c3"].status) == ("approved", "rejected", "new")
    with db.session() as s:
        entries = s.scalars(select(Decision).order_by(Decision.id)).all()
    assert [(e.action, e.origin) for e in entries] == [("approve", "import"), ("reject", "import")]


def test_decision_log_is_append_only_in_the_database(db):
    load(db, batch([("c1", None, "a")]))
    with db.session() as s:
        decide(s, comments(db)["c1"].id, "reject", "mod1", reason_code="personal-attack")
    for statement in (update(Decision).values(actor="someone else"), text("DELETE FROM decisions")):
        with pytest.raises(DBAPIError, match="append-only"):
            with db.session() as s:
                s.execute(statement)
    with db.session() as s:
        assert s.scalar(select(Decision.actor)) == "mod1"


def test_decide_undo_and_conflicts(db):
    load(db, batch([("c1", None, "a")]))
    cid = comments(db)["c1"].id
    with db.session() as s:
        first = decide(s, cid, "reject", "mod1", reason_code="spam", expected_status="new")
    with pytest.raises(AlreadyDecided, match="mod1 rejected this comment first; it is now rejected"):
        with db.session() as s:
            decide(s, cid, "approve", "mod2", expected_status="new")
    with pytest.raises(DecisionError, match="unknown reason"):
        with db.session() as s:
            decide(s, cid, "reject", "mod1", reason_code="because")
    with db.session() as s:
        undo(s, first.id, "mod1")
    assert comments(db)["c1"].status == "new" and not comments(db)["c1"].decided_by_human
    with pytest.raises(DecisionError, match="already undone"):
        with db.session() as s:
            undo(s, first.id, "mod1")
    with db.session() as s:
        assert [d.action for d in history(s, cid)] == ["reject", "undo"]


def test_triage_stores_evidence_and_never_overrides_humans(db, ruleset):
    load(db, batch([("c1", None, "Sehr guter Artikel, danke für die Recherche."),
                    ("c2", "c1", "Du bist ein Idiot."),
                    ("c3", None, "Du bist ein Idiot.", "approved"),
                    ("c4", None, "schaut mal https://youtu.be/abc")]))
    summary = triage_stored(db, Pipeline(ruleset, [LexiconScorer(ruleset)]), batch_size=2)
    assert summary["triaged"] == 4 and summary["kept_human_decision"] == 1
    c = comments(db)
    assert (c["c1"].status, c["c2"].status, c["c3"].status, c["c4"].status) == \
           ("approved", "held", "approved", "held")
    assert c["c2"].priority == 80 and c["c4"].priority == 60
    with db.session() as s:
        result = s.get(TriageResult, c["c2"].triage_id)
        assert result.ruleset_version == ruleset.version and result.applied
        assert result.hits[0]["rule"] == "personal-attack" and result.hits[0]["spans"]
        assert s.get(TriageResult, c["c3"].triage_id).applied is False
        assert s.get(RuleSetVersion, ruleset.version).files["site.yaml"]
    assert triage_stored(db, Pipeline(ruleset))["triaged"] == 0  # nothing new
    assert triage_stored(db, Pipeline(ruleset), rescore=True)["triaged"] == 4


def test_nul_characters_are_refused_on_every_backend(db):
    with pytest.raises(ImportConflict, match="test.jsonl:2: .*NUL"):
        load(db, batch([("c1", None, "fine"), ("c2", None, "bad\x00text")]))
    assert comments(db) == {}
