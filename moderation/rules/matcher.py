"""The word lists of one rule set, named and inline, compiled into one Aho–Corasick automaton.

Plain comments (see plaintext.py) are matched by one pass of the automaton over their folded words: only
the words it marks are looked up in their lists, with the very code the full look uses (WordList.find_at),
so entries, tokens and spans come out the same. Every other comment gets the full look: the tokenizer and
each list's find. The automaton is built once, with the rule set; nothing in it changes afterwards.
"""
from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate
from types import MappingProxyType
from typing import Collection, Iterable, Mapping

import ahocorasick

from moderation.rules.context import CommentContext
from moderation.rules.wordlists import MATCHED_KINDS, WordList

Found = tuple[int, int, str]  # first token, last token, entry
_NONE: list[Found] = []


class ListMatcher:
    """Looks up a rule set's lists in a comment; results are cached on the comment's context."""

    def __init__(self, wordlists: Mapping[str, Mapping[str, WordList]], default_language: str,
                 inline_terms: Iterable[tuple[str, ...]] = ()) -> None:
        self.wordlists: Mapping[str, Mapping[str, WordList]] = MappingProxyType(
            {name: MappingProxyType(dict(by_lang)) for name, by_lang in wordlists.items()})
        self.default_language = default_language
        lists = [wl for by_lang in self.wordlists.values() for wl in by_lang.values()]
        inline = {terms: WordList.parse("inline", default_language, "\n".join(terms))
                  for terms in dict.fromkeys(inline_terms) if terms}
        self._inline: Mapping[tuple[str, ...], WordList] = MappingProxyType(inline)
        self._lists = tuple(lists + list(inline.values()))
        self._slot = {id(wl): slot for slot, wl in enumerate(self._lists)}
        self._chosen: dict[tuple[str, str, str | None], tuple[int, ...]] = {}  # memo: which slots a lookup reads
        self._automaton = self._compile()
        # The most words a phrase of each list spans.
        self._reach = tuple(max((len(p) for p in wl.phrase_parts()), default=1) for wl in self._lists)

    def _compile(self) -> ahocorasick.Automaton:
        slots: dict[str, set[int]] = {}
        for slot, wl in enumerate(self._lists):
            for key in wl.keys():
                slots.setdefault(key, set()).add(slot)
        automaton = ahocorasick.Automaton()
        for key, found in slots.items():
            automaton.add_word(key, (len(key), tuple(sorted(found))))
        automaton.make_automaton()
        return automaton

    def require(self, name: str) -> None:
        if name not in self.wordlists:
            raise KeyError(f"no word list named {name!r} (expected wordlists/<language>/{name}.txt)")

    def inline(self, terms: Iterable[str]) -> WordList | None:
        """The list of a rule's own terms (same syntax as list lines), in the rule set's default language."""
        terms = tuple(terms)
        if not terms:
            return None
        if terms not in self._inline:
            raise KeyError(f"terms {terms!r} were not compiled with this rule set")
        return self._inline[terms]

    def slots(self, names: Iterable[str], inline: WordList | None) -> frozenset[int]:
        """Every slot a lookup of these lists (in any language) and these inline terms may read."""
        found = {self._slot[id(wl)] for name in names for wl in self.wordlists.get(name, {}).values()}
        return frozenset(found | ({self._slot[id(inline)]} if inline is not None else set()))

    def marked_slots(self, ctx: CommentContext) -> Collection[int] | None:
        """The slots the automaton marked a word of: a list outside them finds nothing in this comment.
        None when that bound does not hold (cut forms: a phrase may then match words no key marked)."""
        looked = ctx.cache.get("marks")
        if looked is None:
            looked = ctx.cache["marks"] = self.look(ctx) + ({},)
        return looked[3].keys() if looked[1] is None else None

    def inline_hits(self, ctx: CommentContext, inline: WordList) -> list[Found]:
        return self._found(ctx, self._slot[id(inline)])

    def hits(self, ctx: CommentContext, name: str, languages: str = "comment") -> list[Found]:
        """Matches of list `name`: the comment language's list and 'common', or (languages="all") every one."""
        key = ("list", name, languages)
        found = ctx.cache.get(key)
        if found is None:
            slots = self._chosen.get((name, languages, ctx.language))
            if slots is None:
                slots = self._chosen[name, languages, ctx.language] = self._choose(name, languages, ctx.language)
            if len(slots) == 1:
                found = self._found(ctx, slots[0])
            else:
                found = [h for slot in slots for h in self._found(ctx, slot)]
            ctx.cache[key] = found
        return found

    def _choose(self, name: str, languages: str, language: str | None) -> tuple[int, ...]:
        by_lang = self.wordlists.get(name, {})
        if languages == "comment" and language in by_lang:
            lists = [by_lang[language]] + ([by_lang["common"]] if "common" in by_lang else [])
        else:
            lists = list(by_lang.values())
        return tuple(self._slot[id(wl)] for wl in lists)

    def _found(self, ctx: CommentContext, slot: int) -> list[Found]:
        looked = ctx.cache.get("marks")
        if looked is None:  # the look, and each list's matches as they are asked for
            looked = ctx.cache["marks"] = self.look(ctx) + ({},)
        norms, alts, kinds, marked, done = looked
        found = done.get(slot)
        if found is not None:
            return found
        if alts is None and slot not in marked:
            return _NONE  # most lists in most comments: the automaton marked none of their words
        wl = self._lists[slot]
        candidates = marked.get(slot, ())
        if alts is not None and wl.phrases:
            # A phrase may match one word by its cut form and the next by its plain one, which no key
            # spells: every phrase start that could reach a word with a cut form is a candidate too.
            reach = self._reach[slot]
            candidates = {*candidates, *(i - d for i, alt in enumerate(alts) if alt for d in range(reach) if i >= d)}
        if candidates:
            found = []  # only these words can match; each is looked up as the full look does
            alts = alts or [None] * len(norms)
            for i in sorted(candidates):
                if kinds is None and not norms[i].isdigit() or kinds is not None and kinds[i] in MATCHED_KINDS:
                    wl.find_at(norms, alts, i, found)
        else:
            found = _NONE
        done[slot] = found
        return found

    def look(self, ctx: CommentContext) -> tuple[list[str], list | None, list | None, dict[int, set[int]]]:
        """(folded words, their cut forms if any, token kinds, marked word indices by list slot): from the
        plain words when the text is plain (kinds None: numbers are the only other kind), else from tokens."""
        plain = ctx.plain
        if plain is not None:
            norms, alts = plain
            kinds = None
        else:
            tokens = ctx.tokens
            norms = [tok.norm for tok in tokens]
            kinds = [tok.kind for tok in tokens]
            alts = [tok.alt for tok in tokens] if any(tok.alt for tok in tokens) else None
        marked = self.marks(norms)
        if alts is not None:
            for slot, indices in self.marks([alt or norm for alt, norm in zip(alts, norms)]).items():
                marked.setdefault(slot, set()).update(indices)
        return norms, alts, kinds, marked

    def marks(self, words: list[str]) -> dict[int, set[int]]:
        """By list slot, the indices of the words that some key of that list touches."""
        marked: dict[int, set[int]] = {}
        if not words or self._automaton.kind != ahocorasick.AHOCORASICK:  # no words and no lists: nothing to mark
            return marked
        joined = f" {' '.join(words)} "
        spaced = joined.count(" ") != len(words) + 1  # a folded token with a space inside (rare NFKC forms)
        starts = [0, *accumulate(len(w) + 1 for w in words)][:-1] if spaced else None
        for end, (length, slots) in self._automaton.iter(joined):
            start = end - length + 1
            letter = start + (joined[start] == " ")  # the key's first letter: inside the word it marks
            word = bisect_right(starts, letter - 1) - 1 if spaced else joined.count(" ", 0, letter) - 1
            for slot in slots:
                marked.setdefault(slot, set()).add(word)
        return marked
