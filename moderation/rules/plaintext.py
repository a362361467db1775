"""Plain text: comments whose words fold to their lower case, so matching needs no tokenizer.

`moderation.domain.text` folds each token through NFKC, case folding, look-alike letters, leetspeak, cut
elongations and letter-split words, and keeps every token's span. For most comments none of that applies:
each folded token is the word in lower case with umlauts expanded, accents dropped and apostrophes
removed. `plain_words` returns exactly those folded words, in token order, when that holds, and None when
the text shows one of these signs and needs the full look:

- a character outside ASCII other than the Latin letters in FOLDED (ä ö ü ß é ç ñ …) and the punctuation in
  PUNCTUATION: emoji, zero-width characters, combining marks, other scripts and look-alike letters;
- `$` or `@` anywhere (a token may start with `$`; `@name` is a mention, not a word);
- a symbol of leetspeak inside a word (`Idi!ot`, `A|ssi`, `Vollid€ot`);
- a word with umlauts or accents that also has a letter next to a digit or three times in a row (`Bär3`,
  `Müüüll`): folding order matters there;
- three single letters split by separators (`I.d.i.o.t`, `A r s c h`, `u.s.w.`);
Words written in ASCII with digits or letter runs (`4rsch`, `Idiooot`, `2015er`) are folded one by one, as
tokens are, also in a text with umlauts.
tests/test_rules_matcher.py checks the claim against the tokenizer on real and generated comments.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from moderation.domain.text import Token, fold, fold_forms

_LATIN = ("ÄÖÜäöüßẞàáâãåæçèéêëìíîïñòóôõøùúûýÿœÀÁÂÃÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÕØÙÚÛÝŸŒ")
# Each letter's folded form; folding a plain word letter by letter gives the word's folded form.
FOLDED = {c: fold(c) for c in _LATIN}
_TO_ASCII = {c.lower(): f for c, f in FOLDED.items()} | {"’": ""}
PUNCTUATION = "„“”‚‘’«»‹›–—‐‑−…•·°§€£¥¢×÷¡¿´\u00a0\u2009\u202f"
_OTHER = re.compile(f"[^\\x00-\\x7f{re.escape(_LATIN + PUNCTUATION)}]")
# Bytes of the folded text that are not word characters become spaces; apostrophes go (as fold drops them).
_SEPARATE = bytes(b if chr(b).isalnum() and b < 128 else 32 for b in range(256))
_LETTER_DIGIT = re.compile(rb"[0-9](?:(?<=[a-z][0-9])|[a-z])")  # starts at a digit: scans fast
_SYMBOL = re.compile(r"[!|€+]['’!|€+]*\w")
# Three words of one or two letters (a letter may fold to two) with up to two separators (of up to two
# bytes) between them: how letter-split words look here.
_SHORT3 = re.compile(rb"\b[a-z]{1,2} {1,4}[a-z]{1,2} {1,4}[a-z]{1,2}\b")
# The tokenizer's letter-split words (moderation.domain.text.TOKEN_RE, group "spaced"); on the characters a
# plain text may hold, re's \w and [^\W\d_] are regex's \w and \p{L}, and re is faster here.
_SPACED = re.compile(r"(?<!\w)[^\W\d_](?:[ .*·_\-]{1,2}[^\W\d_]){2,}(?!\w)")
_RUN = re.compile(rb"([a-z])\1\1")
_RUN_OUTSIDE_ASCII = re.compile(r"([^\x00-\x7f])\1\1")

Plain = tuple[list[str], "list[str | None] | None"]  # folded words, their forms cut to one letter per run


def plain_words(text: str) -> Plain | None:
    """The folded words of a plain text, one per token, and (if any word has a run of three letters) the
    cut forms; None when the text needs the full look."""
    if "$" in text or "@" in text or "_" in text:
        return None
    low = text.lower()
    plain_ascii = low.isascii()
    if not plain_ascii:
        if _OTHER.search(text) or _RUN_OUTSIDE_ASCII.search(low):  # "dääämlack": the run hides once ä is "ae"
            return None
        for c in [c for c in _TO_ASCII if c in low]:  # a few distinct letters: cheaper than str.translate
            low = low.replace(c, _TO_ASCII[c])
    raw = low.encode().translate(_SEPARATE, b"'")
    unusual = _LETTER_DIGIT.search(raw) or _RUN.search(raw)
    if ("!" in text or "|" in text or "€" in text or "+" in text) and _symbol_inside(text):
        return None
    # Letters split by separators are single-letter words here (an apostrophe may join one to the next).
    if ("'" in text or "’" in text or _SHORT3.search(raw)) and _SPACED.search(text):
        return None
    if not unusual:
        return raw.decode().split(), None
    if not plain_ascii:  # leetspeak or runs in a text with umlauts or accents: word by word
        return _mixed(text.lower())
    words = raw.decode().split()
    # Plain ASCII with leetspeak or runs: each word folds like the token it is (fold drops only apostrophes).
    forms = list(map(fold_forms, words))
    alts = [alt for _, alt in forms]
    return [norm for norm, _ in forms], (alts if any(alts) else None)


_WORD_SPLIT = re.compile(f"[^a-z0-9{re.escape(''.join(c.lower() for c in _LATIN))}]+")
_TRANSLATE = str.maketrans(_TO_ASCII)
_LETTER_DIGIT_STR = re.compile(_LETTER_DIGIT.pattern.decode())
_RUN_STR = re.compile(_RUN.pattern.decode())


def _mixed(low: str) -> Plain | None:
    """The words of a lower-cased text with umlauts or accents in which some word has a digit or a run of
    letters: words written in ASCII fold one by one as in plain ASCII text, the others letter by letter; a
    word with both (`Müüüll`, `Bär3`) needs the full look, since there folding order matters: None."""
    norms: list[str] = []
    alts: list[str | None] = []
    for word in _WORD_SPLIT.split(low.replace("'", "").replace("’", "")):
        if not word:
            continue
        if word.isascii():
            norm, alt = fold_forms(word)
        else:
            norm, alt = word.translate(_TRANSLATE), None
            if _LETTER_DIGIT_STR.search(norm) or _RUN_STR.search(norm):
                return None
        norms.append(norm)
        alts.append(alt)
    return norms, (alts if any(alts) else None)


# A plain text's tokens are all words (no $, @, _, emoji, zero-width or letter-split words, no symbol between
# word characters): the tokenizer's word pattern reduces to this, and re's \w is regex's \w on these characters.
_WORD_SPAN = re.compile(r"\w(?:[\w'’]*\w)?")


class PlainTokens(Sequence[Token]):
    """A plain text's tokens, each built when first asked for: address rules look at a few of many."""

    __slots__ = ("_spans", "_norms", "_alts")

    def __init__(self, spans: list[tuple[int, int]], norms: list[str], alts: list[str | None] | None) -> None:
        self._spans, self._norms, self._alts = spans, norms, alts

    def __len__(self) -> int:
        return len(self._norms)

    def __getitem__(self, index):  # noqa: ANN001, ANN204 - an int or a slice, as a list takes
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        (start, end), norm = self._spans[index], self._norms[index]
        return Token(start, end, norm, "number" if norm.isdigit() else "word", self._alts[index] if self._alts else None)

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, Sequence) else NotImplemented

    __hash__ = None  # type: ignore[assignment] - mutable-looking, compared by value like a list


