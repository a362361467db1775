"""The review queue: listings with filters and orders, counts, and a snapshot against reshuffling."""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from typing import Mapping

from sqlalchemy import ColumnElement, Select, and_, case, exists, false, func, literal_column, or_, select, true
from sqlalchemy.orm import Session

from moderation.domain.messages import N_
from moderation.store.models import Article, Comment, RuleHit, TriageResult, utcnow

QUEUES = {
    "pending": N_("Pending"),
    "reported": N_("Reported"),
    "auto-rejected": N_("Auto-rejected"),
    "approved": N_("Approved"),
    "rejected": N_("Rejected"),
}
# "risk-aged": by risk, but whatever has waited longer than the site's limit (MODERATION_QUEUE_MAX_WAIT_HOURS)
# comes first, oldest first, so a low-risk comment is never left behind for ever.
ORDERS = ("risk", "risk-aged", "oldest", "newest")
MAX_WAIT = timedelta(hours=4)
PAGE = 50


def queue_condition(name: str) -> ColumnElement[bool]:
    """Which comments a queue holds."""
    if name == "pending":
        return Comment.status == "held"
    if name == "reported":  # published, then flagged by rules or readers, and no human has looked yet
        # Constants inline (not bound), so PostgreSQL can match the partial index ix_comments_reported.
        return and_(Comment.status == literal_column("'approved'"), Comment.flagged > literal_column("0"),
                    Comment.decided_by_human == false())
    if name == "auto-rejected":  # for audit and appeal
        return and_(Comment.status == "rejected", Comment.decided_by_human == false())
    if name == "approved":
        return Comment.status == "approved"
    if name == "rejected":
        return and_(Comment.status == "rejected", Comment.decided_by_human == true())
    raise ValueError(f"unknown queue {name!r} (known: {', '.join(QUEUES)})")


@dataclass(frozen=True)
class Filters:
    """What a moderator asked to see; every field is optional except the queue."""

    queue: str = "pending"
    order: str = "risk"
    article: int | None = None
    rule: str | None = None
    label: str | None = None  # "scorer:label", with min_score / max_score
    min_score: float | None = None
    max_score: float | None = None
    language: str | None = None
    author: str | None = None
    q: str | None = None  # text contains
    as_of: int | None = None  # newest comment id shown: later arrivals wait behind "N new comments"

    @classmethod
    def parse(cls, args: Mapping[str, str]) -> "Filters":
        """From query-string arguments; raises ValueError naming the bad one."""
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = (args.get(f.name) or "").strip()
            if not raw:
                continue
            try:
                if f.name in ("article", "as_of"):
                    values[f.name] = int(raw)
                elif f.name in ("min_score", "max_score"):
                    values[f.name] = float(raw)
                else:
                    values[f.name] = raw
            except ValueError:
                raise ValueError(f"{f.name}: not a number: {raw!r}") from None
        filters = cls(**values)
        if filters.queue not in QUEUES:
            raise ValueError(f"queue: unknown queue {filters.queue!r}")
        if filters.order not in ORDERS:
            raise ValueError(f"order: unknown order {filters.order!r}")
        if filters.label is not None and ":" not in filters.label:
            raise ValueError("label: expected scorer:label, e.g. lexicon:insult")
        return filters

    def args(self, **changes: object) -> dict[str, object]:
        """The query-string arguments for these filters (with changes), without empty ones."""
        return {k: v for k, v in vars(replace(self, **changes)).items() if v is not None and v != ""}


def _label_score(label: str) -> ColumnElement:
    scorer, name = label.split(":", 1)
    return TriageResult.scores[(scorer, name)].as_float()


def conditions(filters: Filters, *, with_queue: bool = True) -> list[ColumnElement[bool]]:
    """The WHERE clauses of a listing (or a bulk slice) without the snapshot."""
    where: list[ColumnElement[bool]] = [queue_condition(filters.queue)] if with_queue else []
    if filters.article is not None:
        where.append(Comment.article_id == filters.article)
    if filters.language:
        where.append(Comment.language == filters.language)
    if filters.author:
        where.append(Comment.author == filters.author)
    if filters.q:
        where.append(Comment.text.contains(filters.q, autoescape=True))
    if filters.rule:
        where.append(exists().where(RuleHit.triage_id == Comment.triage_id, RuleHit.rule_id == filters.rule,
                                    RuleHit.shadow == false()))
    if filters.label and (filters.min_score is not None or filters.max_score is not None):
        score = select(_label_score(filters.label)).where(TriageResult.id == Comment.triage_id).scalar_subquery()
        if filters.min_score is not None:
            where.append(score >= filters.min_score)
        if filters.max_score is not None:
            where.append(score <= filters.max_score)
    elif filters.min_score is not None or filters.max_score is not None:
        # Without a label the range applies to the overall risk (the strongest evidence).
        if filters.min_score is not None:
            where.append(Comment.risk >= filters.min_score)
        if filters.max_score is not None:
            where.append(Comment.risk <= filters.max_score)
    return where


