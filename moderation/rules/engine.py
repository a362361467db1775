"""A compiled rule set: evaluates comments into hits, each tied to the site's stated rule with spans."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from moderation.rules.conditions import ADDRESS_LISTS, Compiler, Matcher, fold_names
from moderation.rules.context import CommentContext, Span, Unavailable
from moderation.rules.scan import FULL, Scanner
from moderation.rules.schema import ExampleCase, Rule, RuleSetFile
from moderation.rules.wordlists import WordList

_CLAUSE_BREAK = frozenset(",.;:!?…\n–—(")


class RuleCompileError(ValueError):
    """A rule that is valid YAML and schema but cannot be compiled."""

    def __init__(self, index: int, rule_id: str, message: str) -> None:
        super().__init__(f"rule {rule_id}: {message}")
        self.index, self.rule_id, self.message = index, rule_id, message


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


@dataclass
class CompiledRule:
    rule: Rule
    matcher: Matcher


@dataclass
class ExampleFailure:
    rule_id: str
    expected: str  # match | no_match
    text: str
    error: str = ""

    def __str__(self) -> str:
        why = f" ({self.error})" if self.error else ""
        return f"rule {self.rule_id}: expected {self.expected.replace('_', ' ')} on {self.text!r}{why}"


class RuleSet:
    """Rules, policy and word lists of one site, compiled; `version` is the content hash."""

    def __init__(self, spec: RuleSetFile, wordlists: dict[str, dict[str, WordList]], version: str,
                 files: dict[str, str] | None = None, path: str | None = None) -> None:
        self.spec = spec
        self.policy = spec.policy
        self.languages = spec.languages
        self.default_language = spec.default_language or (spec.languages[0] if spec.languages else "de")
        self.wordlists = wordlists
        self.scanner = Scanner(wordlists)
        self.version = version
        self.files = files or {}
        self.path = path
        self.known_hosts: set[str] = set()  # link domains the rules name, also found when spaced out
        self.model_labels: set[str] = set()  # score labels the rules read
        self._detector = None
        compiler = Compiler(self)
        self.rules = []
        for index, rule in enumerate(spec.rules):
            try:
                self.rules.append(CompiledRule(rule, compiler.compile(rule.when)))
            except Exception as exc:  # noqa: BLE001 - unknown list, bad pattern, missing threshold
                raise RuleCompileError(index, rule.id, exc.args[0] if exc.args else str(exc)) from exc
        self.hosts = tuple(sorted(self.known_hosts))

    # -- helpers used by the compiled conditions ------------------------------------------------
    def require_list(self, name: str) -> None:
        if name not in self.wordlists:
            raise KeyError(f"no word list named {name!r} (expected wordlists/<language>/{name}.txt)")

    def inline_list(self, terms: Iterable[str]) -> WordList | None:
        terms = tuple(terms)
        if not terms:
            return None
        return WordList.parse("inline", self.default_language, "\n".join(terms))

    def threshold(self, label: str, above: float | str | None) -> float:
        if isinstance(above, (int, float)):
            return float(above)
        configured = self.policy.thresholds.get(label)
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

    def list_hits(self, ctx: CommentContext, name: str, languages: str = "comment") -> list[tuple[int, int, str]]:
        key = ("list", name, languages)
        found = ctx.cache.get(key)
        if found is None:
            if "scan" not in ctx.cache:
                ctx.cache["scan"] = self.scanner(ctx.text)
            maybe = ctx.cache["scan"]
            if maybe is not FULL and all(listed != name for listed, _ in maybe):
                found = ctx.cache[key] = []  # most comments: the scan rules the list out, no tokens needed
                return found
            by_lang = self.wordlists.get(name, {})
            if languages == "comment" and ctx.language in by_lang:
                lists = [(ctx.language, by_lang[ctx.language])] + (
                    [("common", by_lang["common"])] if "common" in by_lang else [])
            else:
                lists = list(by_lang.items())
            found = ctx.cache[key] = [h for lang, wl in lists if maybe is FULL or (name, lang) in maybe
                                      for h in wl.find(ctx.tokens)]
        return found

    def address_marks(self, ctx: CommentContext) -> list[tuple[int, str, Span]]:
        """Where the comment addresses someone: (token index, second_person | named, span)."""
        marks = ctx.cache.get("address")
        if marks is not None:
            return marks
        marks = []
        toks = ctx.tokens
        for name, kind in ADDRESS_LISTS.items():
            if name not in self.wordlists:
                continue
            for first, last, _entry in self.list_hits(ctx, name):
                nxt = last + 1
                named_next = nxt < len(toks) and ctx.capitalised(nxt) and self._joined(ctx, last, nxt)
                if name == "formal_address":
                    # "…, dass Sie lügen" is formal address; "Sie lügen." could be "they", so not at a start.
                    if not ctx.capitalised(first) or self._opens_clause(ctx, first):
                        continue
                elif name == "vocatives":
                    # ", lieber Jan," and "…, liebe Heuchler" address someone; "die liebe Familie" does not.
                    if not self._opens_clause(ctx, first):
                        continue
                    if named_next:
                        last = nxt
                    elif nxt < len(toks) and not self._ends_clause(ctx, last):
                        continue
                elif name in ("honorifics", "first_names"):
                    # "Herr Maier", "Andy Jassy": a capitalised name right after, in the same sentence.
                    if not named_next or (name == "first_names" and not ctx.capitalised(first)):
                        continue
                    last = nxt
                marks.append((first, kind, ctx.span(first, last, kind)))
        names = fold_names(ctx.thread_authors + ((ctx.parent_author,) if ctx.parent_author else ()))
        for i, tok in enumerate(toks):
            if tok.kind == "mention" or (names and tok.norm in names and ctx.capitalised(i)):
                marks.append((i, "named", ctx.span(i, i, "named")))
        ctx.cache["address"] = marks
        return marks

    @staticmethod
    def _between(ctx: CommentContext, left: int, right: int) -> str:
        return ctx.text[ctx.tokens[left].end:ctx.tokens[right].start]

    def _joined(self, ctx: CommentContext, left: int, right: int) -> bool:
        """Two tokens of one name: only spaces between, or the dot of an abbreviation ("Mr. Smith")."""
        gap = self._between(ctx, left, right).strip()
        return gap == "" or (gap == "." and len(ctx.tokens[left].norm) <= 4)

    def _opens_clause(self, ctx: CommentContext, index: int) -> bool:
        return index == 0 or any(c in _CLAUSE_BREAK for c in self._between(ctx, index - 1, index))

    def _ends_clause(self, ctx: CommentContext, index: int) -> bool:
        return any(c in _CLAUSE_BREAK for c in self._between(ctx, index, index + 1))

    def addressee(self, ctx: CommentContext, first: int, last: int, kinds: frozenset[str],
                  window: int) -> Span | None:
        """The nearest mark within `window` tokens that the words at first..last are aimed at."""
        if "reply" in kinds and ctx.is_reply:
            return Span(0, 0, "", "reply")
        best = None
        for index, kind, span in self.address_marks(ctx):
            if kind not in kinds:
                continue
            distance = 0 if first <= index <= last else min(abs(index - first), abs(index - last))
            if distance <= window and (best is None or distance < best[0]):
                best = (distance, span)
        return best[1] if best else None

    # -- evaluation ------------------------------------------------------------------------------
    def evaluate(self, ctx: CommentContext) -> Evaluation:
        result = Evaluation()
        for compiled in self.rules:
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
        if case.lang is None and self._detector is None:
            from moderation.domain.language import LanguageDetector  # noqa: PLC0415 - only examples need it here

            self._detector = LanguageDetector(self.languages, self.default_language)
        language = case.lang or self._detector.detect(case.text).language
        scores = {label: 0.0 for label in self.model_labels} | dict(case.scores)
        return CommentContext(case.text, language=language,
                              is_reply=case.reply_to is not None or case.parent_author is not None,
                              parent_text=case.reply_to, parent_author=case.parent_author,
                              author=case.author, scores=scores)

    def test_examples(self) -> tuple[int, list[ExampleFailure]]:
        """Run every rule's own examples; returns (examples run, failures)."""
        failures: list[ExampleFailure] = []
        count = 0
        for compiled in self.rules:
            ex = compiled.rule.examples
            for expected, cases in (("match", ex.match), ("no_match", ex.no_match)):
                for case in cases:
                    count += 1
                    try:
                        matched = compiled.matcher(self.context_for(case)) is not None
                    except Unavailable as exc:
                        failures.append(ExampleFailure(compiled.rule.id, expected, case.text, str(exc)))
                        continue
                    if matched != (expected == "match"):
                        failures.append(ExampleFailure(compiled.rule.id, expected, case.text))
        return count, failures

    def rule(self, rule_id: str) -> Rule:
        return next(c.rule for c in self.rules if c.rule.id == rule_id)
