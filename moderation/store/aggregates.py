"""Precomputed aggregates: what the research and model pages show, computed by the workers, read per request."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, String, func, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from moderation.store.models import Base, Comment, Decision, Json, TriageResult, UTCDateTime, utcnow
from moderation.store.models_registry import ModelVersion


class Aggregate(Base):
    """One named aggregate (e.g. "research:all", "research:lang:de", "desk:risk-order") as JSON."""

    __tablename__ = "aggregates"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # What the data looked like when computed: newest comment, decision and triage ids, and the count.
    fingerprint: Mapped[dict] = mapped_column(Json, default=dict)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    data: Mapped[dict] = mapped_column(Json, default=dict)


class CommentSentiment(Base):
    """A comment's sentiment, scored once by the refresh (the slowest per-comment measure) and reused after."""

    __tablename__ = "comment_sentiments"

    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id"), primary_key=True)
    value: Mapped[float | None] = mapped_column(Float)
    model: Mapped[str] = mapped_column(String(200))


def unscored(session: Session, after: int, limit: int) -> list[tuple[int, str, str | None]]:
    """(id, text, language) of comments without a stored sentiment, in id order after `after`."""
    query = (select(Comment.id, Comment.text, Comment.language)
             .outerjoin(CommentSentiment, CommentSentiment.comment_id == Comment.id)
             .where(CommentSentiment.comment_id.is_(None), Comment.id > after).order_by(Comment.id).limit(limit))
    return [tuple(r) for r in session.execute(query)]


def store_sentiments(session: Session, rows: list[dict]) -> None:
    if rows:
        session.execute(insert(CommentSentiment), rows)


def fingerprint(session: Session) -> dict:
    """The newest ids of comments, decisions, triage results and models: one statement of index lookups."""
    newest = [select(func.max(table.id)).scalar_subquery() for table in (Comment, Decision, TriageResult, ModelVersion)]
    row = session.execute(select(*newest)).one()
    return dict(zip(("comment", "decision", "triage", "model"), (v or 0 for v in row)))


def get(session: Session, key: str) -> Aggregate | None:
    return session.get(Aggregate, key)


def put(session: Session, key: str, data: dict, stamp: dict, seconds: float) -> None:
    """Store (or replace) one aggregate with the fingerprint of the data it was computed from."""
    row = session.get(Aggregate, key) or Aggregate(key=key)
    row.data, row.fingerprint, row.seconds, row.computed_at = data, stamp, seconds, utcnow()
    session.add(row)


def stale(session: Session, key: str, stamp: dict | None = None) -> bool:
    """True when the aggregate is missing or the data changed since it was computed."""
    row = session.get(Aggregate, key)
    return row is None or row.fingerprint != (stamp if stamp is not None else fingerprint(session))


def drop_other(session: Session, prefix: str, keep: set[str]) -> None:
    """Remove aggregates under `prefix` that a refresh no longer produces (a language that disappeared)."""
    for row in session.scalars(select(Aggregate).where(Aggregate.key.startswith(prefix))):
        if row.key not in keep:
            session.delete(row)