def _ordered(query: Select, order: str, max_wait: timedelta = MAX_WAIT, now: datetime | None = None) -> Select:
    if order == "risk-aged":
        overdue = Comment.imported_at < (now or utcnow()) - max_wait
        return query.order_by(case((overdue, 0), else_=1), case((overdue, Comment.imported_at), else_=None).asc(),
                              Comment.priority.desc(), Comment.risk.desc(), Comment.id.desc())
    if order == "newest":
        return query.order_by(Comment.created_at.desc(), Comment.id.desc())
    if order == "oldest":
        return query.order_by(Comment.created_at.asc(), Comment.id.asc())
    return query.order_by(Comment.priority.desc(), Comment.risk.desc(), Comment.id.desc())


def newest_id(session: Session) -> int:
    return session.scalar(select(func.max(Comment.id))) or 0


@dataclass
class Row:
    """One line of the queue."""

    id: int
    article_id: int
    article_title: str | None
    parent_id: int | None
    depth: int
    author: str | None
    text: str
    created_at: object
    language: str | None
    status: str
    flagged: int
    priority: int
    risk: float
    rules: list[str]
    seen: int  # the comment's version, read with its status: a decision based on an older view is refused


def listing(session: Session, filters: Filters, *, limit: int = PAGE, offset: int = 0,
            max_wait: timedelta = MAX_WAIT, now: datetime | None = None) -> list[Row]:
    """One page of a queue as of the snapshot (filters.as_of), in the asked order."""
    query = select(Comment.id, Comment.article_id, Article.title, Comment.parent_id, Comment.depth,
                   Comment.author, Comment.text, Comment.created_at, Comment.language, Comment.status,
                   Comment.flagged, Comment.priority, Comment.risk, Comment.triage_id, Comment.version
                   ).join(Article, Article.id == Comment.article_id).where(*conditions(filters))
    if filters.as_of is not None:
        query = query.where(Comment.id <= filters.as_of)
    rows = session.execute(_ordered(query, filters.order, max_wait, now).limit(limit).offset(offset)).all()
    triage_ids = [r.triage_id for r in rows if r.triage_id]
    hits: dict[int, list[str]] = {}
    if triage_ids:
        for triage_id, hit_list in session.execute(
                select(TriageResult.id, TriageResult.hits).where(TriageResult.id.in_(triage_ids))):
            hits[triage_id] = [h["rule"] for h in hit_list or [] if not h.get("experimental")]
    return [Row(r.id, r.article_id, r.title, r.parent_id, r.depth, r.author, r.text, r.created_at, r.language,
                r.status, r.flagged, r.priority, r.risk, hits.get(r.triage_id, []), r.version)
            for r in rows]


def arrivals(session: Session, filters: Filters) -> int:
    """Comments that joined this listing after its snapshot (the "N new comments" to load)."""
    if filters.as_of is None:
        return 0
    return session.scalar(select(func.count()).select_from(Comment).where(
        Comment.id > filters.as_of, *conditions(filters))) or 0


def counts(session: Session, article: int | None = None, queues: tuple[str, ...] = tuple(QUEUES)) -> dict[str, int]:
    """How many comments each of these queues holds, globally or for one article (one indexed count each)."""
    out = {}
    for name in queues:
        query = select(func.count()).select_from(Comment).where(queue_condition(name))
        if article is not None:
            query = query.where(Comment.article_id == article)
        out[name] = session.scalar(query) or 0
    return out


def rules_in_use(session: Session, limit: int = 200) -> list[str]:
    """Rule ids that have hit anything, for the filter's choices."""
    return sorted(session.scalars(select(RuleHit.rule_id).where(RuleHit.shadow == false()).distinct().limit(limit)))


def articles(session: Session, limit: int = 200) -> list[tuple[int, str]]:
    rows = session.execute(select(Article.id, Article.title, Article.external_id).where(
        or_(Article.placeholder == false(), Article.placeholder.is_(None))).order_by(Article.id.desc()).limit(limit))
    return [(r.id, r.title or r.external_id) for r in rows]
