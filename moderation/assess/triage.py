"""Triage policy: evidence (rule hits, scores, failures) -> approve / hold / reject, priority, explanation."""
from __future__ import annotations

from dataclasses import dataclass, field

from moderation.assess.risk import combine
from moderation.domain.comments import AUTHOR_REASONS, Action
from moderation.rules import Evaluation, Hit
from moderation.rules.schema import Policy

VERBS = {Action.APPROVE: "Approved", Action.HOLD: "Held for review", Action.REJECT: "Rejected"}


@dataclass
class Verdict:
    decision: Action
    priority: int  # 0-100, queue order: highest first
    risk: float  # 0-1, graded: rules, models, author history, thread heat (assess/risk.py)
    explanation: str
    flagged: bool = False  # published, but a rule hit it (pre-moderation "none" / "new_authors")
    acting: list[Hit] = field(default_factory=list)  # the hits that decided
    evidence: dict = field(default_factory=dict)  # risk parts; the author state and reason code that decided


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
           risk_scores: dict[str, float] | None = None, author_rejected: int | None = None,
           author_state: str | None = None, author_state_note: str = "", thread_heat: float = 0.0,
           model_scores: dict[str, dict[str, float]] | None = None, reports: float = 0.0) -> Verdict:
    """The decision for one comment. Reject needs confident evidence; missing evidence never approves.

    The author's state on the site comes first: banned or suspended authors' comments are rejected, pre-moderated
    ones always held (a confident reject still rejects); a trusted author's clean comment is approved, while one
    with a rule hit or missing evidence is judged like anyone's."""
    # Per scorer when the pipeline gives them; a single merged set counts as one scorer.
    per_scorer = model_scores if model_scores is not None else {"merged": risk_scores} if risk_scores else None
    parts = combine(ev.hits, per_scorer, author_approved=author_approved, author_rejected=author_rejected,
                    heat=thread_heat, reports=reports)
    evidence: dict = {"risk": parts.to_dict()}
    if author_state:
        evidence["author_state"] = author_state
    verdict = _judge(ev, policy, list(scorer_errors), author_approved, premoderation, author_state,
                     author_state_note, parts.risk, evidence)
    verdict.evidence = evidence
    return verdict


def _judge(ev: Evaluation, policy: Policy, scorer_errors: list[str], author_approved: int | None,
           premoderation: str | None, state: str | None, note: str, risk: float, evidence: dict) -> Verdict:
    mode = premoderation or policy.premoderation
    hold_only = set(policy.hold_only)
    why = f" ({note})" if note else ""

    if state in ("banned", "suspended"):
        code = evidence["reason_code"] = f"author-{state}"
        return Verdict(Action.REJECT, 0, risk, f"{VERBS[Action.REJECT]}: {AUTHOR_REASONS[code]}{why}")

    rejecting = [h for h in ev.hits if h.action == "reject" and h.rule_id not in hold_only]
    confidence = _noisy_or([h.confidence for h in rejecting])
    if rejecting and confidence >= policy.reject_at:
        lines = "; ".join(_describe(h) for h in rejecting)
        return Verdict(Action.REJECT, max(h.priority for h in rejecting), risk,
                       f"{VERBS[Action.REJECT]} (confidence {confidence:.2f} ≥ {policy.reject_at:.2f}): {lines}",
                       acting=rejecting)

    # Reject hits below the confidence bar, and hold_only rules, go to a human like any hold.
    holding = [h for h in ev.hits if h.action in ("hold", "reject")]
    approving = [h for h in ev.hits if h.action == "approve"]
    problems = scorer_errors + [f"{f['rule']}: {f['error']}" for f in ev.failures]
    if problems:
        reasons = "; ".join(problems)
        lines = "; ".join(_describe(h) for h in holding)
        text = f"{VERBS[Action.HOLD]}: evidence incomplete ({reasons})" + (f"; also {lines}" if lines else "")
        return Verdict(Action.HOLD, max([90, *(h.priority for h in holding)]), risk, text, acting=holding)

    top_hold = max((h.priority for h in holding), default=-1)
    lines = "; ".join(_describe(h) for h in sorted(holding, key=lambda h: -h.priority))
    if state == "premoderated":
        evidence["reason_code"] = "author-premoderated"
        text = f"{VERBS[Action.HOLD]}: {AUTHOR_REASONS['author-premoderated']}{why}" + (f"; {lines}" if lines else "")
        return Verdict(Action.HOLD, max(10, top_hold), risk, text, acting=holding)

    if approving and max(h.priority for h in approving) > top_hold:
        winner = max(approving, key=lambda h: h.priority)
        return Verdict(Action.APPROVE, 0, risk, f"{VERBS[Action.APPROVE]}: {_describe(winner)}", acting=[winner])

    if holding:
        if mode == "none":
            return Verdict(Action.APPROVE, top_hold, risk, f"Published and flagged (no pre-moderation): {lines}",
                           flagged=True, acting=holding)
        return Verdict(Action.HOLD, top_hold, risk, f"{VERBS[Action.HOLD]}: {lines}", acting=holding)

    if state == "trusted":
        evidence["reason_code"] = "author-trusted"
        return Verdict(Action.APPROVE, 0, risk, f"{VERBS[Action.APPROVE]}: {AUTHOR_REASONS['author-trusted']}{why}")
    if mode == "all":
        return Verdict(Action.HOLD, 10, risk, f"{VERBS[Action.HOLD]}: every comment is reviewed before publication")
    if mode == "new_authors" and (author_approved or 0) < policy.new_author_approvals:
        return Verdict(Action.HOLD, 10, risk, f"{VERBS[Action.HOLD]}: new author ({author_approved or 0} of "
                                              f"{policy.new_author_approvals} approved comments)")
    return Verdict(Action.APPROVE, 0, risk, f"{VERBS[Action.APPROVE]}: no rule applies")
