"""CSV (or TSV by extension) with a header row, in the flat row schema (see rows.py)."""
from __future__ import annotations

import codecs
import csv
import json
from pathlib import Path
from typing import BinaryIO, Iterator

from moderation.domain.comments import ImportBatch
from moderation.importers import ImportFormatError
from moderation.importers.jsonl import STRICT, check_depth
from moderation.importers.rows import REQUIRED, RowReader


def parse_batches(path: str | Path, source: str | None = None) -> list[ImportBatch]:
    """Read a .csv/.tsv file (UTF-8, BOM optional); quoted fields may span lines."""
    delimiter = "\t" if Path(path).suffix.lower() == ".tsv" else ","
    path = str(path)
    rows = RowReader(path, source)
    with open(path, "rb") as fh:
        # strict: a stray or unclosed quote is an error, not a silently merged field.
        reader = csv.reader(_decoded_lines(fh, path), delimiter=delimiter, strict=True)
        header = _header(reader, path)
        start = reader.line_num + 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as err:
                raise ImportFormatError(path, start, f"malformed CSV: {err}") from None
            line, start = start, reader.line_num + 1  # a record may span lines; report where it starts
            if not cells:
                continue  # blank line
            if len(cells) != len(header):
                raise ImportFormatError(path, line, f"expected {len(header)} fields like the header, "
                                                    f"got {len(cells)}")
            row = dict(zip(header, cells))
            if row.get("meta"):
                row["meta"] = _meta(row["meta"], path, line)
            rows.add(row, line)
    return rows.finish()


def _decoded_lines(fh: BinaryIO, path: str) -> Iterator[str]:
    """The file's physical lines, decoded one by one so a bad byte is reported with its line."""
    for number, raw in enumerate(fh, start=1):
        if number == 1:
            raw = raw.removeprefix(codecs.BOM_UTF8)
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ImportFormatError(path, number, f"not valid UTF-8 ({err.reason})") from None


def _header(reader: Iterator[list[str]], path: str) -> list[str]:
    """Column names from line 1: unique, non-empty, and covering every required field."""
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise ImportFormatError(path, 1, "empty file: expected a header row") from None
    except csv.Error as err:
        raise ImportFormatError(path, 1, f"malformed CSV header: {err}") from None
    for index, name in enumerate(header, start=1):
        if not name:
            raise ImportFormatError(path, 1, f"column {index} has no name in the header")
        if header.index(name) != index - 1:
            raise ImportFormatError(path, 1, f"column {name!r} appears twice in the header")
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise ImportFormatError(path, 1, f"missing required column(s): {', '.join(missing)}")
    return header


def _meta(value: str, path: str, line: int) -> dict[str, object]:
    """The meta column: a JSON object written as a string."""
    check_depth(value, path, line)
    try:
        meta = json.loads(value, **STRICT)
    except ValueError as err:
        raise ImportFormatError(path, line, f"column 'meta' is not valid JSON: {err}") from None
    if not isinstance(meta, dict):
        raise ImportFormatError(path, line, "column 'meta' must hold a JSON object")
    return meta
