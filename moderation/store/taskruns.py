"""Background tasks that have written their results: a task's key is inserted in the transaction that writes
them, so a task delivered twice (broker redelivery, a retry after a lost acknowledgement) writes once."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, Session, mapped_column

from moderation.store.models import Base, Json, UTCDateTime, utcnow


class TaskRun(Base):
    __tablename__ = "task_runs"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    result: Mapped[dict] = mapped_column(Json, default=dict)


def done(session: Session, key: str) -> dict | None:
    """The stored result of a finished task, or None."""
    run = session.get(TaskRun, key)
    return None if run is None else run.result


def mark(session: Session, key: str, result: dict) -> None:
    """Record the task as finished; a second run of the same key fails here with IntegrityError."""
    session.add(TaskRun(key=key, result=result))
    session.flush()
