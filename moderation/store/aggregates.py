"""Precomputed aggregates: what the research and model pages show, computed by the workers, read per request."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, String, func, select
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
