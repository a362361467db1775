"""Reader reports: record one per reporter and comment, weigh reporters by moderators' outcomes, move a published
comment into the Reported queue when its reports weigh enough."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from moderation.assess.risk import report_part, with_reports
from moderation.domain.comments import REASON_CODES
from moderation.store import events
from moderation.store import reports as store
from moderation.store.database import lock_for_write
from moderation.store.models import Comment, TriageResult

# Why a reader reports: the moderators' reason codes and labels (one vocabulary), those a reader can judge.
REASONS: dict[str, str] = {code: REASON_CODES[code] for code in (
    "offensive", "personal-attack", "defamation", "spam", "video-link", "off-topic", "other")}
MAX_NOTE = 500  # characters of the reader's own words


class ReportError(ValueError):
    """A report that cannot be recorded as asked (unknown comment or reason, too long a note)."""


@dataclass
class Outcome:
    """What one report did: whether it was new, the comment's weighted count, and whether it is now reported."""

    report_id: int
    created: bool
    comment_id: int
    reports: int
    weighted: float
    queued: bool  # the comment is in the Reported queue now (published, flagged, no human decision)

    def to_dict(self) -> dict:
        return {"report_id": self.report_id, "created": self.created, "comment_id": self.comment_id,
                "reports": self.reports, "weighted": round(self.weighted, 4), "queued": self.queued}


def validate(reason: str, note: str | None) -> str | None:
    """The note as stored (None when empty); raises ReportError on an unknown reason or an overlong note."""
    if reason not in REASONS:
        raise ReportError(f"unknown reason {reason!r} (known: {', '.join(REASONS)})")
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise ReportError(f"the note is at most {MAX_NOTE} characters")
    if note is not None and not _storable(note):
        raise ReportError("the note holds control characters")
    return note


def _storable(text: str) -> bool:
    # PostgreSQL refuses NUL, and unpaired surrogates cannot be encoded at all.
    return not any(ord(ch) < 32 and ch not in "\n\t" or 0xD800 <= ord(ch) <= 0xDFFF for ch in text)


def report(session: Session, comment_id: int, reporter: str, reason: str, *, note: str | None = None,
           origin: str = "public", trusted: bool = False, threshold: float = 3.0) -> Outcome:
    """Record a reader's report (idempotent per reporter and comment) and re-weigh the comment's reports: at
    `threshold` weighted reports, or with one from a trusted reporter, a published comment no moderator has
    decided moves into Reported; the comment's risk takes the reports in either way."""
    note = validate(reason, note)
    if origin not in store.ORIGINS:
        raise ReportError(f"unknown origin {origin!r}")
    if not reporter or len(reporter) > 200 or not _storable(reporter):
        raise ReportError("a reporter id is 1 to 200 printable characters")
    # One writer at a time: two racing reports must each count the other, or neither crosses the threshold.
    lock_for_write(session)
    comment = session.get(Comment, comment_id, with_for_update=True)
    if comment is None:
        raise ReportError(f"no comment with id {comment_id}")
    row, created = store.add(session, comment_id, reporter, origin, reason, note, trusted)
    count, weighted_sum, any_trusted = store.weighed(session, comment_id)
    values: dict[str, object] = {"risk": _risk(session, comment, weighted_sum)}
    crossing = weighted_sum >= threshold or any_trusted
    if crossing and comment.status == "approved" and not comment.decided_by_human:
        values["flagged"] = max(comment.flagged or 0, 1)
    was_flagged = comment.flagged or 0
    session.execute(update(Comment).where(Comment.id == comment_id).values(**values)
                    .execution_options(synchronize_session=False))
    flagged = values.get("flagged", was_flagged) or 0
    queued = comment.status == "approved" and flagged > 0 and not comment.decided_by_human
    if flagged and not was_flagged:  # the CMS hears of it like any flag after publication (feed and webhooks)
        comment = session.get(Comment, comment_id, populate_existing=True)
        by_reason = dict(Counter(r.reason for r in store.of_comment(session, comment_id)))
        events.record(session, comment, "comment.flagged", explanation=f"Reported by {count} readers",
                      reasons=[{"code": "reader-reports", "detail": f"{count} reports, weighing {weighted_sum:.2f}",
                                "reports": count, "by_reason": by_reason}])
    return Outcome(row.id, created, comment_id, count, weighted_sum, queued)


def _risk(session: Session, comment: Comment, weighted_sum: float) -> float:
    """The comment's risk with its reports as one more part. The current triage result's risk parts take the
    reports part too, so the card's explanation (assess/attribution) adds up to the comment's risk."""
    evidence = session.scalar(select(TriageResult.evidence).where(TriageResult.id == comment.triage_id)) \
        if comment.triage_id else None
    parts = (evidence or {}).get("risk")
    if not parts:  # untriaged, or triaged before risk had parts: the reports only raise what is there
        return with_reports({"risk": comment.risk or 0.0}, weighted_sum)
    risk = with_reports(parts, weighted_sum)
    updated = {**parts, "reports": round(report_part(weighted_sum), 4), "risk": round(risk, 4)}
    session.execute(update(TriageResult).where(TriageResult.id == comment.triage_id)
                    .values(evidence={**evidence, "risk": updated}).execution_options(synchronize_session=False))
    return risk


@dataclass
class Summary:
    """A comment's reports for the card: count per reason, the readers' notes, the weighted count."""

    total: int
    weighted: float
    trusted: bool
    by_reason: list[tuple[str, int]]
    notes: list[str]


def summary(session: Session, comment_id: int) -> Summary | None:
    """None when nobody reported the comment."""
    rows = store.of_comment(session, comment_id)
    if not rows:
        return None
    count, weighted_sum, any_trusted = store.weighed(session, comment_id)
    by_reason: dict[str, int] = {}
    for r in rows:
        by_reason[r.reason] = by_reason.get(r.reason, 0) + 1
    ordered = sorted(by_reason.items(), key=lambda kv: (-kv[1], list(REASONS).index(kv[0])
                                                         if kv[0] in REASONS else 99))
    return Summary(count, weighted_sum, any_trusted, ordered, [r.note for r in rows if r.note])
