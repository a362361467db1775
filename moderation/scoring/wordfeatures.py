"""Word-list features for the classifier: hit counts per list of the rule set, fast enough for every comment."""
from __future__ import annotations

import re
from collections import ChainMap
from itertools import chain, islice
from operator import methodcaller
from typing import TYPE_CHECKING, Collection, Mapping, Sequence

import numpy as np

if TYPE_CHECKING:
    from moderation.rules import RuleSet

LEXICON_LISTS = ("insults", "mild_insults", "severe_insults", "profanity", "threats", "identity_attacks",
                 "accusations", "insult_emoji", "second_person")
_INFLECTIONS = "e|en|n|s|es|er|ern|em|in|innen|chen|ed|d|ing|y"


class ListMatcher:
    r"""Counts a word list's hits in lower-cased text: exact forms with inflections, compound parts, phrases.

    Token set look-ups and str.startswith/endswith with tuples stay in C, so this costs microseconds per text
    (one big regular expression with `\w*x\w*` alternatives backtracks at every position and is 100x slower).
    """

    def __init__(self, entries: Sequence[str]) -> None:
        exact, prefixes, suffixes, infixes, phrases = set(), [], [], [], []
        for entry in entries:
            head, tail = entry.startswith("*"), entry.endswith("*")
            core = entry.strip("*")
            if not core:
                continue
            if " " in core or not core[0].isalnum():
                phrases.append(core.lstrip("="))
            elif core.startswith("="):
                exact.add(core[1:])
            elif head and tail:
                infixes.append(core)
            elif head:
                suffixes.extend(core + ending for ending in ("", *_INFLECTIONS.split("|")))
            elif tail:
                prefixes.append(core)
            else:
                exact.update(core + ending for ending in ("", *_INFLECTIONS.split("|")))
        self.exact = frozenset(exact)
        self.prefixes, self.suffixes, self.infixes = tuple(prefixes), tuple(suffixes), tuple(infixes)
        self.phrases = tuple(phrases)
        # An empty phrase (entry "=") occurs in every text, even "": count() then hits any token.
        self.blank = any(not p for p in phrases)
        # Literal alternatives: a search finds one exactly when one of them occurs in the token.
        self._infix = re.compile("|".join(map(re.escape, infixes))) if infixes else None

    def matching(self, tokens: Collection[str]) -> set[str]:
        """The tokens that are a hit of this list on their own (an empty phrase hits every token).

        Each test runs over all the tokens in C (set intersection, filter with startswith/endswith on tuples and
        the infixes' search), not as a Python call per token."""
        if self.blank:
            return set(tokens)
        found = set(self.exact.intersection(tokens))
        if self.prefixes:
            found.update(filter(methodcaller("startswith", self.prefixes), tokens))
        if self.suffixes:
            found.update(filter(methodcaller("endswith", self.suffixes), tokens))
        if self._infix is not None:
            found.update(filter(self._infix.search, tokens))
        return found


_WORD = re.compile(r"\w+")
_CACHE_LIMIT = 200_000


class LexiconCounter:
    """Hit counts per list for many texts; each distinct token is matched once and remembered."""

    def __init__(self, lexicon: Mapping[str, Sequence[str]]) -> None:
        self.matchers = [ListMatcher(entries) for _name, entries in sorted(lexicon.items()) if entries]
        self.cache: dict[str, tuple[int, ...]] = {}

    def _tokens(self, tokens: Collection[str]) -> dict[str, tuple[int, ...]]:
        """The lists each token hits (indices into matchers, in order)."""
        hits: dict[str, list[int]] = {}
        for i, m in enumerate(self.matchers):
            for token in m.matching(tokens):
                hits.setdefault(token, []).append(i)
        return {token: tuple(hits.get(token, ())) for token in tokens}

    def _phrases(self) -> tuple[dict[str, list[tuple[int, str]]], list[tuple[int, str]]]:
        # A phrase is only searched for when its first word occurs; symbols and emoji are always searched.
        by_first: dict[str, list[tuple[int, str]]] = {}
        always: list[tuple[int, str]] = []
        for i, m in enumerate(self.matchers):
            for phrase in m.phrases:
                first = _WORD.match(phrase)
                (by_first.setdefault(first.group(), []) if first else always).append((i, phrase))
        return by_first, always

    def counts(self, texts: Sequence[str]) -> np.ndarray:
        """log1p(hits) per text and list, from already pre-processed texts.

        The batch's new tokens are matched first; then each text's hits are gathered with C-level maps and
        counted for the whole batch in one bincount (integers, so the sums are exact in any order).
        """
        width = len(self.matchers)
        by_first, always = self._phrases()
        split = [_WORD.findall(text) for text in texts]
        cache = self.cache
        fresh = self._tokens(set().union(*split).difference(cache))
        room = _CACHE_LIMIT - len(cache)
        if room >= len(fresh):
            cache.update(fresh)
            get = cache.__getitem__
        else:  # the cache is full: this batch's other tokens are looked up beside it, then forgotten
            cache.update(islice(fresh.items(), max(room, 0)))
            get = ChainMap(cache, fresh).__getitem__
        cells: list[int] = []
        weights: list[int] = []
        for row, (text, tokens) in enumerate(zip(texts, split)):
            base = row * width
            hits = list(chain.from_iterable(map(get, tokens)))
            if hits:
                cells += [base + i for i in hits]
                weights += [1] * len(hits)
            for token in set(tokens).intersection(by_first):
                for i, phrase in by_first[token]:
                    cells.append(base + i)
                    weights.append(text.count(phrase))
            for i, phrase in always:
                if phrase in text:
                    cells.append(base + i)
                    weights.append(text.count(phrase))
        out = np.bincount(np.array(cells, dtype=np.int64), np.array(weights, dtype=np.float64),
                          minlength=len(texts) * width)
        return np.log1p(out.reshape(len(texts), width).astype(np.float32))


def lexicon_from_ruleset(ruleset: "RuleSet") -> dict[str, list[str]]:
    """The rule set's word lists (all languages merged) as {list name: entries}."""
    out: dict[str, list[str]] = {}
    for path, text in sorted(ruleset.files.items()):
        parts = path.split("/")
        if len(parts) == 3 and parts[0] == "wordlists" and parts[2][:-4] in LEXICON_LISTS:
            entries = [ln.split(" #", 1)[0].strip().lower() for ln in text.splitlines()
                       if ln.strip() and not ln.lstrip().startswith("#")]
            out.setdefault(parts[2][:-4], []).extend(e for e in entries if e)
    return out
