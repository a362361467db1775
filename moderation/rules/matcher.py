"""The word lists of one rule set, named and inline, and which of their entries a comment contains."""
from __future__ import annotations

from types import MappingProxyType
from typing import Iterable, Mapping

from moderation.rules.context import CommentContext
from moderation.rules.scan import FULL, Scanner
from moderation.rules.wordlists import WordList

Found = tuple[int, int, str]  # first token, last token, entry


class ListMatcher:
    """Looks up a rule set's lists in a comment, once per comment and list (cached on the context)."""

    def __init__(self, wordlists: Mapping[str, Mapping[str, WordList]], default_language: str) -> None:
        self.wordlists: Mapping[str, Mapping[str, WordList]] = MappingProxyType(
            {name: MappingProxyType(dict(by_lang)) for name, by_lang in wordlists.items()})
        self.default_language = default_language
        self.scanner = Scanner(self.wordlists)

    def require(self, name: str) -> None:
        if name not in self.wordlists:
            raise KeyError(f"no word list named {name!r} (expected wordlists/<language>/{name}.txt)")

    def inline(self, terms: Iterable[str]) -> WordList | None:
        """A list of a rule's own terms (same syntax as list lines), in the rule set's default language."""
        terms = tuple(terms)
        if not terms:
            return None
        return WordList.parse("inline", self.default_language, "\n".join(terms))

    def inline_hits(self, ctx: CommentContext, inline: WordList) -> list[Found]:
        return inline.find(ctx.tokens)

    def hits(self, ctx: CommentContext, name: str, languages: str = "comment") -> list[Found]:
        """Matches of list `name`: the comment language's list and 'common', or (languages="all") every one."""
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
