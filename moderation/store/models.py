"""SQLAlchemy 2 models: articles, comments, triage results, the decision log, rule-set versions."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text,
                        TypeDecorator, UniqueConstraint)
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

Json = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Stored in UTC, always returned timezone-aware (SQLite keeps no offset of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:  # noqa: ANN001
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect):  # noqa: ANN001, ANN201
        """process_bind_param then SQLite's own formatting, done in one C call for a plain datetime.

        An import converts two dates a comment; the generic chain (a tz round trip, a dict, %-formatting) was
        a tenth of its time. Anything but a plain datetime, other databases and other storage formats take the
        generic chain; tests compare the two on generated dates.
        """
        generic = super().bind_processor(dialect)
        if not (isinstance(self.impl_instance, sqlite.DATETIME)
                and self.impl_instance._storage_format == sqlite.DATETIME._storage_format):
            return generic
        utc = timezone.utc

        def process(value: object) -> object:
            if value.__class__ is not datetime:
                return generic(value)
            # The storage format is isoformat's "%04d-%02d-%02d %02d:%02d:%02d.%06d"; in UTC it ends "+00:00".
            if value.tzinfo is None:
                return value.isoformat(" ", "microseconds")
            return (value if value.tzinfo is utc else value.astimezone(utc)).isoformat(" ", "microseconds")[:-6]

        return process

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:  # noqa: ANN001
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    pass


class Article(Base):
    __tablename__ = "articles"
    __table_args__ = (UniqueConstraint("source", "external_id", name="uq_articles_source_external"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A placeholder stands in for an article that replies refer to but no file has described yet.
    placeholder: Mapped[bool] = mapped_column(Boolean, default=False)
    premoderation: Mapped[str | None] = mapped_column(String(20))  # per-article override of the policy

    comments: Mapped[list["Comment"]] = relationship(back_populates="article")


class Comment(Base):
    __tablename__ = "comments"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_comments_source_external"),
        Index("ix_comments_queue", "status", "priority", "risk"),
        Index("ix_comments_article_created", "article_id", "created_at"),
        Index("ix_comments_source_parent_ext", "source", "parent_external_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str] = mapped_column(String(200))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id"), index=True)
    # Kept even when the parent is unknown, so a parent arriving later is linked up.
    parent_external_id: Mapped[str | None] = mapped_column(String(200))
    depth: Mapped[int] = mapped_column(Integer, default=0)
    orphan: Mapped[bool] = mapped_column(Boolean, default=False)
    author: Mapped[str | None] = mapped_column(String(200), index=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    language: Mapped[str | None] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(20), default="comment")
    source_status: Mapped[str | None] = mapped_column(String(20))
    meta: Mapped[dict] = mapped_column(Json, default=dict)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    # Current state, denormalised from the newest triage result and the decision log for the queue.
    status: Mapped[str] = mapped_column(String(20), default="new")
    decided_by_human: Mapped[bool] = mapped_column(Boolean, default=False)
    flagged: Mapped[int] = mapped_column(Integer, default=0)  # published but flagged (rules or reader reports)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    risk: Mapped[float] = mapped_column(Float, default=0.0)
    triage_id: Mapped[int | None] = mapped_column(Integer)  # newest TriageResult.id; plain pointer, no cycle
    # The number of decisions (undo included) so far: a decision names the version it was based on, and the
    # database lets exactly one decision move a version on (see store/decisions.py).
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    article: Mapped[Article] = relationship(back_populates="comments")
    parent: Mapped["Comment | None"] = relationship(remote_side="Comment.id")


class TriageResult(Base):
    """One assessment of one comment, with all its evidence and the versions that produced it."""

    __tablename__ = "triage_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decision: Mapped[str] = mapped_column(String(10))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    risk: Mapped[float] = mapped_column(Float, default=0.0)
    language: Mapped[str | None] = mapped_column(String(8))
    explanation: Mapped[str] = mapped_column(Text, default="")
    ruleset_version: Mapped[str] = mapped_column(String(40), index=True)
    scorer_versions: Mapped[dict] = mapped_column(Json, default=dict)  # scorer name -> model version
    scores: Mapped[dict] = mapped_column(Json, default=dict)  # scorer name -> {label: score}
    hits: Mapped[list] = mapped_column(Json, default=list)
    shadow_hits: Mapped[list] = mapped_column(Json, default=list)  # experimental rules: recorded, no action
    failures: Mapped[list] = mapped_column(Json, default=list)  # scorers or rules that could not run
    # The parts of the risk (assess/risk.py) and any author state that decided, so the card can explain them.
    evidence: Mapped[dict | None] = mapped_column(Json)
    applied: Mapped[bool] = mapped_column(Boolean, default=True)  # False when a human decision stood


class RuleHit(Base):
    """One rule hit of one triage result, kept as a row so per-rule statistics are an indexed query."""

    __tablename__ = "rule_hits"
    __table_args__ = (Index("ix_rule_hits_rule", "rule_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    triage_id: Mapped[int] = mapped_column(ForeignKey("triage_results.id"), index=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id"))
    rule_id: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(10))
    shadow: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Decision(Base):
    """Append-only log of moderator (and historic/imported) decisions; undo is a new row."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id"), index=True)
    action: Mapped[str] = mapped_column(String(10))  # approve | reject | hold | undo
    reason_code: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    origin: Mapped[str] = mapped_column(String(20), default="moderator")  # moderator | import | api | feedback
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    undoes_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))
    previous_status: Mapped[str | None] = mapped_column(String(20))  # what undo restores


class RuleSetVersion(Base):
    """Every rule set that ever triaged a comment, by content hash, so decisions stay explainable."""

    __tablename__ = "rule_sets"

    version: Mapped[str] = mapped_column(String(40), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    source_path: Mapped[str | None] = mapped_column(Text)
    files: Mapped[dict] = mapped_column(Json, default=dict)  # relative path -> content


class User(Base):
    """A person working at the desk: moderator, admin or researcher."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    language: Mapped[str | None] = mapped_column(String(8))  # interface language; None: the browser's
