"""The rules' own examples (must match / must not match), run by `moderation rules test` and on activation."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterable, Protocol

from moderation.rules.context import CommentContext, Unavailable
from moderation.rules.schema import ExampleCase, Rule


class Compiled(Protocol):
    """A rule with its compiled condition (engine.CompiledRule)."""

    rule: Rule
    matcher: Callable[[CommentContext], object]


@dataclass(frozen=True)
class ExampleFailure:
    rule_id: str
    expected: str  # match | no_match
    text: str
    error: str = ""

    def __str__(self) -> str:
        why = f" ({self.error})" if self.error else ""
        return f"rule {self.rule_id}: expected {self.expected.replace('_', ' ')} on {self.text!r}{why}"


@lru_cache(maxsize=16)
def _detector(languages: tuple[str, ...], default: str):  # noqa: ANN202 - domain.language.LanguageDetector
    from moderation.domain.language import LanguageDetector  # noqa: PLC0415 - only examples need it here

    return LanguageDetector(languages, default)


def context_for(case: ExampleCase, languages: tuple[str, ...], default_language: str,
                model_labels: Iterable[str]) -> CommentContext:
    """An example as the engine sees it: language detected unless given; unscored labels read 0."""
    language = case.lang or _detector(tuple(languages), default_language).detect(case.text).language
    scores = {label: 0.0 for label in model_labels} | dict(case.scores)
    return CommentContext(case.text, language=language,
                          is_reply=case.reply_to is not None or case.parent_author is not None,
                          parent_text=case.reply_to, parent_author=case.parent_author,
                          author=case.author, scores=scores)


def run_examples(rules: Iterable[Compiled], languages: tuple[str, ...], default_language: str,
                 model_labels: Iterable[str]) -> tuple[int, list[ExampleFailure]]:
    """Run every rule's own examples; returns (examples run, failures)."""
    labels = tuple(model_labels)
    failures: list[ExampleFailure] = []
    count = 0
    for compiled in rules:
        ex = compiled.rule.examples
        for expected, cases in (("match", ex.match), ("no_match", ex.no_match)):
            for case in cases:
                count += 1
                try:
                    ctx = context_for(case, languages, default_language, labels)
                    matched = compiled.matcher(ctx) is not None
                except Unavailable as exc:
                    failures.append(ExampleFailure(compiled.rule.id, expected, case.text, str(exc)))
                    continue
                if matched != (expected == "match"):
                    failures.append(ExampleFailure(compiled.rule.id, expected, case.text))
    return count, failures
