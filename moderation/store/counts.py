"""Queue counts that are exact right after every decision: a snapshot plus the decision log's changes since.

Counting the approved queue means counting most of the table (150 ms at 1M comments on PostgreSQL), so it is
counted in full only now and then, in the background. In between, its count is the snapshot's plus what the
decisions logged after the snapshot did (each decision records the status before it; an undo restores the status
its decision recorded) plus the approved comments that arrived after the snapshot. The other queues are small
and indexed; they are counted afresh whenever the decision log, the comments or the triage results moved on.
Everything a reading returns comes from one SQL statement, so one reading is one snapshot (PostgreSQL's READ
COMMITTED gives each statement its own): the counts of one reading always add up, however many moderators race.
Decisions are written under the write lock (store/database.lock_for_write), so the log's ids commit in order and
"the decisions after id D" is exactly what a snapshot at D has not seen yet.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, case, func, literal, select
from sqlalchemy.orm import Session, aliased

from moderation.store.models import Comment, Decision, TriageResult
from moderation.store.queue import QUEUES, queue_condition

SLOW = "approved"  # the queue counted in full only now and then
STATUS_AFTER = {"approve": "approved", "reject": "rejected", "hold": "held"}


@dataclass(frozen=True)
class Reading:
    """Counts per queue and where the database stood when they were read."""

    counts: dict[str, int]
    decision: int  # newest decision id seen
    comment: int  # newest comment id seen
    triage: int  # newest triage result id seen
    full_at: float  # monotonic time of the last full count of the slow queue

    @property
    def mark(self) -> tuple[int, int, int]:
        return self.decision, self.comment, self.triage


def _count(name: str, article: int | None, *extra: ColumnElement[bool]) -> ColumnElement[int]:
    query = select(func.count()).select_from(Comment).where(queue_condition(name), *extra)
    if article is not None:
        query = query.where(Comment.article_id == article)
    return query.scalar_subquery()


def _marks() -> list[ColumnElement[int]]:
    return [select(func.coalesce(func.max(m.id), 0)).scalar_subquery() for m in (Decision, Comment, TriageResult)]


def full(session: Session, article: int | None = None) -> Reading:
    """Every queue counted, with the marks, in one statement."""
    row = session.execute(select(*[_count(n, article) for n in QUEUES], *_marks())).one()
    counts = dict(zip(QUEUES, row[:len(QUEUES)]))
    return Reading(counts, *row[len(QUEUES):], full_at=time.monotonic())


def _slow_change(since: Reading, article: int | None) -> ColumnElement[int]:
    """How much the decisions after the snapshot moved the slow queue (only comments the snapshot counted)."""
    undone = aliased(Decision)
    after = case(*[(Decision.action == a, literal(s)) for a, s in STATUS_AFTER.items()],
                 else_=func.coalesce(undone.previous_status, "held"))
    delta = (case((after == SLOW, 1), else_=0)
             - case((func.coalesce(Decision.previous_status, "") == SLOW, 1), else_=0))
    query = (select(func.coalesce(func.sum(delta), 0)).select_from(Decision)
             .join(undone, undone.id == Decision.undoes_id, isouter=True)
             .where(Decision.id > since.decision, Decision.comment_id <= since.comment))
    if article is not None:
        query = query.join(Comment, Comment.id == Decision.comment_id).where(Comment.article_id == article)
    return query.scalar_subquery()


def since(session: Session, before: Reading, article: int | None = None) -> tuple[Reading, bool]:
    """The counts now, from a snapshot and the changes after it; True when a full count is due because comments
    the snapshot counted were re-judged (re-triage changes statuses without a decision)."""
    busy = [n for n in QUEUES if n != SLOW]
    rejudged = select(func.count()).select_from(TriageResult).where(
        TriageResult.id > before.triage, TriageResult.comment_id <= before.comment).scalar_subquery()
    row = session.execute(select(
        *[_count(n, article) for n in busy], _slow_change(before, article),
        _count(SLOW, article, Comment.id > before.comment), rejudged, *_marks())).one()
    counts = dict(zip(busy, row[:len(busy)]))
    counts[SLOW] = before.counts[SLOW] + row[len(busy)] + row[len(busy) + 1]
    counts = {n: counts[n] for n in QUEUES}
    marks = row[len(busy) + 3:]
    return Reading(counts, *marks, full_at=before.full_at), bool(row[len(busy) + 2])


class Counter:
    """Counts per (database, article). A reading is reused while the database has not moved on (and for at most
    `busy_seconds`, for changes no mark shows, such as reader flags); otherwise the small queues are counted
    afresh and the slow one derived. The slow queue is counted in full in the background every `full_seconds`
    (and when comments were re-judged); that only resets the base the changes are added to."""

    def __init__(self, busy_seconds: float = 3.0, full_seconds: float = 60.0) -> None:
        self.busy_seconds, self.full_seconds = busy_seconds, full_seconds
        self.readings: dict[tuple, tuple[float, Reading]] = {}
        self.refreshing: set[tuple] = set()
        self.lock = threading.Lock()

    def get(self, sessions: Callable[[], object], url: str, article: int | None = None) -> dict[str, int]:
        """The counts now; `sessions()` opens a session (a context manager) on the database at `url`."""
        key = (url, article)
        kept = self.readings.get(key)
        with sessions() as session:
            if kept is None:
                reading, due = full(session, article), False
            else:
                marks = tuple(session.execute(select(*_marks())).one())
                if any(now < then for now, then in zip(marks, kept[1].mark)):  # rows gone: count from scratch
                    reading, due = full(session, article), False
                    self.forget()
                elif time.monotonic() - kept[0] < self.busy_seconds and marks == kept[1].mark:
                    reading, due = kept[1], False
                else:
                    reading, due = since(session, kept[1], article)
        self._keep(key, reading)
        if due or time.monotonic() - reading.full_at > self.full_seconds:
            self._refresh_later(sessions, key)
        return dict(reading.counts)

    def forget(self) -> None:
        """Drop every reading (tests, or after the database was replaced)."""
        with self.lock:
            self.readings.clear()

    def _keep(self, key: tuple, reading: Reading) -> bool:
        # A slower reader must not put back an older reading over a newer one.
        with self.lock:
            kept = self.readings.get(key)
            if kept is not None and reading.mark < kept[1].mark:
                return False
            self.readings[key] = (time.monotonic(), reading)
            return True

    def _refresh_later(self, sessions: Callable[[], object], key: tuple) -> None:
        with self.lock:
            if key in self.refreshing:
                return
            self.refreshing.add(key)

        def work() -> None:
            try:
                with sessions() as session:
                    reading = full(session, key[1])
                    # Brought up to now, or a reading taken meanwhile would keep the old base.
                    for _ in range(3):
                        reading, _due = since(session, reading, key[1])
                        if self._keep(key, reading):
                            break
            finally:
                with self.lock:
                    self.refreshing.discard(key)

        threading.Thread(target=work, daemon=True).start()