def plain_tokens(text: str, plain: Plain | None) -> PlainTokens | None:
    """tokenize(text) for a plain text, from its plain words (`plain`, as plain_words gives them); else None."""
    # Address rules need tokens (spans, capitals) wherever an insult occurs, which long comments mostly hold:
    # the full tokenizer cost more there than all the other rule work.
    if plain is None:
        return None
    norms, alts = plain
    spans = [m.span() for m in _WORD_SPAN.finditer(text)]
    if len(spans) != len(norms):  # cannot happen for a plain text (tests compare); the tokenizer decides then
        return None
    return PlainTokens(spans, norms, alts)


def _symbol_inside(text: str) -> bool:
    """A leetspeak symbol between word characters (apostrophes may stand beside it): one token to the
    tokenizer."""
    for m in _SYMBOL.finditer(text):
        i = m.start() - 1
        while i >= 0 and text[i] in "'’!|€+":
            i -= 1
        if i >= 0 and (text[i].isalnum() or text[i] == "_"):
            return True
    return False


def check_table() -> None:
    """Fail loudly if a letter's folded form is not plain ASCII (the table above must stay letter-exact)."""
    for c, f in FOLDED.items():
        if not (f.isascii() and f.isalpha() and fold(c.lower()) == f
                and unicodedata.normalize("NFKC", c) == c and len(c.lower()) == 1):
            raise ValueError(f"{c!r} folds to {f!r}: not a plain letter")
