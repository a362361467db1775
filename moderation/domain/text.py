"""Text normalisation for matching: tokens that keep their original spans, and a canonical form per token.

The canonical form folds case, umlauts and ß, look-alike letters, zero-width characters, leetspeak and
repeated letters. Folding happens per token, never on the whole text, so every match maps back to the
exact characters the commenter wrote.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

import regex

ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u034f"
_DROP = {ord(c): None for c in ZERO_WIDTH + "'’`´"}
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "æ": "ae", "œ": "oe", "ø": "o"})
# Cyrillic and Greek letters that look like Latin ones (by shape, not by sound), used to dodge filters.
_CONFUSABLES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "һ": "h", "ӏ": "l",
    "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u",
    "χ": "x", "ω": "w",
})
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
                       "@": "a", "$": "s", "!": "i", "|": "i", "€": "e", "+": "t"})
# Leetspeak only where it cannot be an ordinary token: symbols or digits between letters ("1d10t", "A$$hole"),
# or one digit leading or closing a longer word ("4rsch"); never "90er", "3D", "5am", "CO2" or "covid19".
_LEET_INSIDE = regex.compile(r"\p{L}[0134578 9@$!|€+]+\p{L}".replace(" ", ""))
_LEET_EDGE = regex.compile(r"^[01345789]\p{L}{3,}$|^\p{L}{3,}[01345789]$")
# Elongation ("Idiooooot", "Trotttel"): runs of three or more letters. Ordinary doubles stay, so "Nigger" and
# "Niger", "Deep" and "Depp" remain different words.
_ELONGATED = regex.compile(r"(\p{L})\1{2,}")
_SKIN_AND_VS = regex.compile(r"[\U0001F3FB-\U0001F3FF\uFE0E\uFE0F]")

_ZW = regex.escape(ZERO_WIDTH)
_EMOJI = (r"(?:\p{Extended_Pictographic}|\p{Regional_Indicator})[\U0001F3FB-\U0001F3FF\uFE0F]*"
          r"(?:\u200D\p{Extended_Pictographic}[\U0001F3FB-\U0001F3FF\uFE0F]*)*")
_SEP = r"[ .*·_\-]{1,2}"
TOKEN_RE = regex.compile(
    rf"(?P<spaced>(?<![\w{_ZW}])\p{{L}}(?:{_SEP}\p{{L}}){{2,}}(?![\w{_ZW}]))"   # I.d.i.o.t, A r s c h
    rf"|(?P<emoji>{_EMOJI})"
    rf"|(?P<mention>@[\w.\-]*\w)"
    rf"|(?P<word>[\w$](?:[\w{_ZW}@$!|€+'’]*[\w{_ZW}])?)",
    regex.V1,
)


class Token(NamedTuple):
    start: int
    end: int
    norm: str
    kind: str  # word | spaced | emoji | mention | number
    alt: str | None = None  # for elongated words: the form with every run cut to one letter


def _folded(word: str, keep: int) -> str:
    """The folding pipeline, with runs of three or more letters cut to `keep` letters."""
    cut = r"\1" * keep
    s = word.translate(_DROP)
    if not s.isascii():
        s = unicodedata.normalize("NFKC", s).casefold().translate(_CONFUSABLES).translate(_DROP)
        # Cut before expanding umlauts too, so "äääh" folds like "ääh", not to "aeaeaeh".
        s = _ELONGATED.sub(cut, s).translate(_UMLAUTS)
        if not s.isascii():
            # Without its accent a letter may be a look-alike ("ά" -> "α"), so map look-alikes once more.
            s = "".join(c for c in unicodedata.normalize("NFKD", s)
                        if not unicodedata.combining(c)).translate(_CONFUSABLES).translate(_UMLAUTS)
    else:
        s = s.lower()
    if not s.isalpha() and (_LEET_INSIDE.search(s) or _LEET_EDGE.match(s)):
        s = s.translate(_LEET)
    return _ELONGATED.sub(cut, s)


@lru_cache(maxsize=262144)
def fold_forms(word: str) -> tuple[str, str | None]:
    """A word's matching forms: elongations cut to two letters, and (if it had any) cut to one."""
    norm, short = _folded(word, 2), _folded(word, 1)
    return norm, (short if short != norm else None)


def fold(word: str) -> str:
    """Canonical matching form of one word or word-list entry."""
    return fold_forms(word)[0]


@lru_cache(maxsize=65536)
def fold_emoji(emoji: str) -> str:
    """An emoji without skin-tone modifiers and variation selectors."""
    return _SKIN_AND_VS.sub("", emoji)


def _spaced(raw: str) -> tuple[str, str | None]:
    return fold_forms("".join(c for c in raw if c.isalpha()))


