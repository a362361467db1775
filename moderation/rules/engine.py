"""A compiled rule set: evaluates comments into hits, each tied to the site's stated rule with spans."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

from moderation.rules.addressing import Addressing, Mark
from moderation.rules.context import CommentContext, Span, Unavailable
from moderation.rules.examples import ExampleFailure, context_for, run_examples
from moderation.rules.matcher import Found, ListMatcher
from moderation.rules.schema import ExampleCase, Policy, Rule, RuleSetFile
from moderation.rules.wordlists import WordList


@dataclass
class Match:
    """What a condition found in one comment."""

    spans: list[Span] = field(default_factory=list)
    score: float = 1.0
    threshold: float | None = None
    detail: str = ""


Matcher = Callable[[CommentContext], "Match | None"]
Needs = tuple[frozenset[int], ...]  # list slots: a rule matches only if each set has a slot the automaton marked


@dataclass
class Hit:
    """One rule that matched one comment, with everything a moderator needs to see why."""

    rule_id: str
    stated_rule: str
    action: str
    reason: str | None
    priority: int
    confidence: float
    spans: list[Span]
    score: float
    threshold: float | None
    detail: str
    experimental: bool = False

    def to_dict(self) -> dict:
        return {"rule": self.rule_id, "stated_rule": self.stated_rule, "action": self.action,
                "reason": self.reason, "priority": self.priority, "confidence": round(self.confidence, 4),
                "spans": [sp.to_dict() for sp in self.spans], "score": round(self.score, 4),
                "threshold": self.threshold, "detail": self.detail, "experimental": self.experimental}


@dataclass
class Evaluation:
    hits: list[Hit] = field(default_factory=list)
    shadow_hits: list[Hit] = field(default_factory=list)  # experimental rules: recorded, never acted on
    failures: list[dict] = field(default_factory=list)  # conditions that could not be decided


_UNLOOKED = object()


@dataclass(frozen=True)
class CompiledRule:
    rule: Rule
    matcher: Matcher
    needs: Needs = ()  # empty: no bound, always evaluated


@dataclass(frozen=True, eq=False)  # compared and hashed by identity, as before
class RuleSet:
    """Rules, policy and word lists of one site, compiled and immutable; `version` is the content hash."""

    spec: RuleSetFile
    rules: tuple[CompiledRule, ...]
    lists: ListMatcher
    version: str
    files: Mapping[str, str]  # read-only view: {relative path: text}
    path: str | None
    hosts: tuple[str, ...]  # link domains the rules name, also found when spaced out
    model_labels: frozenset[str]  # score labels the rules read
    addressing: Addressing = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "addressing", Addressing(self.lists))  # derived, set once while frozen

    @property
    def policy(self) -> Policy:
        return self.spec.policy

    @property
    def languages(self) -> tuple[str, ...]:
        return self.spec.languages

    @property
    def default_language(self) -> str:
        return self.lists.default_language

    @property
    def wordlists(self) -> Mapping[str, Mapping[str, WordList]]:
        return self.lists.wordlists

    # -- lookups the scorers share with the rules ----------------------------------------------
    def list_hits(self, ctx: CommentContext, name: str, languages: str = "comment") -> list[Found]:
        return self.lists.hits(ctx, name, languages)

    def address_marks(self, ctx: CommentContext) -> list[Mark]:
        """Where the comment addresses someone: (token index, second_person | named, span)."""
        return self.addressing.marks(ctx)

    def addressee(self, ctx: CommentContext, first: int, last: int, kinds: frozenset[str],
                  window: int) -> Span | None:
        """The nearest mark within `window` tokens that the words at first..last are aimed at."""
        return self.addressing.addressee(ctx, first, last, kinds, window)

    # -- evaluation ------------------------------------------------------------------------------
    def evaluate(self, ctx: CommentContext) -> Evaluation:
        result = Evaluation()
        marked: object = _UNLOOKED
        for compiled in self.rules:
            if compiled.needs:
                # One automaton pass decides every list-bound rule: a rule none of whose words were marked
                # cannot match (its matcher would return None), so it is not run at all.
                if marked is _UNLOOKED:
                    marked = self.lists.marked_slots(ctx)
                if marked is not None and any(marked.isdisjoint(slots) for slots in compiled.needs):
                    continue
            rule = compiled.rule
            try:
                match = compiled.matcher(ctx)
            except Unavailable as exc:
                result.failures.append({"rule": rule.id, "error": str(exc)})
                continue
            if match is None:
                continue
            hit = Hit(rule.id, rule.stated_rule, rule.action, rule.reason, rule.priority,
                      rule.confidence * match.score, match.spans, match.score, match.threshold, match.detail,
                      rule.status == "experimental")
            (result.shadow_hits if hit.experimental else result.hits).append(hit)
        return result

    def context_for(self, case: ExampleCase) -> CommentContext:
        """An example as the engine sees it: language detected unless given; unscored labels read 0."""
        return context_for(case, self.languages, self.default_language, self.model_labels)

    def test_examples(self) -> tuple[int, list[ExampleFailure]]:
        """Run every rule's own examples; returns (examples run, failures)."""
        return run_examples(self.rules, self.languages, self.default_language, self.model_labels)

    def rule(self, rule_id: str) -> Rule:
        return next(c.rule for c in self.rules if c.rule.id == rule_id)
