"""A quick first look at a comment: which word lists could match at all, decided per distinct word.

Most comments contain no listed word. Tokenising them with spans and checking every list is the dearest
part of rule evaluation, so a C-level word split and a cache from each distinct word to the lists it hits
decide first. Texts written to dodge filters (zero-width characters, letters split by separators, symbols
inside words) cannot be judged this way and always get the full look.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from moderation.domain.text import ZERO_WIDTH, fold_forms

if TYPE_CHECKING:
    from moderation.rules.wordlists import WordList

WORDS = re.compile(r"\w(?:[\w'’]*\w)?")  # words as the tokenizer sees them, "you're" included
_SYMBOL_INSIDE = re.compile(r"\w[$@!|€+]+\w")
FULL = None  # "look at everything": the scan cannot rule anything out
CACHE_LIMIT = 1_000_000


class Scanner:
    """Per rule set: word -> (lists it is an entry of, its folded forms), phrases by keyword, emoji entries."""

    def __init__(self, wordlists: dict[str, dict[str, "WordList"]]) -> None:
        self.lists = [(name, lang, wl) for name, by_lang in wordlists.items() for lang, wl in by_lang.items()]
        self.emoji = [(name, lang, e) for name, lang, wl in self.lists for e in wl.emoji]
        # A phrase can only match when all its words occur, so it is looked up by its longest word.
        self.phrases: dict[str, list[tuple[str, str, tuple[frozenset[str], ...]]]] = {}
        for name, lang, wl in self.lists:
            for parts in wl.phrase_parts():
                key = max(parts, key=lambda forms: min(map(len, forms)))
                for form in key:
                    self.phrases.setdefault(form, []).append((name, lang, parts))
        # Only forms that occur in some phrase matter for phrases; most words contribute nothing.
        self.phrase_words = frozenset(f for entries in self.phrases.values() for _, _, parts in entries
                                      for forms in parts for f in forms)
        self._cache: dict[str, tuple[frozenset[tuple[str, str]], tuple[str, ...]]] = {}

    def _lookup(self, word: str) -> tuple[frozenset[tuple[str, str]], tuple[str, ...]]:
        lists = frozenset((name, lang) for name, lang, wl in self.lists if wl.has_word(word))
        return lists, tuple(f for f in fold_forms(word) if f is not None and f in self.phrase_words)

    def __call__(self, text: str, extra: "list[WordList]" = ()) -> set[tuple[str, str]] | None:
        """(list, language) pairs that may match; FULL when the text needs the full look."""
        if any(z in text for z in ZERO_WIDTH):
            return FULL
        if any(c in text for c in "$@!|€+") and _SYMBOL_INSIDE.search(text):
            return FULL
        words = WORDS.findall(text)
        lengths = list(map(len, words))
        if lengths.count(1) >= 3 and any(a == b == c == 1 for a, b, c in zip(lengths, lengths[1:], lengths[2:])):
            return FULL  # "A r s c h", "I.d.i.o.t"
        cache = self._cache
        if len(cache) > CACHE_LIMIT:
            cache.clear()
        found: set[tuple[str, str]] = set()
        forms: set[str] = set()
        for word in set(words):
            entry = cache.get(word)
            if entry is None:
                entry = cache[word] = self._lookup(word)
            if entry[0]:
                found |= entry[0]
            if entry[1]:
                forms.update(entry[1])
        for form in forms & self.phrases.keys():
            for name, lang, parts in self.phrases[form]:
                if all(not forms.isdisjoint(part) for part in parts):
                    found.add((name, lang))
        if not text.isascii():  # every emoji entry lies outside ASCII
            for name, lang, emoji in self.emoji:
                if emoji in text:
                    found.add((name, lang))
        return found
