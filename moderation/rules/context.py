"""What the rules look at for one comment: its text, tokens, links, language, thread and scores."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

from moderation.domain.text import Token, tokenize
from moderation.rules.plaintext import Plain, plain_tokens, plain_words


class Span(NamedTuple):
    start: int
    end: int
    text: str
    label: str  # what matched here: the list entry, the domain, the pattern

    def to_dict(self) -> dict:
        return {"start": self.start, "end": self.end, "text": self.text, "label": self.label}


class Unavailable(Exception):
    """A condition could not be decided (a score is missing, a regex ran out of time)."""


@dataclass
class CommentContext:
    """One comment and its surroundings; derived views are computed once, on first use."""

    text: str
    language: str | None = None
    is_reply: bool = False
    parent_text: str | None = None
    parent_author: str | None = None
    author: str | None = None
    thread_authors: tuple[str, ...] = ()
    scores: dict[str, float] | None = None  # label -> score from the scorers; None when none ran
    author_approved: int | None = None  # the author's approved comments so far (None: unknown)
    author_rejected: int | None = None
    cache: dict = field(default_factory=dict, repr=False)

    @cached_property
    def plain(self) -> Plain | None:
        """The folded words when the text is plain (rules/plaintext.py), else None."""
        return plain_words(self.text)

    @cached_property
    def tokens(self) -> Sequence[Token]:
        fast = plain_tokens(self.text, self.plain)
        return tokenize(self.text) if fast is None else fast

    def span(self, first: int, last: int, label: str) -> Span:
        """The original text from token `first` to token `last`."""
        start, end = self.tokens[first].start, self.tokens[last].end
        return Span(start, end, self.text[start:end], label)

    def capitalised(self, index: int) -> bool:
        tok = self.tokens[index]
        return tok.kind in ("word", "spaced") and self.text[tok.start].isupper()
