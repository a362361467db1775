"""Claims: which moderator is looking at which comment, so others see it and pick something else."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable

from sqlalchemy import ForeignKey, Index, String, delete, or_, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from moderation.store.database import upsert
from moderation.store.models import Base, Comment, UTCDateTime, utcnow

CLAIM_SECONDS = 120  # a claim lapses on its own when a moderator walks away


# The review queue's indexes (migration 0009), declared here so the models' metadata matches the schema:
# one status in time order, one article's queue in risk order, and the counts per state.
Index("ix_comments_queue_risk", Comment.status, Comment.priority, Comment.risk, Comment.id)
Index("ix_comments_queue_created", Comment.status, Comment.created_at, Comment.id)
Index("ix_comments_article_queue", Comment.article_id, Comment.status, Comment.priority, Comment.risk, Comment.id)
Index("ix_comments_state", Comment.status, Comment.decided_by_human, Comment.flagged)
Index("ix_comments_reported", Comment.priority, Comment.risk, Comment.id,
      postgresql_where=text("status = 'approved' AND flagged > 0 AND decided_by_human = false"),
      sqlite_where=text("status = 'approved' AND flagged > 0 AND decided_by_human = 0"))


class Claim(Base):
    """One moderator's claim on one comment; at most one holder per comment."""

    __tablename__ = "claims"
    __table_args__ = (Index("ix_claims_moderator", "moderator"),)

    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id"), primary_key=True)
    moderator: Mapped[str] = mapped_column(String(200))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


def claim(session: Session, comment_id: int, moderator: str, *, seconds: int = CLAIM_SECONDS,
          now: datetime | None = None) -> str:
    """Claim a comment unless someone else holds a live claim on it; returns who holds it now.

    A moderator holds one claim at a time: claiming the next comment lets go of the previous one.
    """
    now = now or utcnow()
    expires = now + timedelta(seconds=seconds)
    session.execute(delete(Claim).where(Claim.moderator == moderator, Claim.comment_id != comment_id))
    # One statement, so two moderators claiming at once cannot both win: the row's lock decides.
    stmt = upsert(session, Claim).values(comment_id=comment_id, moderator=moderator, claimed_at=now,
                                         expires_at=expires)
    stmt = stmt.on_conflict_do_update(
        index_elements=["comment_id"],
        set_={"moderator": stmt.excluded.moderator, "claimed_at": stmt.excluded.claimed_at,
              "expires_at": stmt.excluded.expires_at},
        where=or_(Claim.moderator == moderator, Claim.expires_at < now))
    session.execute(stmt)
    return session.scalar(select(Claim.moderator).where(Claim.comment_id == comment_id).execution_options(
        populate_existing=True))


def release(session: Session, moderator: str, comment_id: int | None = None) -> None:
    """Let go of a moderator's claim (on one comment, or all)."""
    query = delete(Claim).where(Claim.moderator == moderator)
    if comment_id is not None:
        query = query.where(Claim.comment_id == comment_id)
    session.execute(query)


def holders(session: Session, comment_ids: Iterable[int], *, now: datetime | None = None) -> dict[int, str]:
    """Live claims on these comments: comment id -> moderator."""
    ids = list(comment_ids)
    if not ids:
        return {}
    rows = session.execute(select(Claim.comment_id, Claim.moderator).where(
        Claim.comment_id.in_(ids), Claim.expires_at >= (now or utcnow())))
    return dict(rows.all())
