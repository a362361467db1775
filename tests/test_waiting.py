"""Waiting time on SQLite and PostgreSQL: the oldest waiting comment, the median time to decision per window
(against the median taken by hand from the times written), the "risk, nothing older than N hours" order, and what
the public thread and the API tell readers and the CMS about a held comment."""
from __future__ import annotations

import statistics
from datetime import timedelta

from sqlalchemy import select, update

from moderation.store.decisions import decide
from moderation.store.models import Comment, Decision, utcnow
from moderation.store.queue import Filters, listing
from moderation.store.waiting import waiting
from tests.live import api_key, bearer, make_app
from tests.test_api import CLEAN, INSULT
from tests.test_store import batch, load


def held_comments(db, n: int) -> list[int]:
    load(db, batch([(f"w{k}", None, f"Kommentar {k}") for k in range(n)], article="wait"))
    with db.session() as s:
        s.execute(update(Comment).values(status="held"))
        return list(s.scalars(select(Comment.id).order_by(Comment.id)))


def test_oldest_and_medians_per_window_match_the_times_written(db):
    ids = held_comments(db, 9)
    now = utcnow()
    # Arrived k hours ago; the first six decided: three within the last day, three two to five days ago.
    waits = {}
    with db.session() as s:
        for k, cid in enumerate(ids):
            s.execute(update(Comment).where(Comment.id == cid).values(imported_at=now - timedelta(days=k % 6, hours=k + 1)))
        for k, cid in enumerate(ids[:6]):  # the log is append-only: written with its times, as replayed
            arrived = now - timedelta(days=k % 6, hours=k + 1)
            at = arrived + timedelta(minutes=10 * (k + 1))
            s.add(Decision(comment_id=cid, action="approve" if k % 2 else "reject", actor="mo", origin="moderator",
                           created_at=at, previous_status="held", reason_code=None if k % 2 else "spam"))
            s.execute(update(Comment).where(Comment.id == cid).values(status="approved" if k % 2 else "rejected"))
            waits[cid] = (at, timedelta(minutes=10 * (k + 1)))
        s.flush()
        # Neither an import's decision nor a second decision on a decided comment is a wait.
        decide(s, ids[0], "approve", "importer", origin="import")
    with db.session() as s:
        got = waiting(s, "pending", now=now)
    day = [w for at, w in waits.values() if at >= now - timedelta(days=1)]
    week = [w for at, w in waits.values()]
    assert got.median["day"] == timedelta(seconds=statistics.median(w.total_seconds() for w in day))
    assert got.median["week"] == timedelta(seconds=statistics.median(w.total_seconds() for w in week))
    assert got.decided == {"day": len(day), "week": len(week)}
    # The oldest still held: ids[6..8] arrived 0, 1, 2 days and 7, 8, 9 hours ago.
    assert got.oldest.comment_id == ids[8] and got.oldest.waited == timedelta(days=2, hours=9)
    with db.session() as s:
        assert waiting(s, "reported", now=now).oldest is None


def test_risk_order_puts_what_waited_too_long_first(db):
    ids = held_comments(db, 4)
    now = utcnow()
    with db.session() as s:
        for k, cid in enumerate(ids):  # risk rises with k; ids[0] and ids[1] waited 6 and 5 hours
            s.execute(update(Comment).where(Comment.id == cid).values(
                risk=k / 10, priority=0, imported_at=now - timedelta(hours=6 - k)))
    with db.session() as s:
        risk = [r.id for r in listing(s, Filters(queue="pending", order="risk"), now=now)]
        aged = [r.id for r in listing(s, Filters(queue="pending", order="risk-aged"), now=now,
                                      max_wait=timedelta(hours=4, minutes=30))]
    assert risk == ids[::-1]
    assert aged == [ids[0], ids[1], ids[3], ids[2]]  # overdue oldest first, then by risk


def test_the_public_thread_and_the_api_say_a_comment_awaits_review(db, tmp_path):
    key = api_key(db)
    app = make_app(db, tmp_path, babel_default_locale="en")
    client = app.test_client()
    answer = client.post("/api/v1/comments", json={"id": "h1", "article_id": "a1", "text": INSULT, "author": "x"},
                         headers=bearer(key)).get_json()
    assert answer["status"] == "held" and answer["awaiting_review"] is True
    assert set(answer["median_wait_seconds"]) == {"day", "week"}
    clean = client.post("/api/v1/comments", json={"id": "h2", "article_id": "a1", "text": CLEAN, "author": "y"}, headers=bearer(key)).get_json()
    assert clean["awaiting_review"] is False and "median_wait_seconds" not in clean
    read = client.get("/api/v1/comments/h1", headers=bearer(key)).get_json()
    assert read["awaiting_review"] is True
    with db.session() as s:
        article = s.scalars(select(Comment.article_id).where(Comment.external_id == "h1")).one()
    page = client.get(f"/threads/{article}").get_data(as_text=True)
    assert INSULT not in page  # a held comment is shown to nobody
    assert "1 Kommentar wartet auf Prüfung." in page or "1 comment awaits review." in page
