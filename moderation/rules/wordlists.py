"""Word lists: one entry per line, matched on folded tokens as whole words with inflections.

Entry syntax (one per line, `#` starts a comment):
  idiot          the word and its inflections (Idioten, idiots)
  *idiot         also as the last part of a compound (Vollidiot, Riesenidioten)
  dumm*          also as the first part of a compound (Dummkopf, dummdreist)
  =sie           exactly this word, no inflections
  halt die klappe  a phrase: these words in a row (the last one inflected)
A line `#! inflect: false` switches inflections off for the whole file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
import regex

from moderation.domain.text import Token, fold, fold_emoji, fold_forms

# Inflectional endings added to each plain entry, per language; other languages match exact forms only.
INFLECTIONS: dict[str, tuple[str, ...]] = {
    "de": ("e", "en", "n", "s", "es", "er", "ern", "em", "in", "innen", "chen"),
    "en": ("s", "es", "ed", "d", "ing", "er", "ers", "y"),
}
MIN_AFFIX = 3  # shortest entry that may stand at the start or end of a compound
_EMOJI = regex.compile(r"^\p{Extended_Pictographic}", regex.V1)
_VALID = regex.compile(r"^[\p{L}\p{N}\p{M}' \-$@!|€+.]+$|^\p{Extended_Pictographic}", regex.V1)
MATCHED_KINDS = frozenset({"word", "spaced", "emoji"})  # @mentions are handles, not words


class WordListError(ValueError):
    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path, self.line, self.message = path, line, message


@dataclass
class WordList:
    """A compiled list for one language: exact forms, compound heads and tails, infixes, phrases."""

    name: str
    language: str
    entries: list[str] = field(default_factory=list)
    exact: dict[str, str] = field(default_factory=dict)
    prefixes: dict[str, str] = field(default_factory=dict)
    suffixes: dict[str, str] = field(default_factory=dict)
    infixes: dict[str, str] = field(default_factory=dict)
    phrases: dict[str, list[tuple[tuple[frozenset[str], ...], str]]] = field(default_factory=dict)

    @classmethod
    def parse(cls, name: str, language: str, text: str, path: str = "<inline>") -> "WordList":
        wl = cls(name, language)
        inflect = True
        for number, raw in enumerate(text.splitlines(), start=1):
            if raw.startswith("#!"):
                key, _, value = raw[2:].partition(":")
                if key.strip() != "inflect" or value.strip().lower() not in ("true", "false"):
                    raise WordListError(path, number, f"unknown directive {raw.strip()!r}")
                inflect = value.strip().lower() == "true"
                continue
            line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
            if line:
                try:
                    wl.add(line, inflect)
                except ValueError as exc:
                    raise WordListError(path, number, str(exc)) from None
        return wl

    def _forms(self, word: str, inflect: bool) -> set[str]:
        base = fold(word)
        if not base:
            raise ValueError(f"entry {word!r} has no letters left after folding")
        if not inflect:
            return {base}
        return {base} | {fold(word + ending) for ending in INFLECTIONS.get(self.language, ())}

    def add(self, entry: str, inflect: bool = True) -> None:
        """Add one entry in list syntax."""
        if not _VALID.match(entry.strip("*=")):
            raise ValueError(f"entry {entry!r} has characters a word list cannot match")
        self.entries.append(entry)
        if _EMOJI.match(entry):
            self.exact[fold_emoji(entry)] = entry
            return
        exact = entry.startswith("=")
        word = entry.lstrip("=")
        if " " in word.strip():
            parts = word.split()
            forms = tuple(frozenset({fold(p)}) for p in parts[:-1]) + (
                frozenset(self._forms(parts[-1], inflect and not exact)),)
            for first in forms[0]:
                self.phrases.setdefault(first, []).append((forms, entry))
            return
        head, tail = word.startswith("*"), word.endswith("*")
        core = word.strip("*")
        if (head or tail) and len(fold(core)) < MIN_AFFIX:
            raise ValueError(f"compound entry {entry!r} is too short (at least {MIN_AFFIX} letters)")
        forms = self._forms(core, inflect and not exact and not tail)
        target = (self.infixes if head and tail else self.suffixes if head else
                  self.prefixes if tail else self.exact)
        for form in forms:
            target[form] = entry
        if head or tail:
            for form in forms:
                self.exact.setdefault(form, entry)

    def _entry_for(self, norm: str) -> str | None:
        hit = self.exact.get(norm)
        if hit is not None or len(norm) <= MIN_AFFIX:
            return hit
        if self.suffixes:
            for i in range(1, len(norm) - MIN_AFFIX + 1):
                hit = self.suffixes.get(norm[i:])
                if hit is not None:
                    return hit
        if self.prefixes:
            for i in range(len(norm) - 1, MIN_AFFIX - 1, -1):
                hit = self.prefixes.get(norm[:i])
                if hit is not None:
                    return hit
        for infix, entry in self.infixes.items():
            if infix in norm:
                return entry
        return None

    def has_word(self, word: str) -> bool:
        """Whether a word (as written) is a single-word entry of this list."""
        return any(form is not None and self._entry_for(form) is not None for form in fold_forms(word))

    def phrase_parts(self) -> list[tuple[frozenset[str], ...]]:
        """Each phrase entry once, as the forms each of its words may take."""
        return list({forms: None for entries in self.phrases.values() for forms, _ in entries})

    @property
    def emoji(self) -> list[str]:
        return [e for e in self.entries if _EMOJI.match(e)]

    def find(self, tokens: list[Token]) -> list[tuple[int, int, str]]:
        """(first token, last token, entry) for every match, in text order."""
        norms = [tok.norm for tok in tokens]
        alts = [tok.alt for tok in tokens]
        found: list[tuple[int, int, str]] = []
        for i, tok in enumerate(tokens):
            if tok.kind in MATCHED_KINDS:
                self.find_at(norms, alts, i, found)
        return found

    def find_at(self, norms: list[str], alts: list[str | None], i: int, found: list[tuple[int, int, str]]) -> None:
        """Append the matches that start at token i (a phrase first, then the word itself) to `found`."""
        norm, alt = norms[i], alts[i]
        phrases = self.phrases
        if phrases and (norm in phrases or alt in phrases):
            for forms, entry in phrases.get(norm) or phrases[alt]:
                end = i + len(forms)
                if end <= len(norms) and all(norms[i + k] in f or alts[i + k] in f for k, f in enumerate(forms)):
                    found.append((i, end - 1, entry))
                    break
        entry = self._entry_for(norm)
        if entry is None and alt is not None:
            entry = self._entry_for(alt)
        if entry is not None:
            found.append((i, i, entry))

    def keys(self) -> set[str]:
        """Every folded form a match needs, in words joined by single spaces and framed by a space where the
        match must start or end a word: " idiot ", "idiot " (compound tail), " dumm" (head), "halt die klappe "."""
        keys = {f" {form} " for form in self.exact} | {f"{form} " for form in self.suffixes}
        keys |= {f" {form}" for form in self.prefixes} | set(self.infixes)
        for parts in self.phrase_parts():
            combos = [""]
            for forms in parts:
                combos = [f"{c} {form}" for c in combos for form in forms]
            keys |= {f"{c} " for c in combos}
        return keys

    def __contains__(self, word: str) -> bool:
        return self.has_word(word)


def parse_lists(files: dict[str, str], origin: str = "") -> dict[str, dict[str, WordList]]:
    """Lists from {"wordlists/<language>/<name>.txt": text} as {name: {language: WordList}}; 'common' is every
    language."""
    lists: dict[str, dict[str, WordList]] = {}
    for relative, text in sorted(files.items()):
        parts = relative.split("/")
        if len(parts) == 3 and parts[0] == "wordlists" and parts[2].endswith(".txt"):
            language, name = parts[1], parts[2][:-4]
            where = f"{origin}/{relative}" if origin else relative
            lists.setdefault(name, {})[language] = WordList.parse(name, language, text, where)
    return lists
