"""Triage policy: evidence (rule hits, scores, failures) -> approve / hold / reject, priority, explanation."""
from __future__ import annotations

from dataclasses import dataclass, field

from moderation.assess.explanation import Part, render, say
from moderation.assess.risk import combine
from moderation.domain.comments import AUTHOR_REASONS, Action
from moderation.domain.messages import N_
from moderation.rules import Evaluation, Hit
from moderation.rules.schema import Policy

VERBS = {Action.APPROVE: N_("Approved: %(why)s"), Action.HOLD: N_("Held for review: %(why)s"),
         Action.REJECT: N_("Rejected: %(why)s")}


@dataclass
class Verdict:
    decision: Action
    priority: int  # 0-100, queue order: highest first
    risk: float  # 0-1, graded: rules, models, author history, thread heat (assess/risk.py)
    because: Part  # the explanation as message parts, rendered in English here and in the reader's language on the desk
    flagged: bool = False  # published, but a rule hit it (pre-moderation "none" / "new_authors")
    acting: list[Hit] = field(default_factory=list)  # the hits that decided
    evidence: dict = field(default_factory=dict)  # risk parts; the author state and reason code that decided

    @property
    def explanation(self) -> str:
        """The explanation in English (API answers, the CLI, the event log)."""
        return render(self.because)


def _noisy_or(values: list[float]) -> float:
    keep = 1.0
    for v in values:
        keep *= 1.0 - v
    return 1.0 - keep


def _describe(hit: Hit) -> Part:
    spans = ", ".join(f"“{sp.text}”" for sp in hit.spans[:4] if sp.text)
    named = {"rule": hit.rule_id, "stated": hit.stated_rule}
    if hit.threshold is not None:
        return say(N_("%(rule)s: «%(stated)s» score %(score)s ≥ %(threshold)s"), **named, score=hit.score,
                   threshold=hit.threshold)
    if spans:
        return say(N_("%(rule)s: «%(stated)s» at %(spans)s"), **named, spans=spans)
    if hit.detail:
        return say(N_("%(rule)s: «%(stated)s» (%(detail)s)"), **named, detail=hit.detail)
    return say(N_("%(rule)s: «%(stated)s»"), **named)


def _verdict(action: Action, why: Part) -> Part:
    return say(VERBS[action], why=why)


def _lines(hits: list[Hit]) -> list[Part]:
    return [_describe(h) for h in hits]


def _author(code: str, note: str) -> Part:
    return say(N_("%(reason)s (%(note)s)") if note else "%(reason)s", reason=say(AUTHOR_REASONS[code]), note=note)


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
    evidence["because"] = verdict.because  # the desk renders it in the reader's language
    verdict.evidence = evidence
    return verdict


def _judge(ev: Evaluation, policy: Policy, scorer_errors: list[str], author_approved: int | None,
           premoderation: str | None, state: str | None, note: str, risk: float, evidence: dict) -> Verdict:
    mode = premoderation or policy.premoderation
    hold_only = set(policy.hold_only)

    if state in ("banned", "suspended"):
        code = evidence["reason_code"] = f"author-{state}"
        return Verdict(Action.REJECT, 0, risk, _verdict(Action.REJECT, _author(code, note)))

    rejecting = [h for h in ev.hits if h.action == "reject" and h.rule_id not in hold_only]
    confidence = _noisy_or([h.confidence for h in rejecting])
    if rejecting and confidence >= policy.reject_at:
        why = say(N_("confidence %(confidence)s ≥ %(bar)s: %(lines)s"), confidence=confidence, bar=policy.reject_at,
                  lines=_lines(rejecting))
        return Verdict(Action.REJECT, max(h.priority for h in rejecting), risk, _verdict(Action.REJECT, why),
                       acting=rejecting)

    # Reject hits below the confidence bar, and hold_only rules, go to a human like any hold.
    holding = [h for h in ev.hits if h.action in ("hold", "reject")]
    approving = [h for h in ev.hits if h.action == "approve"]
    problems = scorer_errors + [f"{f['rule']}: {f['error']}" for f in ev.failures]
    if problems:
        why = say(N_("evidence incomplete (%(problems)s)"), problems="; ".join(problems))
        if holding:
            why = say(N_("%(why)s; also %(lines)s"), why=why, lines=_lines(holding))
        return Verdict(Action.HOLD, max([90, *(h.priority for h in holding)]), risk, _verdict(Action.HOLD, why),
                       acting=holding)

    top_hold = max((h.priority for h in holding), default=-1)
    lines = _lines(sorted(holding, key=lambda h: -h.priority))
    if state == "premoderated":
        evidence["reason_code"] = "author-premoderated"
        why = _author("author-premoderated", note)
        return Verdict(Action.HOLD, max(10, top_hold), risk, _verdict(Action.HOLD, [why, *lines]), acting=holding)

    if approving and max(h.priority for h in approving) > top_hold:
        winner = max(approving, key=lambda h: h.priority)
        return Verdict(Action.APPROVE, 0, risk, _verdict(Action.APPROVE, _describe(winner)), acting=[winner])

    if holding:
        if mode == "none":
            return Verdict(Action.APPROVE, top_hold, risk,
                           say(N_("Published and flagged (no pre-moderation): %(lines)s"), lines=lines),
                           flagged=True, acting=holding)
        return Verdict(Action.HOLD, top_hold, risk, _verdict(Action.HOLD, lines), acting=holding)

    if state == "trusted":
        evidence["reason_code"] = "author-trusted"
        return Verdict(Action.APPROVE, 0, risk, _verdict(Action.APPROVE, _author("author-trusted", note)))
    if mode == "all":
        why = say(N_("every comment is reviewed before publication"))
        return Verdict(Action.HOLD, 10, risk, _verdict(Action.HOLD, why))
    if mode == "new_authors" and (author_approved or 0) < policy.new_author_approvals:
        why = say(N_("new author (%(approved)s of %(needed)s approved comments)"), approved=author_approved or 0,
                  needed=policy.new_author_approvals)
        return Verdict(Action.HOLD, 10, risk, _verdict(Action.HOLD, why))
    return Verdict(Action.APPROVE, 0, risk, _verdict(Action.APPROVE, say(N_("no rule applies"))))
