"""Batch decisions: their log (who, what, which decisions, what was skipped, the undo) and the measure values read."""
from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, Float, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from moderation.store import queue as q
from moderation.store.decisions import DecisionError
from moderation.store.models import Base, Comment, Json, TriageResult, UTCDateTime, utcnow

RISK = "risk"


class Batch(Base):
    """One batch decision over a range of a histogram; the decisions it made are in the decision log."""

    __tablename__ = "batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(10))  # approve | reject | hold
    reason_code: Mapped[str | None] = mapped_column(String(40))
    measure: Mapped[str] = mapped_column(String(200))  # "risk" or "scorer:label"
    low: Mapped[float] = mapped_column(Float)  # the range's edges as applied
    high: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    decision_ids: Mapped[list] = mapped_column(Json, default=list)
    skipped: Mapped[list] = mapped_column(Json, default=list)  # [comment id, why] not decided
    undone_by: Mapped[str | None] = mapped_column(String(200))
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    undo_skipped: Mapped[list] = mapped_column(Json, default=list)  # [comment id, why] left as they were


class BatchUndone(DecisionError):
    """The batch was undone already (by this or a racing request)."""


class Value(NamedTuple):  # a tuple: the whole queue is read into these
    """A comment in the population, with its version (what a decision is based on) and its measure."""

    id: int
    version: int
    value: float | None  # None: the triage stored no such score


def measure_column(measure: str) -> ColumnElement:
    """The SQL expression of a measure: the comment's risk, or a label's score from its newest triage."""
    if measure == RISK:
        return Comment.risk
    scorer, sep, label = measure.partition(":")
    if not sep or not scorer or not label:
        raise ValueError(f"measure: expected risk or scorer:label, got {measure!r}")
    return TriageResult.scores[(scorer, label)].as_float()


def values(session: Session, filters: q.Filters, measure: str) -> list[Value]:
    """Every comment of the slice (as of its snapshot) with its version and measure, read in one statement."""
    column = measure_column(measure)
    query = select(Comment.id, Comment.version, column).where(*q.conditions(filters))
    if measure != RISK:
        query = query.outerjoin(TriageResult, TriageResult.id == Comment.triage_id)
    if filters.as_of is not None:
        query = query.where(Comment.id <= filters.as_of)
    return [Value(i, v, None if x is None else float(x)) for i, v, x in session.execute(query.order_by(Comment.id))]


def record(session: Session, *, actor: str, action: str, reason_code: str | None, measure: str, low: float,
           high: float) -> Batch:
    """A new batch row (flushed, so its id can label the decisions it makes)."""
    batch = Batch(actor=actor, action=action, reason_code=reason_code, measure=measure, low=low, high=high,
                  decision_ids=[], skipped=[], undo_skipped=[])
    session.add(batch)
    session.flush()
    return batch


def finish(session: Session, batch: Batch, decision_ids: list[int], skipped: list[tuple[int, str]]) -> None:
    batch.decision_ids = list(decision_ids)
    batch.skipped = [[c, why] for c, why in skipped]
    session.flush()


def claim_undo(session: Session, batch_id: int, actor: str) -> None:
    """Mark the batch undone; a conditional UPDATE, so of two racing undos exactly one goes on."""
    done = session.execute(update(Batch).where(Batch.id == batch_id, Batch.undone_at.is_(None))
                           .values(undone_by=actor, undone_at=utcnow()).returning(Batch.id)
                           .execution_options(synchronize_session=False)).scalar()
    if done is None:
        raise BatchUndone(f"batch {batch_id} is already undone")


def note_undo(session: Session, batch_id: int, skipped: list[tuple[int, str]]) -> None:
    session.execute(update(Batch).where(Batch.id == batch_id).values(undo_skipped=[[c, w] for c, w in skipped])
                    .execution_options(synchronize_session=False))


def get(session: Session, batch_id: int) -> Batch | None:
    return session.get(Batch, batch_id, populate_existing=True)


