"""Compiling a validated rule file: conditions become matchers, and the whole an immutable RuleSet."""
from __future__ import annotations

from types import MappingProxyType
from typing import Iterator, Mapping

import regex

from moderation.domain.links import find_links, host_matches
from moderation.domain.text import caps_ratio, repeated_run
from moderation.rules import schema as s
from moderation.rules.addressing import Addressing
from moderation.rules.context import CommentContext, Span, Unavailable
from moderation.rules.engine import CompiledRule, Match, Matcher, Needs, RuleSet
from moderation.rules.matcher import ListMatcher
from moderation.rules.wordlists import WordList

# Relative cost of deciding each kind of condition, for ordering the parts of an `all`.
COST = {"model": 0, "language": 0, "length": 0, "author": 0, "caps": 1, "repetition": 2, "links": 3,
        "regex": 3, "words": 4, "emoji": 4, "not": 5, "any": 6, "all": 6, "addressed": 7}


# Conditions that may raise Unavailable (a missing score, a pattern out of time): a failure is recorded, so a
# rule holding one is never skipped on the strength of a list part.
RAISING = frozenset({"model", "regex"})


class RuleCompileError(ValueError):
    """A rule that is valid YAML and schema but cannot be compiled."""

    def __init__(self, index: int, rule_id: str, message: str) -> None:
        super().__init__(f"rule {rule_id}: {message}")
        self.index, self.rule_id, self.message = index, rule_id, message


def _union(matches: list[Match]) -> list[Span]:
    return sorted({sp for m in matches for sp in m.spans})


def _kinds(addressed: str | tuple[str, ...] | None) -> frozenset[str]:
    if addressed is None:
        return frozenset()
    kinds = {addressed} if isinstance(addressed, str) else set(addressed)
    return frozenset({"second_person", "reply", "named"} if "any" in kinds else kinds)


def walk(cond: object) -> Iterator[tuple[str, object]]:
    """Every condition inside `cond`, itself included, as (kind, value)."""
    kind = s._condition_key(cond)
    value = getattr(cond, "not_" if kind == "not" else kind)
    yield kind, value
    if kind in ("all", "any"):
        for part in value:
            yield from walk(part)
    elif kind == "not":
        yield from walk(value)


def threshold(policy: s.Policy, label: str, above: float | str | None) -> float:
    """The number a model condition compares with: its own, or the policy's level for the label."""
    if isinstance(above, (int, float)):
        return float(above)
    configured = policy.thresholds.get(label)
    if configured is None:
        raise KeyError(f"no threshold for label {label!r}: give 'above' or set policy.thresholds.{label}")
    if isinstance(configured, (int, float)):
        if above not in (None, "hold"):
            raise KeyError(f"policy.thresholds.{label} is a single number; there is no {above!r} level")
        return float(configured)
    name = above or "hold"
    if name not in configured:
        raise KeyError(f"policy.thresholds.{label} has no level {name!r}")
    return float(configured[name])


def build_ruleset(spec: s.RuleSetFile, wordlists: Mapping[str, Mapping[str, WordList]], version: str,
                  files: Mapping[str, str], path: str | None) -> RuleSet:
    """Compile every rule of a validated file; raises RuleCompileError naming the first rule that fails."""
    default_language = spec.default_language or (spec.languages[0] if spec.languages else "de")
    found = [kv for rule in spec.rules for kv in walk(rule.when)]
    inline = [v.terms for kind, v in found if kind == "words"] + [v.set for kind, v in found if kind == "emoji"]
    lists = ListMatcher(wordlists, default_language, inline)
    hosts = tuple(sorted({d for kind, v in found if kind == "links" for d in v.domains}))
    labels = frozenset(v.label for kind, v in found if kind == "model")
    compiler = Compiler(lists, Addressing(lists), spec.policy, hosts)
    compiled = []
    for index, rule in enumerate(spec.rules):
        try:
            compiled.append(CompiledRule(rule, compiler.compile(rule.when), compiler.needs(rule.when)))
        except Exception as exc:  # noqa: BLE001 - unknown list, bad pattern, missing threshold
            raise RuleCompileError(index, rule.id, exc.args[0] if exc.args else str(exc)) from exc
    return RuleSet(spec, tuple(compiled), lists, version, MappingProxyType(dict(files)), path, hosts, labels)


