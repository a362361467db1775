"""Exactly one decision wins per comment version: threads with their own sessions race on one comment behind a
barrier, on SQLite and PostgreSQL (the HTTP race against real servers is tests/test_race_http.py)."""
from __future__ import annotations

import threading

from sqlalchemy import func, select

from moderation.services import review
from moderation.store.decisions import DecisionError
from moderation.store.models import Comment, Decision
from tests.test_store import batch, comments, load

RACERS = 8


def race(db, work) -> list[object]:  # noqa: ANN001
    """Run work(session, i) in RACERS threads released together; each result or exception, in order."""
    barrier = threading.Barrier(RACERS)
    out: list[object] = [None] * RACERS

    def run(i: int) -> None:
        barrier.wait()
        try:
            with db.session() as session:
                out[i] = work(session, i)
        except Exception as exc:  # noqa: BLE001 - the test counts them
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def replays(db) -> None:  # noqa: ANN001
    """The decision log replays to every comment's status, and each comment's version counts its decisions."""
    with db.session() as s:
        for c in s.scalars(select(Comment)):
            log = list(s.scalars(select(Decision).where(Decision.comment_id == c.id).order_by(Decision.id)))
            assert c.version == len(log)
            status, undone = None, {}
            for d in log:
                if status is not None:
                    assert d.previous_status == status, f"comment {c.id}: decision {d.id} was based on a stale view"
                undone[d.id] = d.previous_status
                status = undone[d.undoes_id] if d.action == "undo" else {"approve": "approved",
                                                                         "reject": "rejected"}[d.action]
            if log:
                assert c.status == status


def test_one_of_many_simultaneous_decisions_wins(db):
    load(db, batch([(f"c{i}", None, "Du Idiot") for i in range(5)]))
    ids = sorted(c.id for c in comments(db).values())
    for cid in ids:
        results = race(db, lambda s, i, cid=cid: review.decide_seen(
            s, cid, "approve" if i % 2 else "reject", f"mod{i % 2}", seen=0, reason_code="offensive").id)
        winners = [r for r in results if isinstance(r, int)]
        losers = [r for r in results if isinstance(r, DecisionError)]
        assert len(winners) == 1 and len(losers) == RACERS - 1, results
        assert all("first; it is now" in str(e) for e in losers)
    replays(db)


def test_undo_races_a_new_decision(db):
    load(db, batch([(f"c{i}", None, "text") for i in range(3)]))
    for cid in sorted(c.id for c in comments(db).values()):
        with db.session() as s:
            first = review.decide_seen(s, cid, "reject", "mod0", seen=0, reason_code="spam")
        # Half undo mod0's rejection, half approve on the view after it: only one of them may win.
        results = race(db, lambda s, i, cid=cid, d=first.id: (
            review.undo_recent(s, [d], "mod0")[0].id if i % 2 else
            review.decide_seen(s, cid, "approve", "mod1", seen=1).id))
        assert len([r for r in results if isinstance(r, int)]) == 1, results
    replays(db)


def test_bulk_and_single_decisions_race(db):
    load(db, batch([(f"c{i}", None, "text") for i in range(10)]))
    ids = sorted(c.id for c in comments(db).values())
    seen = dict.fromkeys(ids, 0)

    def work(s, i):  # noqa: ANN001, ANN202
        if i % 2:
            return review.bulk(s, ids, "reject", f"bulk{i}", seen=seen, reason_code="spam").decided
        return [review.decide_seen(s, cid, "approve", f"mod{i}", seen=0).comment_id for cid in ids[i::RACERS]]

    results = race(db, work)
    decided = [cid for r in results if isinstance(r, list) for cid in r]
    assert sorted(decided) == ids, results  # each comment decided exactly once, by someone
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Decision)) == len(ids)
    replays(db)


def test_a_thread_rejection_and_its_undo_race_without_deadlock(db):
    # Found by tests/test_race_http.py on PostgreSQL: the undo locks the replies first, the rejection the parent
    # first, and both the site's event sequence in between; one of them died of a deadlock (a 500).
    load(db, batch([(f"c{i}", None, "text") for i in range(3)] + [(f"r{i}", f"c{i}", "reply") for i in range(3)]
                   + [(f"rr{i}", f"r{i}", "reply") for i in range(3)]))
    for cid in sorted(c.id for c in comments(db).values() if c.parent_id is None):
        with db.session() as s:
            thread = [d.id for d in review.reject_with_replies(s, cid, "mod0", seen=0, reason_code="spam")]
        results = race(db, lambda s, i, cid=cid, ids=thread: (
            [d.id for d in review.undo_recent(s, ids, "mod0")] if i % 2 else
            [d.id for d in review.reject_with_replies(s, cid, "mod1", seen=1, reason_code="offensive")]))
        assert len([r for r in results if isinstance(r, list)]) == 1, results
        assert all(isinstance(r, (list, DecisionError)) for r in results), results
    replays(db)


def test_one_of_many_simultaneous_claims_holds(db):
    """Eight moderators open one comment at the same instant: one holds the claim, and all agree on who."""
    from moderation.store import claims  # noqa: PLC0415

    load(db, batch([(f"k{i}", None, "Du Idiot") for i in range(5)]))
    for cid in sorted(c.id for c in comments(db).values()):
        results = race(db, lambda s, i, cid=cid: claims.claim(s, cid, f"mod{i}"))
        assert not [r for r in results if isinstance(r, Exception)], results
        assert len(set(results)) == 1, results  # every racer was told the same holder
        with db.session() as s:
            assert claims.holders(s, [cid]) == {cid: results[0]}


def test_site_feedback_racing_a_moderator_is_logged_once_per_version(db):
    """Akismet-style feedback ("this is spam") decided in the same instant as moderators: the log still replays."""
    from moderation.store.database import lock_for_write  # noqa: PLC0415
    from moderation.store.decisions import decide, latest  # noqa: PLC0415

    load(db, batch([(f"f{i}", None, "Du Idiot") for i in range(3)]))
    for cid in sorted(c.id for c in comments(db).values()):
        def work(s, i, cid=cid):  # noqa: ANN001, ANN202
            if i % 2:
                return review.decide_seen(s, cid, "approve", f"mod{i}", seen=0).id
            lock_for_write(s)  # what web/akismet.py does before reading the latest decision
            s.get(Comment, cid, with_for_update=True)
            last = latest(s, cid)
            if last is None or last.action != "reject":
                return decide(s, cid, "reject", "akismet:site", reason_code="spam", origin="feedback").id
            return None
        results = race(db, work)
        assert not [r for r in results if isinstance(r, Exception) and not isinstance(r, DecisionError)], results
        with db.session() as s:
            log = list(s.scalars(select(Decision).where(Decision.comment_id == cid)))
        assert sum(d.action == "approve" for d in log) <= 1
        assert sum(d.origin == "feedback" for d in log) <= 1
    replays(db)
