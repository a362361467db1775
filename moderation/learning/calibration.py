"""Thresholds from moderators' decisions: per label, the lowest score that keeps a target precision."""
from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
from sklearn.metrics import precision_recall_curve
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

    Lower thresholds catch more; among the distinct scores (everything at one score is flagged together) that
    flag at least `min_support` items, the lowest one where precision still holds.
    """
    if not len(scores):
        return None, None, None, 0
    truth, values = np.asarray(labels, dtype=int), np.asarray(scores, dtype=float)
    with warnings.catch_warnings():  # no positives: recall is undefined, reported as None below
        warnings.filterwarnings("ignore", "No positive class found")
        precision, recall, thresholds = precision_recall_curve(truth, values)
    flagged = len(values) - np.searchsorted(np.sort(values), thresholds, side="left")
    hits = np.flatnonzero((flagged >= min_support) & (precision[:-1] >= target))
    if not hits.size:
        return None, None, None, 0
    i = hits[0]  # thresholds ascend: the first hit is the lowest
    return (round(float(thresholds[i]), 4), round(float(precision[i]), 4),
            round(float(recall[i]), 4) if truth.any() else None, int(flagged[i]))


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
