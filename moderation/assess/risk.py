"""Graded risk: rule severity and action, hit confidence, model scores, author history, thread heat, reader reports."""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from moderation.rules import Hit
from moderation.store.models import Comment

# A hold is a rule's own doubt ("a human should look"), so it weighs a little less than a reject of equal severity.
ACTION_WEIGHT = {"reject": 1.0, "hold": 0.85}
# How far each part beyond the rules can raise the risk at most: the rules' severity stays the backbone of the
# order, the rest grades comments within it (and ranks comments no rule hit).
WEIGHTS = {"model": 0.5, "author": 0.35, "heat": 0.2, "reports": 0.45}
# Beta prior for an author's rejection rate: a newcomer counts as 1 rejection in 10, and a few decisions
# move the rate only a little (one rejection of one is 2 in 11, not 100 %).
AUTHOR_PRIOR = (1.0, 10.0)
EXTRA_HITS = 0.3  # further hits close at most this share of the gap the most severe hit leaves
HEAT_PRIOR = 5.0  # a thread's share of held and rejected comments, as if 5 calm ones came first
REPORTS_HALF = 2.0  # weighted reader reports that make the reports part 0.5 (services/reports weighs them)


@dataclass(frozen=True)
class RiskParts:
    """Each part in 0–1 and the risk they combine to, kept so the card can explain the number."""

    rules: float  # the strongest acting hit (severity/100 × action weight × confidence), raised by the others
    model: float  # the scorers' mean of each one's highest risk-label score
    author: float  # the author's smoothed rejection rate on their other comments
    heat: float  # the smoothed share of the thread's other comments held or rejected
    risk: float
    reports: float = 0.0  # readers' reports, weighted by each reporter's record: n / (n + REPORTS_HALF)

    def to_dict(self) -> dict[str, float]:
        # Field by field: dataclasses.asdict deep-copies each value, a tenth of the triage policy's time.
        return {f.name: round(getattr(self, f.name), 4) for f in fields(self)}


def hit_strength(hit: Hit) -> float:
    """One hit's weight: how severe its rule is, how strongly it acts, how sure the hit is."""
    return hit.priority / 100 * ACTION_WEIGHT.get(hit.action, 0.0) * hit.confidence


def author_rate(approved: int | None, rejected: int | None) -> float:
    prior_rejected, prior_total = AUTHOR_PRIOR
    return ((rejected or 0) + prior_rejected) / ((approved or 0) + (rejected or 0) + prior_total)


def thread_heat(troubled: int, judged: int) -> float:
    """`troubled` of the thread's other `judged` comments are held or rejected."""
    return troubled / (judged + HEAT_PRIOR) if judged > 0 else 0.0


def report_part(weighted: float) -> float:
    """Reader reports weighted by their reporters' records (services/reports.weight), in 0-1."""
    return weighted / (weighted + REPORTS_HALF) if weighted > 0 else 0.0


def _noisy_or(values: Iterable[float]) -> float:
    keep = 1.0
    for v in values:
        keep *= 1.0 - min(max(v, 0.0), 1.0)
    return 1.0 - keep


def rule_part(hits: Iterable[Hit]) -> float:
    """The most severe hit sets the level; each further hit raises it a little, so one severe rule outranks
    a pile of mild ones."""
    strengths = sorted((hit_strength(h) for h in hits if h.action in ACTION_WEIGHT and not h.experimental),
                       reverse=True)
    if not strengths:
        return 0.0
    return strengths[0] + (1.0 - strengths[0]) * EXTRA_HITS * _noisy_or(strengths[1:])


def model_part(model_scores: Mapping[str, Mapping[str, float]] | None) -> float:
    """Per scorer its highest risk label, averaged: two models agreeing weigh more than one alone."""
    tops = [max(scores.values()) for scores in (model_scores or {}).values() if scores]
    return sum(tops) / len(tops) if tops else 0.0


def combine(hits: Iterable[Hit], model_scores: Mapping[str, Mapping[str, float]] | None = None, *,
            author_approved: int | None = None, author_rejected: int | None = None,
            heat: float = 0.0, reports: float = 0.0) -> RiskParts:
    """The risk of one comment (model_scores: scorer -> risk label -> score; reports: weighted reader reports):
    strictly rising in every part."""
    rules = rule_part(hits)
    model = model_part(model_scores)
    author = author_rate(author_approved, author_rejected)
    part = report_part(reports)
    return RiskParts(rules, model, author, heat, _combined(rules, model, author, heat, part), part)


def _combined(rules: float, model: float, author: float, heat: float, reports: float) -> float:
    return _noisy_or([rules, WEIGHTS["model"] * model, WEIGHTS["author"] * author, WEIGHTS["heat"] * heat,
                      WEIGHTS["reports"] * reports])


def with_reports(parts: Mapping[str, float], weighted: float) -> float:
    """A stored risk (its parts from the triage result's evidence) once `weighted` reader reports are in; with
    only the combined risk known, the reports part joins it."""
    part = report_part(weighted)
    if not {"rules", "model", "author", "heat"} <= parts.keys():
        return _noisy_or([float(parts.get("risk", 0.0)), WEIGHTS["reports"] * part])
    return _combined(parts["rules"], parts["model"], parts["author"], parts["heat"], part)


def ranking_auc(session: Session, source: str | None = None) -> dict[str, float | int | None]:
    """How well the stored risk orders moderators' decisions: the ROC AUC of risk against rejection over
    the comments a human decided (0.5 is chance; None while one of the two outcomes is missing)."""
    from sklearn.metrics import roc_auc_score  # noqa: PLC0415 - sklearn is slow to import; few callers need it

    query = select(Comment.risk, Comment.status).where(Comment.decided_by_human.is_(True),
                                                       Comment.status.in_(("approved", "rejected")),
                                                       Comment.triage_id.is_not(None))
    if source is not None:
        query = query.where(Comment.source == source)
    rows = session.execute(query).all()
    labels = [status == "rejected" for _, status in rows]
    rejected = sum(labels)
    auc = None
    if 0 < rejected < len(rows):
        auc = float(roc_auc_score(labels, [risk for risk, _ in rows]))
    return {"auc": auc, "decided": len(rows), "rejected": rejected}
