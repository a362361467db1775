"""JSON Lines: one JSON object per line, in the flat row schema (see rows.py)."""
from __future__ import annotations

import codecs
import json
import math
import re
from pathlib import Path

from moderation.domain.comments import ImportBatch
from moderation.importers import ImportFormatError
from moderation.importers.rows import RowReader

MAX_DEPTH = 64  # far beyond any real export; json.loads recurses and would crash near 1,000
_STRING_OR_BRACKET = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]')


def parse_batches(path: str | Path, source: str | None = None) -> list[ImportBatch]:
    """Read a .jsonl/.ndjson file; blank lines are skipped."""
    path = str(path)
    rows = RowReader(path, source)
    with open(path, "rb") as fh:
        # Split on b"\n" only: str.splitlines() would also break at U+2028 and friends, which JSON
        # allows unescaped inside strings. UTF-8 never has a 0x0A byte inside a multi-byte character.
        for number, raw in enumerate(fh, start=1):
            if number == 1:
                raw = raw.removeprefix(codecs.BOM_UTF8)
            try:
                line = raw.decode("utf-8").rstrip("\r\n")  # so error columns refer to this line
            except UnicodeDecodeError as err:
                raise ImportFormatError(path, number, f"not valid UTF-8 ({err.reason})") from None
            if not line or line.isspace():
                continue
            rows.add(load_object(line, path, number), number)
    return rows.finish()


def load_object(line: str, path: str, number: int) -> dict[str, object]:
    """One line as a JSON object, strictly: no duplicate keys, no NaN/Infinity, nesting at most MAX_DEPTH."""
    check_depth(line, path, number)
    if line.startswith("\ufeff"):  # json.loads names a BOM; the decoder alone would say "Expecting value"
        raise ImportFormatError(path, number, "invalid JSON: a byte order mark (U+FEFF) opens the line (column 1)")
    try:
        value = _DECODER.decode(line)
    except json.JSONDecodeError as err:
        raise ImportFormatError(path, number, f"invalid JSON: {err.msg} (column {err.colno})") from None
    except ValueError as err:  # from the hooks below
        raise ImportFormatError(path, number, f"invalid JSON: {err}") from None
    if not isinstance(value, dict):
        raise ImportFormatError(path, number, f"expected a JSON object, got {type(value).__name__}")
    return value


def check_depth(text: str, path: str, number: int) -> None:
    """Refuse JSON nested deeper than MAX_DEPTH before parsing it."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return  # the usual case: too few brackets to nest that deep, no need to skip strings
    depth = 0
    for token in _STRING_OR_BRACKET.findall(text):
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise ImportFormatError(path, number, f"invalid JSON: nested deeper than {MAX_DEPTH} levels")
        elif token in "]}":
            depth -= 1


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    # json.loads silently keeps the last of repeated keys; in an export that hides a real mistake.
    out = dict(pairs)
    if len(out) < len(pairs):  # some key came twice: name the first repeat, as read
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {key!r}")
            seen.add(key)
    return out


def _no_constant(name: str) -> object:
    # NaN and Infinity are not JSON, and the store's JSON columns would reject them later.
    raise ValueError(f"{name} is not allowed")


def _finite(text: str) -> float:
    # "1e999" is valid JSON but reads as infinity, which the store's JSON columns cannot hold either.
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number {text[:20]} is out of range")
    return value


STRICT = {"object_pairs_hook": _unique_keys, "parse_constant": _no_constant, "parse_float": _finite}
_DECODER = json.JSONDecoder(**STRICT)  # what json.loads(line, **STRICT) builds anew for every line
