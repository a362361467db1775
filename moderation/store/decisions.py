"""The decision log: moderators' approve/reject/hold, append-only; undo is a decision of its own."""
from __future__ import annotations

from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from moderation.comments import REASON_CODES, Action
from moderation.store.models import Comment, Decision

ORIGINS = ("moderator", "import", "api", "feedback")

# Called in the deciding transaction after each decision or undo (the change feed and webhook outbox
# register here), so whatever they write commits or rolls back with the decision itself.
DECISION_HOOKS: list[Callable[[Session, Comment, Decision], None]] = []


class DecisionError(ValueError):
    """A decision that cannot be recorded as asked (unknown comment, reason, or an undo of an undo)."""


class AlreadyDecided(DecisionError):
    """Someone else decided this comment first; the message says who and what."""


def _locked(session: Session, comment_id: int) -> Comment:
    # FOR UPDATE serialises two moderators on one comment in PostgreSQL; SQLite locks the whole database.
    comment = session.scalars(select(Comment).where(Comment.id == comment_id).with_for_update()).first()
    if comment is None:
        raise DecisionError(f"no comment with id {comment_id}")
    return comment


def decide(session: Session, comment_id: int, action: Action | str, actor: str, *, reason_code: str | None = None,
           note: str | None = None, origin: str = "moderator", expected_status: str | None = None) -> Decision:
    """Record a decision and apply it; with expected_status, refuse if the comment changed meanwhile."""
    action = Action(action)
    if reason_code is not None and reason_code not in REASON_CODES:
        raise DecisionError(f"unknown reason code {reason_code!r} (known: {', '.join(REASON_CODES)})")
    if origin not in ORIGINS:
        raise DecisionError(f"unknown origin {origin!r}")
    comment = _locked(session, comment_id)
    if expected_status is not None and comment.status != expected_status:
        last = latest(session, comment_id)
        who = f" by {last.actor}" if last is not None else ""
        raise AlreadyDecided(f"comment {comment_id} is already {comment.status}{who}")
    entry = Decision(comment_id=comment_id, action=action.value, reason_code=reason_code, note=note, actor=actor,
                     origin=origin, previous_status=comment.status)
    session.add(entry)
    comment.status = action.status.value
    comment.decided_by_human = True
    session.flush()
    for hook in DECISION_HOOKS:
        hook(session, comment, entry)
    return entry


def undo(session: Session, decision_id: int, actor: str) -> Decision:
    """Restore the state before a decision, as a new log entry pointing at it."""
    original = session.get(Decision, decision_id)
    if original is None:
        raise DecisionError(f"no decision with id {decision_id}")
    if original.action == "undo":
        raise DecisionError("an undo cannot be undone; decide again instead")
    if session.scalar(select(Decision.id).where(Decision.undoes_id == decision_id)) is not None:
        raise DecisionError(f"decision {decision_id} is already undone")
    comment = _locked(session, original.comment_id)
    newer = latest(session, comment.id)
    if newer is not None and newer.id != original.id:
        raise AlreadyDecided(f"comment {comment.id} was decided again since (by {newer.actor}); undo that instead")
    entry = Decision(comment_id=comment.id, action="undo", actor=actor, origin=original.origin,
                     undoes_id=original.id, previous_status=comment.status)
    session.add(entry)
    comment.status = original.previous_status or "held"
    comment.decided_by_human = session.scalar(
        select(Decision.id).where(Decision.comment_id == comment.id, Decision.id < original.id,
                                  Decision.action != "undo")) is not None
    session.flush()
    for hook in DECISION_HOOKS:
        hook(session, comment, entry)
    return entry


def latest(session: Session, comment_id: int) -> Decision | None:
    return session.scalars(select(Decision).where(Decision.comment_id == comment_id)
                           .order_by(Decision.id.desc()).limit(1)).first()


def history(session: Session, comment_id: int) -> list[Decision]:
    return list(session.scalars(select(Decision).where(Decision.comment_id == comment_id).order_by(Decision.id)))

