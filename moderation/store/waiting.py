"""Waiting time: the oldest comment waiting in a queue and the median time from arrival to a moderator's decision.

A comment waits from the moment it reached the desk (`imported_at`: the API call or the import), not from when
its author wrote it (an imported archive would otherwise have waited for years). A decision counts towards a
queue's median when a moderator (on the desk or over the API, not an import or site feedback) decided a comment
that was in that state: held for Pending, published for Reported, rejected by the rules for Auto-rejected. Undos
are not decisions here. Durations are taken in Python from the stored times, the same on SQLite and PostgreSQL.
"""
from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from moderation.store.models import Comment, Decision, utcnow
from moderation.store.queue import queue_condition

# The state a comment was in when a moderator decided it, per queue where comments wait for one.
WAITING_QUEUES = {"pending": "held", "reported": "approved", "auto-rejected": "rejected"}
HUMAN_ORIGINS = ("moderator", "api")
WINDOWS = {"day": timedelta(days=1), "week": timedelta(days=7)}


@dataclass(frozen=True)
class Oldest:
    """The comment that has waited longest in a queue."""

    comment_id: int
    since: datetime
    waited: timedelta


@dataclass(frozen=True)
class Waiting:
    """A queue's waiting figures; a median is None when no moderator decided anything in that window."""

    queue: str
    oldest: Oldest | None
    median: dict[str, timedelta | None] = field(default_factory=dict)  # "day" / "week"
    decided: dict[str, int] = field(default_factory=dict)  # decisions behind each median

    def to_dict(self) -> dict:
        secs = (lambda d: None if d is None else round(d.total_seconds()))
        return {"queue": self.queue,
                "oldest": None if self.oldest is None else {
                    "comment_id": self.oldest.comment_id, "since": self.oldest.since.isoformat(),
                    "waited_seconds": secs(self.oldest.waited)},
                "median_seconds": {k: secs(v) for k, v in self.median.items()}, "decided": dict(self.decided)}


def oldest(session: Session, queue: str, article: int | None = None, *, now: datetime | None = None) -> Oldest | None:
    """The comment in the queue that reached the desk first (ties: written first, then by id)."""
    query = select(Comment.id, Comment.imported_at).where(queue_condition(queue))
    if article is not None:
        query = query.where(Comment.article_id == article)
    row = session.execute(query.order_by(Comment.imported_at.asc(), Comment.created_at.asc(), Comment.id.asc())
                          .limit(1)).first()
    if row is None:
        return None
    return Oldest(row.id, row.imported_at, max((now or utcnow()) - row.imported_at, timedelta(0)))


def decision_times(session: Session, queue: str, start: datetime,
                   article: int | None = None) -> list[tuple[datetime, timedelta]]:
    """When each comment decided since `start` was decided and how long it had waited, for the queue it was
    decided from."""
    query = (select(Decision.created_at, Comment.imported_at).join(Comment, Comment.id == Decision.comment_id)
             .where(Decision.created_at >= start, Decision.action.in_(("approve", "reject", "hold")),
                    Decision.origin.in_(HUMAN_ORIGINS), Decision.previous_status == WAITING_QUEUES[queue]))
    if article is not None:
        query = query.where(Comment.article_id == article)
    return [(decided, max(decided - arrived, timedelta(0))) for decided, arrived in session.execute(query)
            if decided is not None and arrived is not None]


def waiting(session: Session, queue: str, article: int | None = None, *, now: datetime | None = None) -> Waiting:
    """The oldest waiting comment and the median wait over the last day and week."""
    now = now or utcnow()
    times = decision_times(session, queue, now - WINDOWS["week"], article)
    spans = {name: [w for at, w in times if at >= now - span] for name, span in WINDOWS.items()}
    return Waiting(queue, oldest(session, queue, article, now=now),
                   {k: (_median(v) if v else None) for k, v in spans.items()}, {k: len(v) for k, v in spans.items()})


def _median(values: list[timedelta]) -> timedelta:
    return timedelta(seconds=statistics.median(v.total_seconds() for v in values))


def held_in_article(session: Session, article: int) -> int:
    """How many of an article's comments await review (the public thread says so, and shows none of them)."""
    return session.scalar(select(func.count()).select_from(Comment).where(
        Comment.article_id == article, queue_condition("pending"))) or 0


class WaitCache:
    """Waiting figures per (database, queue, article), kept for `seconds`: the API answers every submission with
    the pending queue's median, which need not be recomputed for each."""

    def __init__(self, seconds: float = 30.0) -> None:
        self.seconds = seconds
        self.values: dict[tuple, tuple[float, Waiting]] = {}
        self.lock = threading.Lock()

    def get(self, sessions: Callable[[], object], url: str, queue: str, article: int | None = None) -> Waiting:
        key = (url, queue, article)
        kept = self.values.get(key)
        if kept is not None and time.monotonic() - kept[0] < self.seconds:
            return kept[1]
        with sessions() as session:
            value = waiting(session, queue, article)
        with self.lock:
            self.values[key] = (time.monotonic(), value)
        return value
