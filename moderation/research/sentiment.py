"""Sentiment per comment, offline: VADER for English, a lexicon scorer with negation and intensifiers for German.

German uses the Zurich German Polarity Lexicon (Klenner, Clematide, Wiegand, Peters; Apache-2.0), shipped in
data/ as textblob-de 0.4.3 distributes it (see data/NOTICE). Both give VADER's compound score in [-1, 1].
"""
from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from functools import lru_cache
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from moderation.research import require

POSITIVE, NEGATIVE = 0.05, -0.05  # VADER's conventional thresholds on the compound score
ALPHA = 15.0  # VADER's normalisation constant
N_SCALAR = -0.74  # VADER: a negated word keeps about three quarters of its strength, with the sign flipped
B_INCR = 0.293  # VADER: what an intensifier adds (or a dampener takes away)

NEGATORS = frozenset("nicht nichts kein keine keinen keinem keiner keines nie niemals nirgends niemand "
                     "nix ohne weder noch keinesfalls keineswegs".split()) - {"noch"}
INTENSIFIERS = frozenset("sehr extrem total völlig absolut äußerst äusserst besonders wirklich echt richtig "
                         "ungemein unglaublich höchst zutiefst komplett voll super mega enorm außerordentlich "
                         "ziemlich verdammt furchtbar schrecklich sowas dermaßen derart so".split())
DAMPENERS = frozenset("etwas kaum wenig bisschen eher leicht halbwegs einigermaßen teilweise fast".split())
CONTRAST = frozenset("aber jedoch allerdings trotzdem dennoch".split())
SUFFIXES = ("ern", "em", "en", "er", "es", "e", "n", "s", "st", "t")
EMOJI = {"🤡": -1.5, "🖕": -2.5, "😡": -2.5, "🤬": -3.0, "😠": -2.0, "💩": -2.0, "🙄": -1.0, "😢": -1.5,
         "😭": -1.5, "👎": -1.5, "😀": 1.5, "😃": 1.5, "😄": 1.5, "😊": 1.8, "🙂": 1.0, "😍": 2.5, "❤": 2.5,
         "❤️": 2.5, "👍": 1.5, "👏": 1.5, "😂": 1.0, "🤣": 1.0}
TOKEN = re.compile(r"\w+(?:-\w+)*|[:;]-?[()DP]|[^\w\s]", re.UNICODE)
CLAUSE_END = frozenset(".,;:!?")
UMLAUT = str.maketrans("äöü", "aou")
LEXICON = Path(__file__).with_name("data") / "de-sentiment.xml"


@lru_cache(maxsize=2)
def german_lexicon(path: Path = LEXICON) -> dict[str, float]:
    """Lower-cased word form -> valence on VADER's −4…+4 scale (the lexicon's −1…+1 times 2.5)."""
    values: dict[str, list[float]] = {}
    for word in ET.parse(path).getroot().iter("word"):
        polarity = float(word.get("polarity") or 0)
        if polarity:
            values.setdefault(word.get("form", "").lower(), []).append(polarity)
    return {w: 2.5 * sum(v) / len(v) for w, v in values.items() if w}


