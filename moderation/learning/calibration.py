"""Thresholds from moderators' decisions: per label, the lowest score that keeps a target precision."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

from sqlalchemy import select

from moderation.store import Comment, Database, TriageResult

MIN_SUPPORT = 20  # fewer decided comments above a threshold than this say too little to suggest it


@dataclass
class Suggestion:
    label: str
    threshold: float | None  # None: no threshold reaches the target with enough support
    precision: float | None
    recall: float | None
    flagged: int  # decided comments at or above the threshold
    positives: int  # comments moderators rejected, among those with a score for this label
    decided: int

    def to_dict(self) -> dict:
        return asdict(self)


def threshold_for_precision(scores: Sequence[float], labels: Sequence[int], target: float,
                            min_support: int = MIN_SUPPORT) -> tuple[float | None, float | None, float | None, int]:
    """(threshold, precision, recall, flagged) for the lowest threshold whose precision reaches `target`.

    Lower thresholds catch more; so the scan walks from the highest score down and keeps the last point (the
    lowest threshold) where precision still holds, among thresholds that flag at least `min_support` items.
    """
    pairs = sorted(zip(scores, labels), key=lambda p: -p[0])
    positives = sum(labels)
    best = (None, None, None, 0)
    tp = 0
    for i, (score, label) in enumerate(pairs, start=1):
        tp += label
        # Only cut between different scores: everything at one score is flagged together.
        if i < len(pairs) and pairs[i][0] == score:
            continue
        precision = tp / i
        if i >= min_support and precision >= target:
            best = (round(score, 4), round(precision, 4), round(tp / positives, 4) if positives else None, i)
    return best


def from_decisions(db: Database, target: float = 0.9, min_support: int = MIN_SUPPORT) -> list[Suggestion]:
    """A threshold suggestion per label, from stored scores of comments moderators approved or rejected."""
    query = (select(TriageResult.scores, Comment.status)
             .join(Comment, Comment.triage_id == TriageResult.id)
             .where(Comment.decided_by_human.is_(True), Comment.status.in_(("approved", "rejected"))))
    by_label: dict[str, tuple[list[float], list[int]]] = {}
    with db.session() as session:
        for scores, status in session.execute(query.execution_options(yield_per=5000)):
            merged: dict[str, float] = {}
            for by_scorer in (scores or {}).values():
                for label, value in by_scorer.items():
                    merged[label] = max(value, merged.get(label, 0.0))
            for label, value in merged.items():
                values, truth = by_label.setdefault(label, ([], []))
                values.append(value)
                truth.append(int(status == "rejected"))
    out = []
    for label, (values, truth) in sorted(by_label.items()):
        threshold, precision, recall, flagged = threshold_for_precision(values, truth, target, min_support)
        out.append(Suggestion(label, threshold, precision, recall, flagged, sum(truth), len(truth)))
    return out
