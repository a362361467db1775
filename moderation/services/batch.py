"""A batch decision like Jigsaw Moderator's: a histogram of a queue by a measure, a range of it, exclusions, apply, undo."""
from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import timedelta

from sqlalchemy.orm import Session

from moderation.services.review import BULK_LIMIT, UNDO_SECONDS, decide_seen
from moderation.store import batches
from moderation.store import queue as q
from moderation.store.batches import RISK, Value
from moderation.store.decisions import PAST, AlreadyDecided, DecisionError, latest
from moderation.store.decisions import undo as undo_decision
from moderation.store.models import Comment, Decision, utcnow

BINS = 20
ACTIONS = ("approve", "reject", "hold")
OUT_OF_RANGE = "no longer in this range of the queue (decided or re-scored since)"


@lru_cache(maxsize=8)
def _edges(bins: int) -> tuple[float, ...]:
    return tuple(i / bins for i in range(bins + 1))


def edges(bins: int = BINS) -> list[float]:
    """The bins' edges over [0, 1]; bin i holds edges[i] <= value < edges[i+1], the last one also 1 and above."""
    return list(_edges(bins))


def bin_of(value: float, bins: int = BINS) -> int:
    """The bin a value falls in (below 0: the first, 1 and above: the last), by the same edges as the filter."""
    return min(max(bisect_right(_edges(bins), value) - 1, 0), bins - 1)


@dataclass(frozen=True)
class Range:
    """A run of bins, both ends included."""

    low: int
    high: int
    bins: int = BINS

    @classmethod
    def parse(cls, low: object, high: object, bins: int = BINS) -> "Range":
        """From form fields (bin numbers; missing: the whole histogram); raises ValueError naming the bad one."""
        try:
            lo = 0 if low in (None, "") else int(low)
            hi = bins - 1 if high in (None, "") else int(high)
        except (TypeError, ValueError):
            raise ValueError(f"range: bin numbers expected, got {low!r} and {high!r}") from None
        if not (0 <= lo < bins and 0 <= hi < bins):
            raise ValueError(f"range: bins run from 0 to {bins - 1}")
        return cls(min(lo, hi), max(lo, hi), bins)

    @property
    def edges(self) -> tuple[float, float]:
        """The values the range spans, as stored with the batch."""
        e = edges(self.bins)
        return e[self.low], e[self.high + 1]

    def holds(self, value: float | None) -> bool:
        return value is not None and math.isfinite(value) and self.low <= bin_of(value, self.bins) <= self.high


@dataclass
class View:
    """The histogram of the slice and the comments the range selects ("N of M")."""

    measure: str
    counts: list[int]
    missing: int  # comments with no such score (not in any bin, never selected)
    selected: list[Value]

    @property
    def total(self) -> int:
        return sum(self.counts)


def view(session: Session, filters: q.Filters, measure: str, rng: Range,
         among: set[int] | None = None) -> View:
    """Histogram and selection from one read, so N and M describe the same moment."""
    counts, missing, selected = [0] * rng.bins, 0, []
    for item in batches.values(session, filters, measure):
        if among is not None and item.id not in among:
            continue
        if item.value is None or not math.isfinite(item.value):
            missing += 1
            continue
        b = bin_of(item.value, rng.bins)
        counts[b] += 1
        if rng.low <= b <= rng.high:
            selected.append(item)
    return View(measure, counts, missing, selected)


def included(selected: list[Value], excluded: set[int]) -> dict[int, int]:
    """The comments a batch would decide: the selection less the rows excluded, each with its version."""
    return {v.id: v.version for v in selected if v.id not in excluded}


@dataclass
class Outcome:
    """What a batch did: its id, the comments decided (and their log entries), those skipped and why."""

    batch_id: int
    decided: list[int] = field(default_factory=list)
    decisions: list[int] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)


def apply(session: Session, filters: q.Filters, measure: str, rng: Range, chosen: dict[int, int], action: str,
          actor: str, *, reason_code: str | None = None, among: set[int] | None = None) -> Outcome:
    """Decide the chosen comments (id -> the version the moderator saw) that are still in the range; one changed
    since, or out of the range now, is skipped and reported, never decided."""
    if action not in ACTIONS:
        raise DecisionError(f"action: choose one of {', '.join(ACTIONS)}")
    if action == "reject" and not reason_code:
        raise DecisionError("a rejection needs a reason code")
    if not chosen:
        raise DecisionError("nothing selected")
    if len(chosen) > BULK_LIMIT:
        raise DecisionError(f"at most {BULK_LIMIT} comments in one batch")
    reason = reason_code if action == "reject" else None
    still = {v.id for v in view(session, filters, measure, rng, among).selected}
    batch = batches.record(session, actor=actor, action=action, reason_code=reason, measure=measure,
                           low=rng.edges[0], high=rng.edges[1])
    out = Outcome(batch.id)
    for comment_id in sorted(chosen):
        if comment_id not in still:
            out.skipped.append((comment_id, _gone(session, comment_id, chosen[comment_id])))
            continue
        try:  # refused before anything is written, so the rest of the batch goes on in the same transaction
            entry = decide_seen(session, comment_id, action, actor, seen=chosen[comment_id], reason_code=reason,
                                note=f"batch {batch.id}")
        except AlreadyDecided as exc:
            out.skipped.append((comment_id, str(exc)))
            continue
        out.decided.append(comment_id)
        out.decisions.append(entry.id)
    batches.finish(session, batch, out.decisions, out.skipped)
    return out


def _gone(session: Session, comment_id: int, seen: int) -> str:
    """Why a chosen comment is no longer in the range: who decided it since, or a new score."""
    comment = session.get(Comment, comment_id, populate_existing=True)
    if comment is None:
        return f"no comment with id {comment_id}"
    last = latest(session, comment_id) if comment.version != seen else None
    if last is None:
        return OUT_OF_RANGE
    return f"{last.actor} {PAST[last.action]} this comment first; it is now {comment.status}"


@dataclass
class Undone:
    """What undoing a batch did: the comments restored, and those left alone because they changed since."""

    restored: list[int] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)


def undo(session: Session, batch_id: int, actor: str, *, seconds: int = UNDO_SECONDS) -> Undone:
    """Undo a whole batch within the queue's undo window; a comment decided since by anyone is skipped."""
    batch = batches.get(session, batch_id)
    if batch is None:
        raise DecisionError(f"no batch with id {batch_id}")
    if batch.actor != actor:
        raise DecisionError("only the moderator who applied a batch can undo it")
    if batch.created_at is not None and utcnow() - batch.created_at > timedelta(seconds=seconds):
        raise DecisionError(f"too late to undo (more than {seconds} s); decide again instead")
    batches.claim_undo(session, batch_id, actor)
    out = Undone()
    for decision_id in reversed(batch.decision_ids or []):
        comment_id = session.get(Decision, decision_id).comment_id
        try:
            undo_decision(session, decision_id, actor)
        except DecisionError as exc:  # decided again since, or that one decision undone on its own
            out.skipped.append((comment_id, str(exc)))
            continue
        out.restored.append(comment_id)
    batches.note_undo(session, batch_id, out.skipped)
    return out


__all__ = ["ACTIONS", "BINS", "RISK", "Outcome", "Range", "Undone", "View", "apply", "bin_of", "edges", "included",
           "undo", "view"]