class GermanSentiment:
    """VADER's method on the Zurich lexicon: inflection-tolerant lookup, negation window, intensifiers, 'aber'."""

    name = "lexicon-de-uzh"
    version = "uzh-polarity-1.1+rules-1"

    def __init__(self, lexicon: Path = LEXICON) -> None:
        self.lexicon = german_lexicon(lexicon)
        self._seen: dict[str, float] = {}  # token -> valence: comments repeat their words, lookups are the cost

    def valence(self, token: str) -> float:
        hit = self._seen.get(token)
        if hit is None:
            if len(self._seen) > 500_000:
                self._seen.clear()
            hit = self._seen[token] = self._lookup(token)
        return hit

    def _lookup(self, token: str) -> float:
        if token in EMOJI:
            return EMOJI[token]
        word = token.lower()
        hit = self.lexicon.get(word)
        if hit is not None or len(word) < 5:
            return hit or 0.0
        for suffix in SUFFIXES:  # inflected forms: "schlechten" -> "schlecht", "hasse" -> "hass(en)"
            if word.endswith(suffix) and len(word) - len(suffix) >= 4:
                stem = word[: -len(suffix)]
                plain = stem.translate(UMLAUT)  # "gefällt" -> "gefall(en)"
                hit = (self.lexicon.get(stem) or self.lexicon.get(stem + "en") or self.lexicon.get(stem + "n")
                       or self.lexicon.get(plain + "en"))
                if hit:
                    return hit
        return 0.0

    def compound_many(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([self.compound(t) for t in texts], dtype=np.float64)

    def compound(self, text: str) -> float:
        tokens = TOKEN.findall(text)
        lowered = [t.lower() for t in tokens]
        total = 0.0
        contrast_at = next((i for i, t in enumerate(lowered) if t in CONTRAST), None)
        for i, token in enumerate(tokens):
            v = self.valence(token)
            if not v or lowered[i] in NEGATORS:
                continue
            for back in (1, 2, 3):  # an intensifier right before counts most
                j = i - back
                if j < 0 or lowered[j] in CLAUSE_END:
                    break
                if lowered[j] in INTENSIFIERS:
                    v += math.copysign(B_INCR, v) * (1.0 if back == 1 else 0.95 if back == 2 else 0.9)
                elif lowered[j] in DAMPENERS:
                    v -= math.copysign(B_INCR, v)
            if self._negated(lowered, i):
                v *= N_SCALAR
            if len(token) > 2 and token.isupper() and not text.isupper():
                v += math.copysign(0.733, v)  # VADER's emphasis for a shouted word
            if contrast_at is not None:  # "..., aber ...": what follows the contrast counts more
                v *= 0.5 if i < contrast_at else 1.5
            total += v
        if total:
            total += math.copysign(min(text.count("!"), 4) * 0.292, total)
        return total / math.sqrt(total * total + ALPHA)

    @staticmethod
    def _negated(lowered: list[str], i: int) -> bool:
        """A negator up to three words before, or after a verb-like word up to the clause end ('gefällt mir nicht')."""
        for j in range(i - 1, max(-1, i - 4), -1):
            if lowered[j] in CLAUSE_END:
                break
            if lowered[j] in NEGATORS:
                return True
        for j in range(i + 1, min(len(lowered), i + 4)):
            if lowered[j] in CLAUSE_END:
                break
            if lowered[j] in ("nicht", "nie", "niemals"):
                return True
        return False


class Scorer(Protocol):
    """What Sentiment needs of a German scorer: the lexicon scorer or the shipped classifier."""

    name: str
    version: str

    def compound_many(self, texts: Sequence[str]) -> np.ndarray: ...


class EnglishSentiment:
    """VADER (Hutto & Gilbert 2014) as the vaderSentiment package ships it."""

    name = "vader"

    def __init__(self) -> None:
        vader = require("vaderSentiment.vaderSentiment", "English sentiment")
        self.analyzer = vader.SentimentIntensityAnalyzer()
        self.version = "vaderSentiment-3.3.2"

    def compound(self, text: str) -> float:
        return float(self.analyzer.polarity_scores(text)["compound"])


class Sentiment:
    """Compound sentiment in [-1, 1] per text, by language; texts in other languages get NaN."""

    def __init__(self, de: Scorer | None = None) -> None:
        self.de = de or GermanSentiment()  # sentimentmodel.default() passes the shipped classifier
        self.en = EnglishSentiment()

    @property
    def versions(self) -> dict[str, str]:
        return {"de": f"{self.de.name} {self.de.version}", "en": f"{self.en.name} {self.en.version}"}

    def score(self, texts: Sequence[str], languages: Sequence[str | None]) -> np.ndarray:
        out = np.full(len(texts), np.nan)
        german = []
        for k, (text, lang) in enumerate(zip(texts, languages)):
            if lang == "en":
                out[k] = self.en.compound(text or "")
            elif lang == "de" or not lang:  # German-first: an undetected language is read as German
                german.append(k)
        if german:  # one batch: the classifier vectorises many texts at once far faster than one by one
            out[german] = self.de.compound_many([texts[k] or "" for k in german])
        return out


def label(compound: float) -> str:
    """positive, negative or neutral by VADER's thresholds."""
    if compound >= POSITIVE:
        return "positive"
    return "negative" if compound <= NEGATIVE else "neutral"
