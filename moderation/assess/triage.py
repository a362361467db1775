"""Triage policy: evidence (rule hits, scores, failures) -> approve / hold / reject, priority, explanation."""
from __future__ import annotations

from dataclasses import dataclass, field

from moderation.domain.comments import Action
from moderation.rules import Evaluation, Hit
from moderation.rules.schema import Policy

VERBS = {Action.APPROVE: "Approved", Action.HOLD: "Held for review", Action.REJECT: "Rejected"}


@dataclass
class Verdict:
    decision: Action
    priority: int  # 0-100, queue order: highest first
    risk: float  # 0-1, the strongest evidence against the comment
    explanation: str
    flagged: bool = False  # published, but a rule hit it (pre-moderation "none" / "new_authors")
    acting: list[Hit] = field(default_factory=list)  # the hits that decided


def _noisy_or(values: list[float]) -> float:
    keep = 1.0
    for v in values:
        keep *= 1.0 - v
    return 1.0 - keep


def _describe(hit: Hit) -> str:
    spans = ", ".join(f"“{sp.text}”" for sp in hit.spans[:4] if sp.text)
    parts = [f"{hit.rule_id}: «{hit.stated_rule}»"]
    if spans:
        parts.append(f"at {spans}")
    if hit.threshold is not None:
        parts.append(f"score {hit.score:.2f} ≥ {hit.threshold:.2f}")
    elif hit.detail and not spans:
        parts.append(hit.detail)
    return " ".join(parts)


def decide(ev: Evaluation, policy: Policy, *, scorer_errors: list[str] = (),
           author_approved: int | None = None, premoderation: str | None = None,
           risk_scores: dict[str, float] | None = None) -> Verdict:
    """The decision for one comment. Reject needs confident evidence; missing evidence never approves."""
    mode = premoderation or policy.premoderation
    hold_only = set(policy.hold_only)
    risk = max([*(risk_scores or {}).values(), *(h.confidence for h in ev.hits if h.action != "approve")],
               default=0.0)

    rejecting = [h for h in ev.hits if h.action == "reject" and h.rule_id not in hold_only]
    confidence = _noisy_or([h.confidence for h in rejecting])
    if rejecting and confidence >= policy.reject_at:
        lines = "; ".join(_describe(h) for h in rejecting)
        return Verdict(Action.REJECT, max(h.priority for h in rejecting), max(risk, confidence),
                       f"{VERBS[Action.REJECT]} (confidence {confidence:.2f} ≥ {policy.reject_at:.2f}): {lines}",
                       acting=rejecting)

    # Reject hits below the confidence bar, and hold_only rules, go to a human like any hold.
    holding = [h for h in ev.hits if h.action in ("hold", "reject")]
    approving = [h for h in ev.hits if h.action == "approve"]
    problems = list(scorer_errors) + [f"{f['rule']}: {f['error']}" for f in ev.failures]
    if problems:
        why = "; ".join(problems)
        lines = "; ".join(_describe(h) for h in holding)
        text = f"{VERBS[Action.HOLD]}: evidence incomplete ({why})" + (f"; also {lines}" if lines else "")
        return Verdict(Action.HOLD, max([90, *(h.priority for h in holding)]), risk, text, acting=holding)

    top_hold = max((h.priority for h in holding), default=-1)
    if approving and max(h.priority for h in approving) > top_hold:
        winner = max(approving, key=lambda h: h.priority)
        return Verdict(Action.APPROVE, 0, risk, f"{VERBS[Action.APPROVE]}: {_describe(winner)}", acting=[winner])

    if holding:
        lines = "; ".join(_describe(h) for h in sorted(holding, key=lambda h: -h.priority))
        if mode == "none":
            return Verdict(Action.APPROVE, top_hold, risk, f"Published and flagged (no pre-moderation): {lines}",
                           flagged=True, acting=holding)
        return Verdict(Action.HOLD, top_hold, risk, f"{VERBS[Action.HOLD]}: {lines}", acting=holding)

    if mode == "all":
        return Verdict(Action.HOLD, 10, risk, f"{VERBS[Action.HOLD]}: every comment is reviewed before publication")
    if mode == "new_authors" and (author_approved or 0) < policy.new_author_approvals:
        return Verdict(Action.HOLD, 10, risk, f"{VERBS[Action.HOLD]}: new author ({author_approved or 0} of "
                                              f"{policy.new_author_approvals} approved comments)")
    return Verdict(Action.APPROVE, 0, risk, f"{VERBS[Action.APPROVE]}: no rule applies")
