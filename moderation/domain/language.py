"""Per-comment language detection (langdetect), seeded, restricted to the site's languages, safe on any input."""
from __future__ import annotations

from dataclasses import dataclass
import re
from typing import Sequence

import regex

from moderation.domain import detector
from moderation.domain.text import letters_at_least

# Links, mentions, hashtags, numbers and emoji say nothing about the language; detection ignores them.
_NOISE = regex.compile(r"https?://\S+|www\.\S+|[@#]\w+|[^\p{L}\s]+", regex.V1)
# Below this many letters langdetect guesses, so the thread's or article's language is used instead.
# Choosing between a site's two or three languages works on much shorter texts than among all 55.
MIN_LETTERS = {"restricted": 10, "all": 25}
# Blanks the detector reads as one word break wherever they stand and however many (each is NGram.normalize'd to
# a space, and all are Latin for its script check): a run of them is one space in the cache key, so texts that
# differ only there share one entry. Others (U+0085, U+2000..., U+3000) count as non-Latin and stay as they are.
# The pattern leaves out runs that are one space already (most of a text's runs): no work to replace them.
_BLANKS = re.compile(r"[\t\n\x0b\x0c\r\x1c-\x1f\xa0][\t\n\x0b\x0c\r\x1c-\x1f \xa0]*|"
                     r" [\t\n\x0b\x0c\r\x1c-\x1f \xa0]+")
MIN_PROBABILITY = 0.90
MAX_CHARS = 600      # the first few hundred characters decide as well as the whole text, much faster


@dataclass(frozen=True)
class LanguageResult:
    language: str
    probability: float
    method: str  # detected | context | default | only


class LanguageDetector:
    """Detects a comment's language; short or undecidable texts take the context's language."""

    def __init__(self, languages: Sequence[str] = (), default: str = "de", seed: int = 0,
                 min_letters: int | None = None, min_probability: float = MIN_PROBABILITY) -> None:
        self.languages = tuple(sorted(set(languages)))
        self.default = default if not self.languages or default in self.languages else self.languages[0]
        self.seed = seed
        self.min_letters = min_letters or MIN_LETTERS["restricted" if self.languages else "all"]
        self.min_probability = min_probability
        if len(self.languages) != 1:
            detector.check(self.languages, seed)  # fail early on unknown language codes

    def detect(self, text: str, context: str | None = None) -> LanguageResult:
        """Language of text; `context` is the parent comment's or the article's language, if known."""
        return self.detect_many([text], [context])[0]

    def detect_many(self, texts: Sequence[str], contexts: Sequence[str | None]) -> list[LanguageResult]:
        """detect() of each text with its context, the texts detected together (domain/detector.py)."""
        if len(self.languages) == 1:
            return [LanguageResult(self.languages[0], 1.0, "only")] * len(texts)
        keys: list[str | None] = []
        for text in texts:
            clean = _NOISE.sub(" ", text[: MAX_CHARS * 2])
            # Cut as the detector cuts, then normalised.
            keys.append(_BLANKS.sub(" ", clean[:MAX_CHARS]).lstrip(" ")
                        if letters_at_least(clean, self.min_letters) else None)
        answers = iter(detector.probabilities_many([k for k in keys if k is not None], self.languages, self.seed,
                                                   MAX_CHARS))
        out = []
        for key, context in zip(keys, contexts):
            found = next(answers) if key is not None else None
            if not found:  # too few letters, no n-gram the profiles know, or no language above the threshold
                out.append(self._fallback(context))
                continue
            lang, prob = found[0]
            out.append(LanguageResult(lang, round(prob, 4), "detected") if prob >= self.min_probability
                       else self._fallback(context))
        return out

    def _fallback(self, context: str | None) -> LanguageResult:
        if context and (not self.languages or context in self.languages):
            return LanguageResult(context, 0.0, "context")
        return LanguageResult(self.default, 0.0, "default")
