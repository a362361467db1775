"""The decision log: moderators' approve/reject/hold, append-only; undo is a decision of its own."""
from __future__ import annotations

from typing import Callable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from moderation.domain.comments import REASON_CODES, Action
from moderation.store.database import lock_for_write
from moderation.store.models import Comment, Decision

ORIGINS = ("moderator", "import", "api", "feedback")
PAST = {"approve": "approved", "reject": "rejected", "hold": "held", "undo": "undid a decision on"}

# Called in the deciding transaction after each decision or undo (the change feed and webhook outbox
# register here), so whatever they write commits or rolls back with the decision itself.
DECISION_HOOKS: list[Callable[[Session, Comment, Decision], None]] = []


class DecisionError(ValueError):
    """A decision that cannot be recorded as asked (unknown comment, reason, or an undo of an undo)."""


class AlreadyDecided(DecisionError):
    """Someone else decided this comment first; the message says who and what."""


def _refusal(session: Session, comment_id: int) -> DecisionError:
    """Why a conditional write matched no row: no such comment, or someone moved it on first."""
    status = session.scalar(select(Comment.status).where(Comment.id == comment_id))
    if status is None:
        return DecisionError(f"no comment with id {comment_id}")
    last = latest(session, comment_id)
    if last is None:
        return AlreadyDecided(f"this comment changed since you saw it; it is now {status}")
    return AlreadyDecided(f"{last.actor} {PAST[last.action]} this comment first; it is now {status}")


def _advance(session: Session, comment_id: int, *, version: int | None, status: str | None) -> str:
    """Move the comment's version on by one if it is still the version (and status) the caller based its
    decision on; returns the status before. One conditional UPDATE: however many processes race, the database
    lets exactly one through per version (PostgreSQL re-checks the WHERE after the row lock is granted)."""
    lock_for_write(session)
    stmt = update(Comment).where(Comment.id == comment_id)
    if version is not None:
        stmt = stmt.where(Comment.version == version)
    if status is not None:
        stmt = stmt.where(Comment.status == status)
    before = session.execute(stmt.values(version=Comment.version + 1).returning(Comment.status)
                             .execution_options(synchronize_session=False)).scalar()
    if before is None:
        raise _refusal(session, comment_id)
    return before


def _apply(session: Session, entry: Decision, status: str, decided_by_human: bool) -> Decision:
    session.add(entry)
    session.execute(update(Comment).where(Comment.id == entry.comment_id)
                    .values(status=status, decided_by_human=decided_by_human)
                    .execution_options(synchronize_session=False))
    session.flush()
    comment = session.get(Comment, entry.comment_id, populate_existing=True)
    for hook in DECISION_HOOKS:
        hook(session, comment, entry)
    return entry


def decide(session: Session, comment_id: int, action: Action | str, actor: str, *, reason_code: str | None = None,
           note: str | None = None, origin: str = "moderator", expected_version: int | None = None,
           expected_status: str | None = None) -> Decision:
    """Record a decision and apply it; with expected_version (what the moderator saw) or expected_status,
    refuse with AlreadyDecided if the comment changed meanwhile, writing nothing."""
    action = Action(action)
    if reason_code is not None and reason_code not in REASON_CODES:
        raise DecisionError(f"unknown reason code {reason_code!r} (known: {', '.join(REASON_CODES)})")
    if origin not in ORIGINS:
        raise DecisionError(f"unknown origin {origin!r}")
    before = _advance(session, comment_id, version=expected_version, status=expected_status)
    entry = Decision(comment_id=comment_id, action=action.value, reason_code=reason_code, note=note, actor=actor,
                     origin=origin, previous_status=before)
    return _apply(session, entry, action.status.value, True)


def undo(session: Session, decision_id: int, actor: str) -> Decision:
    """Restore the state before a decision, as a new log entry pointing at it; only while nothing came after."""
    original = session.get(Decision, decision_id)
    if original is None:
        raise DecisionError(f"no decision with id {decision_id}")
    if original.action == "undo":
        raise DecisionError("an undo cannot be undone; decide again instead")
    # The version right after the original decision: the comment's version counts its decisions.
    after = session.scalar(select(func.count()).select_from(Decision).where(
        Decision.comment_id == original.comment_id, Decision.id <= original.id))
    try:
        before = _advance(session, original.comment_id, version=after, status=None)
    except AlreadyDecided:
        if session.scalar(select(Decision.id).where(Decision.undoes_id == decision_id)) is not None:
            raise DecisionError(f"decision {decision_id} is already undone") from None
        newer = latest(session, original.comment_id)
        raise AlreadyDecided(f"comment {original.comment_id} was decided again since (by {newer.actor}); "
                             "undo that instead") from None
    entry = Decision(comment_id=original.comment_id, action="undo", actor=actor, origin=original.origin,
                     undoes_id=original.id, previous_status=before)
    human_before = session.scalar(select(Decision.id).where(
        Decision.comment_id == original.comment_id, Decision.id < original.id, Decision.action != "undo")) is not None
    return _apply(session, entry, original.previous_status or "held", human_before)


def latest(session: Session, comment_id: int) -> Decision | None:
    return session.scalars(select(Decision).where(Decision.comment_id == comment_id)
                           .order_by(Decision.id.desc()).limit(1)).first()


def history(session: Session, comment_id: int) -> list[Decision]:
    return list(session.scalars(select(Decision).where(Decision.comment_id == comment_id).order_by(Decision.id)))