class Compiler:
    """Turns schema conditions into matchers bound to one rule set's word lists and policy."""

    def __init__(self, lists: ListMatcher, addressing: Addressing, policy: s.Policy,
                 hosts: tuple[str, ...]) -> None:
        self.lists, self.addressing, self.policy, self.hosts = lists, addressing, policy, hosts

    def compile(self, cond: object) -> Matcher:
        kind = s._condition_key(cond)
        value = getattr(cond, "not_" if kind == "not" else kind)
        return getattr(self, f"_{kind}")(value)

    def needs(self, cond: object) -> Needs:
        """The list slots whose marks a condition cannot match without, as an and-of-ors: the condition
        can match only if, for every set returned, the automaton marked a word of some slot in it. Empty:
        no such bound (a score, a link, a `not` ... may match on their own; and an `all` with a part that may
        fail, since the failure is recorded whatever the lists say)."""
        kind = s._condition_key(cond)
        value = getattr(cond, "not_" if kind == "not" else kind)
        if kind in ("words", "emoji"):
            names = (value.list,) if isinstance(value.list, str) else tuple(value.list or ())
            inline = self.lists.inline(value.terms if kind == "words" else value.set)
            return (self.lists.slots(names, inline),)
        if kind == "all":  # every part must match: every part's bound holds
            if any(k in RAISING for part in value for k, _ in walk(part)):
                return ()  # a score or pattern part may fail (Unavailable) before a list part says no
            return tuple(dict.fromkeys(bound for part in value for bound in self.needs(part)))
        if kind == "any":  # some part must match: one bound per part, joined; a part without a bound frees all
            bounds = [self.needs(part) for part in value]
            if not all(bounds):
                return ()
            return (frozenset().union(*(slots for bound in bounds for slots in bound)),)
        return ()

    # -- combinators -------------------------------------------------------------------------
    def _all(self, conds: tuple) -> Matcher:
        # Cheapest first: a failing score or language check spares tokenising the text at all.
        parts = [self.compile(c) for c in sorted(conds, key=lambda c: COST.get(s._condition_key(c), 5))]

        def match(ctx: CommentContext) -> Match | None:
            found = []
            for part in parts:
                m = part(ctx)
                if m is None:
                    return None
                found.append(m)
            weakest = min(found, key=lambda m: m.score)
            return Match(_union(found), weakest.score, weakest.threshold,
                         "; ".join(m.detail for m in found if m.detail))
        return match

    def _any(self, conds: tuple) -> Matcher:
        parts = [self.compile(c) for c in conds]

        def match(ctx: CommentContext) -> Match | None:
            found, missing = [], None
            for part in parts:
                try:
                    m = part(ctx)
                except Unavailable as exc:
                    missing = exc
                    continue
                if m is not None:
                    found.append(m)
            if not found:
                if missing is not None:
                    raise missing
                return None
            strongest = max(found, key=lambda m: m.score)
            return Match(_union(found), strongest.score, strongest.threshold,
                         "; ".join(m.detail for m in found if m.detail))
        return match

    def _not(self, cond: object) -> Matcher:
        part = self.compile(cond)
        return lambda ctx: Match() if part(ctx) is None else None

    # -- words, emoji and whom they address ----------------------------------------------------
    def _words(self, spec: s.WordsSpec) -> Matcher:
        names = (spec.list,) if isinstance(spec.list, str) else tuple(spec.list or ())
        inline = self.lists.inline(spec.terms)
        return self._listed(names, inline, spec.languages, _kinds(spec.addressed), spec.window, spec.min_count)

    def _emoji(self, spec: s.EmojiSpec) -> Matcher:
        names = (spec.list,) if spec.list else ()
        inline = self.lists.inline(spec.set)
        return self._listed(names, inline, "all", _kinds(spec.addressed), spec.window, spec.min_count)

    def _listed(self, names: tuple[str, ...], inline: WordList | None, languages: str, kinds: frozenset[str],
                window: int, min_count: int) -> Matcher:
        lists, addressing = self.lists, self.addressing
        for name in names:
            lists.require(name)

        slots = lists.slots(names, inline)

        def match(ctx: CommentContext) -> Match | None:
            marked = lists.marked_slots(ctx)
            if marked is not None and marked.isdisjoint(slots):
                return None  # the automaton marked no word of these lists: nothing to look up
            hits = [h for name in names for h in lists.hits(ctx, name, languages)]
            if inline is not None:
                hits += lists.inline_hits(ctx, inline)
            if not hits:
                return None
            spans = []
            count = 0
            for first, last, entry in hits:
                if kinds:
                    target = addressing.addressee(ctx, first, last, kinds, window)
                    if target is None:
                        continue
                    if target.text:
                        spans.append(target)
                spans.append(ctx.span(first, last, entry))
                count += 1
            if count < min_count:
                return None
            return Match(sorted(set(spans)), detail=", ".join(sorted({sp.label for sp in spans})))
        return match

    def _addressed(self, spec: str | tuple[str, ...]) -> Matcher:
        kinds = _kinds(spec)

        def match(ctx: CommentContext) -> Match | None:
            marks = [m for m in self.addressing.marks(ctx) if m[1] in kinds]
            if "reply" in kinds and ctx.is_reply:
                return Match([sp for _, _, sp in marks], detail="reply")
            return Match([sp for _, _, sp in marks], detail="addressed") if marks else None
        return match

    # -- links, patterns and shape -------------------------------------------------------------
    def _links(self, spec: s.LinksSpec) -> Matcher:
        hosts = self.hosts

        def match(ctx: CommentContext) -> Match | None:
            links = ctx.cache.get("links")
            if links is None:
                links = ctx.cache["links"] = find_links(ctx.text, hosts)
            spans = []
            for link in links:
                if spec.obfuscated_only and not link.obfuscated:
                    continue
                domain = host_matches(link.host, spec.domains) if spec.domains else link.host
                if domain:
                    spans.append(Span(link.start, link.end, ctx.text[link.start:link.end], domain))
            if len(spans) < spec.min_count:
                return None
            return Match(spans, detail=", ".join(sorted({sp.label for sp in spans})))
        return match

    def _regex(self, spec: s.RegexSpec) -> Matcher:
        pattern = regex.compile(spec.pattern, (regex.IGNORECASE if spec.ignore_case else 0) | regex.V1)
        timeout = spec.timeout_ms / 1000

        def match(ctx: CommentContext) -> Match | None:
            try:
                spans = [Span(m.start(), m.end(), m.group(), spec.pattern)
                         for m in pattern.finditer(ctx.text, timeout=timeout)]
            except TimeoutError:
                raise Unavailable(f"pattern ran longer than {spec.timeout_ms} ms") from None
            return Match(spans, detail="pattern") if spans else None
        return match

    def _language(self, langs: tuple[str, ...]) -> Matcher:
        wanted = frozenset(langs)
        return lambda ctx: Match(detail=f"language {ctx.language}") if ctx.language in wanted else None

    def _length(self, spec: s.LengthSpec) -> Matcher:
        def match(ctx: CommentContext) -> Match | None:
            n = len(ctx.text)
            if spec.above is not None and n > spec.above:
                return Match(detail=f"{n} characters > {spec.above}")
            if spec.below is not None and n < spec.below:
                return Match(detail=f"{n} characters < {spec.below}")
            return None
        return match

    def _caps(self, spec: s.CapsSpec) -> Matcher:
        needed = int(spec.min_letters * spec.ratio_above)  # fewer capitals than this can never qualify

        def match(ctx: CommentContext) -> Match | None:
            ratio, letters = caps_ratio(ctx.text, needed, spec.ratio_above)
            if letters >= spec.min_letters and ratio > spec.ratio_above:
                return Match(detail=f"{ratio:.0%} capitals")
            return None
        return match

    def _repetition(self, spec: s.RepetitionSpec) -> Matcher:
        def match(ctx: CommentContext) -> Match | None:
            run = repeated_run(ctx.text, spec.run_above + 1)
            return Match(detail=f"“{run[:12]}” repeated {len(run)} times") if run else None
        return match

    # -- scores and authors --------------------------------------------------------------------
    def _model(self, spec: s.ModelSpec) -> Matcher:
        limit = threshold(self.policy, spec.label, spec.above)

        def match(ctx: CommentContext) -> Match | None:
            if ctx.scores is None or spec.label not in ctx.scores:
                raise Unavailable(f"no score for label {spec.label!r}")
            score = ctx.scores[spec.label]
            if score < limit:
                return None
            return Match(score=score, threshold=limit, detail=f"{spec.label} {score:.2f} ≥ {limit:.2f}")
        return match

    def _author(self, spec: s.AuthorSpec) -> Matcher:
        def match(ctx: CommentContext) -> Match | None:
            approved, rejected = ctx.author_approved or 0, ctx.author_rejected or 0
            if spec.approved_below is not None and approved < spec.approved_below:
                return Match(detail=f"author has {approved} approved comments")
            total = approved + rejected
            if spec.rejected_ratio_above is not None and total and rejected / total > spec.rejected_ratio_above:
                return Match(detail=f"author's rejection rate {rejected / total:.0%}")
            return None
        return match
