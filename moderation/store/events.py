"""The change feed: what happened to a site's comments after their verdict, numbered per site for CMS sync.

Events are written in the transaction that made the change (a decision, a deep score, a re-triage); webhook
deliveries hang off them (store/webhooks.py), so the feed and the webhooks never disagree.
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from moderation.domain.comments import AUTHOR_REASONS
from moderation.domain.vocabulary import EVENT_TYPES
from moderation.store import decisions
from moderation.store.database import upsert
from moderation.store.models import Base, Comment, Decision, Json, UTCDateTime, utcnow

TYPES = EVENT_TYPES
_DECISION_OF = {"approved": "approve", "held": "hold", "rejected": "reject", "new": "hold"}


class EventSequence(Base):
    """The last cursor handed out per site; its row lock orders a site's events by commit."""

    __tablename__ = "event_sequences"

    site: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)


class Event(Base):
    """One change to one comment, as the CMS sees it (the payload is what webhooks deliver)."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("site", "seq", name="uq_events_site_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site: Mapped[str] = mapped_column(String(200))
    seq: Mapped[int] = mapped_column(Integer)  # the cursor: increasing per site in commit order
    type: Mapped[str] = mapped_column(String(40))
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id"), index=True)
    payload: Mapped[dict] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# Called in the recording transaction with each new event (webhooks add their deliveries here).
ON_EVENT: list[Callable[[Session, Event], None]] = []


def decision_of(status: str) -> str:
    """What a CMS should do with a comment in this state: approve (publish), hold, or reject."""
    return _DECISION_OF.get(status, "hold")


def reasons(hits: list[dict], failures: list[str], evidence: dict | None = None) -> list[dict]:
    """Why a comment got its verdict, for a CMS: the author's state when it decided, each rule hit with its
    stated rule, and missing evidence."""
    code = (evidence or {}).get("reason_code")
    first = [{"code": code, "detail": AUTHOR_REASONS.get(code, code)}] if code else []
    out = [{"code": h.get("reason") or h["rule"], "rule": h["rule"], "action": h["action"],
            "stated_rule": h["stated_rule"], "score": h["score"], "threshold": h["threshold"],
            "spans": [{"start": sp["start"], "end": sp["end"], "text": sp["text"]} for sp in h["spans"]]}
           for h in hits]
    return first + out + [{"code": "incomplete-evidence", "detail": failure} for failure in failures]


def _next_seq(session: Session, site: str) -> int:
    # An upsert that returns the new value; it locks the site's row until commit, so a reader never sees
    # cursor n+1 committed while n is still in flight (sequences and ids would allow exactly that).
    stmt = upsert(session, EventSequence).values(site=site, last_seq=1).on_conflict_do_update(
        index_elements=["site"], set_={"last_seq": EventSequence.last_seq + 1}).returning(EventSequence.last_seq)
    return session.execute(stmt).scalar_one()


def record(session: Session, comment: Comment, type: str, **details: object) -> Event:
    """Append an event for the comment's current state; details (origin, reasons, ...) join the payload."""
    if type not in TYPES:
        raise ValueError(f"unknown event type {type!r}")
    seq = _next_seq(session, comment.source)
    now = utcnow()
    payload = {"event": type, "cursor": seq, "site": comment.source, "id": comment.external_id,
               "decision": decision_of(comment.status), "status": comment.status, "flagged": bool(comment.flagged),
               "at": now.isoformat(), **details}
    event = Event(site=comment.source, seq=seq, type=type, comment_id=comment.id, payload=payload, created_at=now)
    session.add(event)
    session.flush()
    for hook in ON_EVENT:
        hook(session, event)
    return event


def since(session: Session, site: str, cursor: int = 0, limit: int = 100) -> list[dict]:
    """The site's events after a cursor, oldest first."""
    return list(session.scalars(select(Event.payload).where(Event.site == site, Event.seq > cursor)
                                .order_by(Event.seq).limit(limit)))


def _on_decision(session: Session, comment: Comment, decision: Decision) -> None:
    record(session, comment, "comment.decided", action=decision.action, origin=decision.origin,
           reason_code=decision.reason_code, decision_id=decision.id, undoes=decision.undoes_id)


decisions.DECISION_HOOKS.append(_on_decision)
