"""Reader reports: one row per reporter and comment, and what moderators' outcomes say about each reporter."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    and_,
    case,
    exists,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from moderation.store.database import upsert
from moderation.store.models import Base, Comment, Decision, UTCDateTime, utcnow

ORIGINS = ("public", "api")  # the public thread's "Report" form; a CMS forwarding its readers' reports


class Report(Base):
    """A reader's report of a comment: why, and in their own words when the reason is "other"."""

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("comment_id", "reporter", name="uq_reports_comment_reporter"),
                      Index("ix_reports_reporter", "reporter"))

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id"), index=True)
    # Namespaced: "api:<site>:<the CMS's reader id>", or "web:<keyed hash of the address>" (no address is stored).
    reporter: Mapped[str] = mapped_column(String(200))
    origin: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    trusted: Mapped[bool] = mapped_column(Boolean, default=False)  # the CMS vouched for this reporter
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def add(session: Session, comment_id: int, reporter: str, origin: str, reason: str, note: str | None,
        trusted: bool) -> tuple[Report, bool]:
    """The reporter's report of this comment, and whether it is new: a second report by the same reporter is
    the first one again (ON CONFLICT, so racing duplicates neither fail nor double)."""
    inserted = session.execute(upsert(session, Report).values(
        comment_id=comment_id, reporter=reporter, origin=origin, reason=reason, note=note, trusted=trusted,
        created_at=utcnow()).on_conflict_do_nothing(index_elements=["comment_id", "reporter"])
        .returning(Report.id)).scalar()
    report = session.scalars(select(Report).where(Report.comment_id == comment_id, Report.reporter == reporter)
                             .execution_options(populate_existing=True)).one()
    return report, inserted is not None


@dataclass
class Record:
    """What moderators made of a reporter's reports: upheld (the comment was rejected after the report) or
    overturned (approved after it); reports on comments nobody decided since say nothing yet."""

    upheld: int = 0
    overturned: int = 0


def records(session: Session, reporters: Iterable[str]) -> dict[str, Record]:
    """Per reporter, the outcomes of their reports, read from the comments' current human decisions."""
    names = sorted(set(reporters))
    out = {name: Record() for name in names}
    if not names:
        return out
    # A human decision made after the report: one made before it (a comment approved, then reported) is no
    # verdict on the report.
    after = exists().where(Decision.comment_id == Report.comment_id, Decision.created_at >= Report.created_at,
                           Decision.origin.in_(("moderator", "api", "feedback")))
    decided = and_(Comment.decided_by_human.is_(True), after)
    query = (select(Report.reporter,
                    func.sum(case((and_(decided, Comment.status == "rejected"), 1), else_=0)),
                    func.sum(case((and_(decided, Comment.status == "approved"), 1), else_=0)))
             .join(Comment, Comment.id == Report.comment_id).group_by(Report.reporter))
    for i in range(0, len(names), 1000):
        for reporter, upheld, overturned in session.execute(query.where(Report.reporter.in_(names[i:i + 1000]))):
            out[reporter] = Record(int(upheld or 0), int(overturned or 0))
    return out


def of_comment(session: Session, comment_id: int) -> list[Report]:
    return list(session.scalars(select(Report).where(Report.comment_id == comment_id).order_by(Report.id)))


def of_comments(session: Session, comment_ids: Iterable[int]) -> dict[int, list[Report]]:
    """The reports of several comments (for what-if and the rule statistics)."""
    ids = sorted(set(comment_ids))
    out: dict[int, list[Report]] = {i: [] for i in ids}
    for i in range(0, len(ids), 1000):
        for report in session.scalars(select(Report).where(Report.comment_id.in_(ids[i:i + 1000]))
                                      .order_by(Report.id)):
            out[report.comment_id].append(report)
    return out


def reported_ids(session: Session) -> set[int]:
    """Every comment with at least one report."""
    return set(session.scalars(select(Report.comment_id).distinct()))



# A reporter's reliability is Beta-smoothed: a newcomer counts as 2 upheld in 4, so their report weighs fully,
# and a few overturned reports lower the weight only step by step.
PRIOR = (2.0, 4.0)
TRUSTED_UPHELD = 5  # a reporter whose reports were upheld this often ...
TRUSTED_RELIABILITY = 0.75  # ... at this reliability or better counts as trusted by their record


def reliability(record: Record) -> float:
    """The smoothed share of a reporter's decided reports that moderators upheld."""
    upheld, total = PRIOR
    return (record.upheld + upheld) / (record.upheld + record.overturned + total)


def weight(record: Record) -> float:
    """How much one report by this reporter counts: 1 for a newcomer or a good record, less for a reporter
    whose reports moderators keep overturning."""
    return min(1.0, reliability(record) / (PRIOR[0] / PRIOR[1]))


def earned_trust(record: Record) -> bool:
    return record.upheld >= TRUSTED_UPHELD and reliability(record) >= TRUSTED_RELIABILITY


def weighed(session: Session, comment_id: int) -> tuple[int, float, bool]:
    """A comment's reports: how many, their weighted sum, and whether a trusted reporter is among them."""
    rows = of_comment(session, comment_id)
    known = records(session, [r.reporter for r in rows])
    total = sum(weight(known[r.reporter]) for r in rows)
    return len(rows), total, any(r.trusted or earned_trust(known[r.reporter]) for r in rows)


def weights(session: Session, comment_ids: Iterable[int]) -> dict[int, float]:
    """Per comment, its reports weighted by their reporters' records (0 when none), for the risk."""
    by_comment = of_comments(session, comment_ids)
    known = records(session, [r.reporter for rows in by_comment.values() for r in rows])
    return {cid: sum(weight(known[r.reporter]) for r in rows) for cid, rows in by_comment.items()}
