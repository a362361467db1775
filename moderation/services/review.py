"""A moderator's review: decide on what they saw, undo within a few seconds, bulk slices, author history."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from moderation.domain.comments import Action
from moderation.store import claims
from moderation.store.decisions import AlreadyDecided, DecisionError, decide, undo
from moderation.store.models import Comment, Decision, utcnow
from moderation.store.threads import descendants

UNDO_SECONDS = 15  # the toast shows for less; the server allows a little more for a slow network
BULK_LIMIT = 5000


def decide_seen(session: Session, comment_id: int, action: str, actor: str, *, seen: int,
                reason_code: str | None = None, note: str | None = None) -> Decision:
    """Decide, unless the comment was decided since the moderator's view of it (`seen`: the comment's version
    they saw). Two moderators on one comment: the second gets AlreadyDecided naming the first."""
    if action == "reject" and reason_code is None:
        raise DecisionError("a rejection needs a reason code")
    entry = decide(session, comment_id, Action(action), actor, reason_code=reason_code, note=note,
                   expected_version=seen)
    claims.release(session, actor, comment_id)
    return entry


def reject_with_replies(session: Session, comment_id: int, actor: str, *, seen: int,
                        reason_code: str) -> list[Decision]:
    """Reject a comment and every reply below it (the replies not rejected already), each in the log."""
    entries = [decide_seen(session, comment_id, "reject", actor, seen=seen, reason_code=reason_code)]
    for reply_id in descendants(session, comment_id):
        # Locked (PostgreSQL) or under the write lock taken above (SQLite): the status read is the one written over.
        status = session.scalar(select(Comment.status).where(Comment.id == reply_id).with_for_update())
        if status != "rejected":
            entries.append(decide(session, reply_id, Action.REJECT, actor, reason_code=reason_code,
                                  note=f"with its thread: reply below comment {comment_id}",
                                  expected_status=status))
    return entries


def undo_recent(session: Session, decision_ids: list[int], actor: str, *,
                seconds: int = UNDO_SECONDS) -> list[Decision]:
    """Undo one's own decisions made in the last few seconds (a thread rejection is undone as a whole)."""
    entries = []
    for decision_id in sorted(decision_ids, reverse=True):
        original = session.get(Decision, decision_id)
        if original is None:
            raise DecisionError(f"no decision with id {decision_id}")
        if original.actor != actor:
            raise DecisionError("only the moderator who decided can undo it here")
        created = original.created_at
        if created is not None and utcnow() - created > timedelta(seconds=seconds):
            raise DecisionError(f"too late to undo (more than {seconds} s); decide again instead")
        entries.append(undo(session, decision_id, actor))
    return entries


@dataclass
class BulkResult:
    decided: list[int] = field(default_factory=list)
    decisions: list[int] = field(default_factory=list)  # their log entries, for undo
    skipped: list[tuple[int, str]] = field(default_factory=list)  # decided by someone else meanwhile


def bulk(session: Session, comment_ids: list[int], action: str, actor: str, *, seen: dict[int, int],
         reason_code: str | None = None) -> BulkResult:
    """Decide many comments; one that changed since the moderator's view is skipped and reported, not decided."""
    if len(comment_ids) > BULK_LIMIT:
        raise DecisionError(f"at most {BULK_LIMIT} comments in one bulk decision")
    if action == "reject" and reason_code is None:
        raise DecisionError("a rejection needs a reason code")
    result = BulkResult()
    for comment_id in comment_ids:
        try:
            # Refused before anything is written, so the rest of the batch goes on in the same transaction.
            entry = decide_seen(session, comment_id, action, actor, seen=seen.get(comment_id, 0),
                                reason_code=reason_code, note="bulk")
            result.decided.append(comment_id)
            result.decisions.append(entry.id)
        except AlreadyDecided as exc:
            result.skipped.append((comment_id, str(exc)))
    return result


@dataclass
class AuthorHistory:
    approved: int
    rejected: int
    held: int
    recent: list[tuple[int, str, str | None, object, str]]  # comment id, action, reason, when, actor


def author_history(session: Session, author: str | None, *, recent: int = 5) -> AuthorHistory | None:
    """How an author's comments stand, and the last decisions on them."""
    if not author:
        return None
    by_status = dict(session.execute(select(Comment.status, func.count()).where(Comment.author == author)
                                     .group_by(Comment.status)).all())
    last = session.execute(select(Decision.comment_id, Decision.action, Decision.reason_code, Decision.created_at,
                                  Decision.actor).join(Comment, Comment.id == Decision.comment_id)
                           .where(Comment.author == author).order_by(Decision.id.desc()).limit(recent)).all()
    return AuthorHistory(by_status.get("approved", 0), by_status.get("rejected", 0), by_status.get("held", 0),
                         [tuple(r) for r in last])


def seen_ids(session: Session, comment_ids: list[int]) -> dict[int, int]:
    """Each comment's version, what a decision is based on (it moves on with every decision and undo)."""
    if not comment_ids:
        return {}
    return dict(session.execute(select(Comment.id, Comment.version).where(Comment.id.in_(comment_ids))).all())