@lru_cache(maxsize=65536)
def _word(raw: str) -> tuple[str, str, str | None]:
    """A word's folded form, kind and elongation-cut form: words repeat, so this is cached as a whole."""
    norm, alt = fold_forms(raw)
    return norm, "number" if norm.isdigit() else "word", alt


_new = tuple.__new__  # Token(...) goes through a Python-level __new__; words are most tokens of a long text


def tokenize(text: str) -> list[Token]:
    """Words, letter-split words, mentions and emoji, each with its span in the original text."""
    out: list[Token] = []
    append = out.append
    for m in TOKEN_RE.finditer(text):
        kind = m.lastgroup
        if kind == "word":
            append(_new(Token, (*m.span(), *_word(m.group()))))
        elif kind == "emoji":
            append(Token(m.start(), m.end(), fold_emoji(m.group()), "emoji"))
        elif kind == "spaced":
            norm, alt = _spaced(m.group())
            append(Token(m.start(), m.end(), norm, "spaced", alt))
        else:
            append(Token(m.start(), m.end(), fold(m.group()[1:]), "mention"))
    return out


_UPPER = regex.compile(r"\p{Lu}")
_LETTERS = regex.compile(r"\p{L}")
_ASCII_UPPER = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ASCII_LETTERS = _ASCII_UPPER + _ASCII_UPPER.lower()


def _ascii_count(raw: bytes, chars: bytes) -> int:
    # bytes.translate deletes in C; UTF-8 encodes every non-ASCII character in bytes >= 0x80 only.
    return len(raw) - len(raw.translate(None, chars))


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _count(text: str, ascii_chars: bytes, pattern: regex.Pattern) -> int:
    """How many characters of text `pattern` matches: ASCII ones counted on bytes, the rest by the pattern."""
    raw = text.encode()
    count = _ascii_count(raw, ascii_chars)
    if len(raw) != len(text):  # some characters outside ASCII: only those go through the Unicode pattern
        count += len(pattern.findall("".join(_NON_ASCII.findall(text))))
    return count


def letters_at_least(text: str, n: int) -> bool:
    """Whether text has at least n letters (\\p{L}); decided from the ASCII letters and the number of other
    characters when they suffice, counted exactly otherwise."""
    raw = text.encode()
    ascii_letters = _ascii_count(raw, _ASCII_LETTERS)
    if ascii_letters >= n:
        return True
    if ascii_letters + len(raw) - len(text) < n:  # each non-ASCII character takes at least two bytes
        return False
    return _count(text, _ASCII_LETTERS, _LETTERS) >= n


def caps_ratio(text: str, min_upper: int = 0, above: float | None = None) -> tuple[float, int]:
    """Share of upper-case among letters, and the number of letters ((0, 0) below min_upper capitals, or when
    the share cannot be above `above`)."""
    if min_upper or above is not None:
        raw = text.encode()
        # Each character outside ASCII takes at least two bytes: an upper bound on its capitals, without
        # the Unicode pattern (most comments fall short of min_upper this way).
        upper, others = _ascii_count(raw, _ASCII_UPPER), len(raw) - len(text)
        if upper + others < min_upper:
            return 0.0, 0
        # Each capital outside ASCII is a letter too: the share is at most this (a long comment with umlauts
        # passes the bound above, and most have far too few capitals for this one).
        letters = _ascii_count(raw, _ASCII_LETTERS) + others
        if above is not None and (not letters or (upper + others) / letters <= above):
            return 0.0, 0
    upper = _count(text, _ASCII_UPPER, _UPPER)
    if upper < min_upper or not upper:
        return 0.0, 0 if min_upper else _count(text, _ASCII_LETTERS, _LETTERS)
    letters = _count(text, _ASCII_LETTERS, _LETTERS)
    return upper / letters, letters


def repeated_run(text: str, at_least: int) -> str | None:
    """The first run of one character repeated at least `at_least` times ('!!!!!!', 'neeeein'), if any."""
    if len(text) < at_least:
        return None
    if at_least > 1:
        # The pattern tries every character (~30 ns each); most comments hold no run, which shows in C: a run is
        # at_least - 1 characters in a row equal to the one before, i.e. zero code units in a row where the text
        # is XORed with itself shifted by one character.
        wide = text.encode("utf-32-le", "surrogatepass")  # a lone surrogate (argv, a JSON escape) is a character too
        same = int.from_bytes(wide[4:], "little") ^ int.from_bytes(wide[:-4], "little")
        if b"\0" * (4 * at_least - 4) not in same.to_bytes(len(wide) - 4, "little"):
            return None
    m = _run_of(at_least).search(text)
    return m.group() if m else None


@lru_cache(maxsize=64)
def _run_of(n: int) -> re.Pattern:
    return re.compile(rf"(.)\1{{{n - 1},}}", re.DOTALL)


