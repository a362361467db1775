"""Whom a comment addresses: second person, vocatives, honorifics and names (German and English rules)."""
from __future__ import annotations

from functools import lru_cache
from typing import Iterable

import regex

from moderation.domain.text import fold
from moderation.rules.context import CommentContext, Span
from moderation.rules.matcher import ListMatcher

# Reserved list names that tell whom a comment addresses (see README, "Rule files").
ADDRESS_LISTS = {"second_person": "second_person", "formal_address": "second_person",
                 "vocatives": "second_person", "honorifics": "named", "first_names": "named"}
_CLAUSE_BREAK = frozenset(",.;:!?…\n–—(")
_NAME_PARTS = regex.compile(r"\p{L}{3,}")

Mark = tuple[int, str, Span]  # token index, second_person | named, span


class Addressing:
    """Address marks of one comment from the rule set's address lists and the thread's author names."""

    def __init__(self, lists: ListMatcher) -> None:
        self.lists = lists

    def marks(self, ctx: CommentContext) -> list[Mark]:
        """Where the comment addresses someone: (token index, second_person | named, span)."""
        marks = ctx.cache.get("address")
        if marks is not None:
            return marks
        marks = []
        toks = ctx.tokens
        for name, kind in ADDRESS_LISTS.items():
            if name not in self.lists.wordlists:
                continue
            for first, last, _entry in self.lists.hits(ctx, name):
                nxt = last + 1
                named_next = nxt < len(toks) and ctx.capitalised(nxt) and _joined(ctx, last, nxt)
                if name == "formal_address":
                    # "…, dass Sie lügen" is formal address; "Sie lügen." could be "they", so not at a start.
                    if not ctx.capitalised(first) or _opens_clause(ctx, first):
                        continue
                elif name == "vocatives":
                    # ", lieber Jan," and "…, liebe Heuchler" address someone; "die liebe Familie" does not.
                    if not _opens_clause(ctx, first):
                        continue
                    if named_next:
                        last = nxt
                    elif nxt < len(toks) and not _ends_clause(ctx, last):
                        continue
                elif name in ("honorifics", "first_names"):
                    # "Herr Maier", "Andy Jassy": a capitalised name right after, in the same sentence.
                    if not named_next or (name == "first_names" and not ctx.capitalised(first)):
                        continue
                    last = nxt
                marks.append((first, kind, ctx.span(first, last, kind)))
        names = fold_names(ctx.thread_authors + ((ctx.parent_author,) if ctx.parent_author else ()))
        if ctx.plain is not None:  # a plain text holds no @mention; names are looked up among its folded words
            candidates = [i for i, norm in enumerate(ctx.plain[0]) if norm in names] if names else []
        else:
            candidates = [i for i, tok in enumerate(toks) if tok.kind == "mention" or tok.norm in names]
        for i in candidates:
            if toks[i].kind == "mention" or ctx.capitalised(i):
                marks.append((i, "named", ctx.span(i, i, "named")))
        ctx.cache["address"] = marks
        return marks

    def addressee(self, ctx: CommentContext, first: int, last: int, kinds: frozenset[str],
                  window: int) -> Span | None:
        """The nearest mark within `window` tokens that the words at first..last are aimed at."""
        if "reply" in kinds and ctx.is_reply:
            return Span(0, 0, "", "reply")
        best = None
        for index, kind, span in self.marks(ctx):
            if kind not in kinds:
                continue
            distance = 0 if first <= index <= last else min(abs(index - first), abs(index - last))
            if distance <= window and (best is None or distance < best[0]):
                best = (distance, span)
        return best[1] if best else None


def _between(ctx: CommentContext, left: int, right: int) -> str:
    return ctx.text[ctx.tokens[left].end:ctx.tokens[right].start]


def _joined(ctx: CommentContext, left: int, right: int) -> bool:
    """Two tokens of one name: only spaces between, or the dot of an abbreviation ("Mr. Smith")."""
    gap = _between(ctx, left, right).strip()
    return gap == "" or (gap == "." and len(ctx.tokens[left].norm) <= 4)


def _opens_clause(ctx: CommentContext, index: int) -> bool:
    return index == 0 or any(c in _CLAUSE_BREAK for c in _between(ctx, index - 1, index))


def _ends_clause(ctx: CommentContext, index: int) -> bool:
    return any(c in _CLAUSE_BREAK for c in _between(ctx, index, index + 1))


def fold_names(names: Iterable[str]) -> frozenset[str]:
    """Folded parts of people's names ("Mara_K" -> mara; "Stefan aus Bremen" -> stefan, bremen)."""
    parts: set[str] = set()
    for name in names:
        if name:
            parts.update(_name_parts(name))
    return frozenset(parts)


@lru_cache(maxsize=100_000)
def _name_parts(name: str) -> tuple[str, ...]:
    # A busy thread names the same few hundred authors in every comment's context: fold each once.
    lowercase = name == name.lower()
    return tuple(fold(p) for p in _NAME_PARTS.findall(name) if lowercase or p[0].isupper())
