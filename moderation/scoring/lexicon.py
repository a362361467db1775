"""A scorer from the rule set's word lists: fast, transparent, and the fallback when no model is loaded."""
from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Sequence

from moderation.rules.addressing import ADDRESS_LISTS
from moderation.rules.context import CommentContext
from moderation.scoring import LABELS, register

if TYPE_CHECKING:
    from moderation.config import Config
    from moderation.rules import RuleSet

# How strongly one hit in a list speaks for each label; several hits combine by noisy-or.
WEIGHTS: dict[str, dict[str, float]] = {
    "insults": {"insult": 0.6, "toxicity": 0.7},
    "severe_insults": {"insult": 0.9, "toxicity": 0.95, "severe_toxicity": 0.8, "obscene": 0.5},
    "profanity": {"obscene": 0.7, "toxicity": 0.5},
    "threats": {"threat": 0.8, "toxicity": 0.8, "severe_toxicity": 0.5},
    "identity_attacks": {"identity_attack": 0.85, "toxicity": 0.85},
    "insult_emoji": {"insult": 0.4, "toxicity": 0.4},
}
ADDRESSED_BOOST = {"insult": 0.9, "toxicity": 0.85}  # an insult aimed at someone is a personal attack


class LexiconScorer:
    """Scores labels by noisy-or over word-list hits; insults aimed at someone weigh more."""

    name = "lexicon"
    labels = LABELS

    def __init__(self, ruleset: "RuleSet") -> None:
        self.ruleset = ruleset
        self.lists = [name for name in WEIGHTS if name in ruleset.wordlists]
        # The version is the content of the lists it reads: a draft that edits them scores differently.
        reads = set(WEIGHTS) | set(ADDRESS_LISTS)
        digest = hashlib.sha256()
        for path, text in sorted(ruleset.files.items()):
            parts = path.split("/")
            if len(parts) == 3 and parts[0] == "wordlists" and parts[2].removesuffix(".txt") in reads:
                digest.update(path.encode() + b"\0" + text.encode())
        self.version = "lexicon-" + digest.hexdigest()[:10]

    def score(self, texts: Sequence[str], languages: Sequence[str | None] | None = None) -> list[dict[str, float]]:
        langs = languages or [None] * len(texts)
        return self.score_contexts([CommentContext(t, language=lang) for t, lang in zip(texts, langs)])

    def score_contexts(self, contexts: Sequence[CommentContext]) -> list[dict[str, float]]:
        """Scores from contexts the rules will read too, so tokens and list hits are computed once."""
        return [self.score_context(ctx) for ctx in contexts]

    def score_context(self, ctx: CommentContext) -> dict[str, float]:
        keep = dict.fromkeys(LABELS, 1.0)  # probability that no hit so far makes the label true
        rs = self.ruleset
        for name in self.lists:
            for first, last, _entry in rs.list_hits(ctx, name, "all" if name == "insult_emoji" else "comment"):
                weights = WEIGHTS[name]
                if name in ("insults", "insult_emoji") and rs.addressee(
                        ctx, first, last, frozenset({"second_person", "named"}), 6) is not None:
                    weights = {**weights, **ADDRESSED_BOOST}
                for label, w in weights.items():
                    keep[label] *= 1.0 - w
        return {label: round(1.0 - k, 4) for label, k in keep.items()}


@register("lexicon")
def _factory(config: "Config", ruleset: "RuleSet") -> LexiconScorer:
    return LexiconScorer(ruleset)
