"""A rule set's parsed parts kept on disk as plain JSON, so a process start need not parse YAML and fold lists.

What is kept: the merged rule document as the YAML parser gave it (the schema still validates it on every
load) and each word list's folded forms. The file is named by a key made of the rules' content hash and a
fingerprint of the code that parses and folds (this module, the loader, word lists, text folding, the Unicode
tables and the pattern library), so an edited rule file or a changed folding never reads a stale entry. JSON
runs no code when read, and every value is type-checked before use: a file that is damaged, foreign or of
another shape counts as missing and the rules are compiled from their text as before.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

import regex

from moderation.rules.wordlists import WordList

FORMAT = 1
_CODE = ("rules/cache.py", "rules/loader.py", "rules/wordlists.py", "domain/text.py")
_fingerprint: str | None = None

Lists = dict[str, dict[str, WordList]]


def fingerprint() -> str:
    """Hash of the code and tables whose output is cached (computed once per process)."""
    global _fingerprint
    if _fingerprint is None:
        digest = hashlib.sha256(f"{FORMAT}\0{unicodedata.unidata_version}\0{regex.__version__}\0".encode())
        package = Path(__file__).resolve().parents[1]
        for relative in _CODE:
            digest.update((package / relative).read_bytes() + b"\0")
        _fingerprint = digest.hexdigest()[:16]
    return _fingerprint


def _path(directory: Path, version: str) -> Path:
    return directory / f"{version}-{fingerprint()}.json"


def store(directory: Path, version: str, merged: dict, lists: Lists) -> None:
    """Keep a compiled rule set's parts; silently skipped when they are not plain JSON or the folder is not
    writable (a cache never stops the rules from loading)."""
    payload = {"format": FORMAT, "version": version, "fingerprint": fingerprint(), "merged": merged,
               "lists": {name: {lang: _dump(wl) for lang, wl in by_lang.items()} for name, by_lang in lists.items()}}
    try:
        text = json.dumps(payload, ensure_ascii=False, allow_nan=False)
        if json.loads(text)["merged"] != merged:  # dates, sets, tuples: not the document the schema saw
            return
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".rules-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, _path(directory, version))  # readers see the old file or the whole new one
    except (OSError, TypeError, ValueError):
        return


def load(directory: Path, version: str) -> tuple[dict, Lists] | None:
    """The kept parts of rule set `version`, or None when there are none or they are not as written."""
    try:
        data = json.loads(_path(directory, version).read_text(encoding="utf-8"))
        if (data.get("format"), data.get("version"), data.get("fingerprint")) != (FORMAT, version, fingerprint()):
            return None
        merged = data["merged"]
        if not isinstance(merged, dict):
            return None
        lists = {_str(name): {_str(lang): _load(name, lang, raw) for lang, raw in _dict(by_lang).items()}
                 for name, by_lang in _dict(data["lists"]).items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return merged, lists


def _dump(wl: WordList) -> dict:
    return {"entries": wl.entries, "exact": wl.exact, "prefixes": wl.prefixes, "suffixes": wl.suffixes,
            "infixes": wl.infixes,
            "phrases": {first: [[[sorted(f) for f in forms], entry] for forms, entry in found]
                        for first, found in wl.phrases.items()}}


def _load(name: str, language: str, raw: Any) -> WordList:
    raw = _dict(raw)
    phrases = {_str(first): [(tuple(frozenset(map(_str, _list(f))) for f in _list(forms)), _str(entry))
                             for forms, entry in map(_list, _list(found))]
               for first, found in _dict(raw["phrases"]).items()}
    return WordList(name, language, [_str(e) for e in _list(raw["entries"])],
                    *({_str(k): _str(v) for k, v in _dict(raw[part]).items()}
                      for part in ("exact", "prefixes", "suffixes", "infixes")), phrases)


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value


def _list(value: Any) -> list:
    if not isinstance(value, list):
        raise TypeError("not a list")
    return value


def _dict(value: Any) -> dict:
    if not isinstance(value, dict):
        raise TypeError("not a mapping")
    return value
