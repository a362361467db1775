"""The flat row schema JSONL and CSV share: one row (a dict) becomes one CommentRecord."""
from __future__ import annotations

import json
import re

from moderation.domain.comments import HISTORIC_DECISIONS, CommentRecord, ImportBatch, Kind
from moderation.importers import ImportFormatError
from moderation.importers.common import Collector, parse_datetime

REQUIRED = ("id", "article_id", "text")
_IDS = ("id", "article_id", "parent_id")
_STRINGS = ("text", "author", "created_at", "article_title", "article_url", "decision", "source", "kind",
            "status", "language")
KNOWN = frozenset(_IDS + _STRINGS + ("meta",))
# The store's column sizes: a longer value would fail only at the database, with no line to point at.
_MAX_LENGTH = {"id": 200, "article_id": 200, "parent_id": 200, "author": 200, "source": 200, "kind": 20,
               "status": 20, "language": 8}
_FIELD_LIMIT = {key: _MAX_LENGTH.get(key, 1 << 62) for key in _IDS + _STRINGS}
# Lone surrogates can come from JSON "\ud800" escapes; they cannot be encoded, so nothing could store them.
_SURROGATE = re.compile("[\ud800-\udfff]")


class RowReader:
    """Turns rows into records for one file, and settles each record's source name."""

    def __init__(self, path: str, source: str | None) -> None:
        self.path = path
        self.given_source = source
        self.rows: list[tuple[CommentRecord, int, str | None]] = []  # record, line, the source its row named

    def add(self, row: dict[str, object], line: int) -> None:
        """Validate one row read at `line` and keep its record."""
        values = {}
        for key, value in row.items():
            # The common case checked inline: a non-blank string in a string field, within its column's size.
            if (value.__class__ is str and key in _FIELD_LIMIT and not value.isspace() and value
                    and len(value) <= _FIELD_LIMIT[key] and _SURROGATE.search(value) is None):
                values[key] = value
            else:
                values[key] = self._value(key, value, line)
        for key in REQUIRED:
            if values.get(key) is None:
                raise ImportFormatError(self.path, line, f"missing required field {key!r}")
        meta = values.get("meta") or {}
        extra = {k: v for k, v in values.items() if k not in KNOWN and v is not None} if values.keys() - KNOWN else {}
        record = CommentRecord(
            external_id=values["id"], article_id=values["article_id"], text=values["text"],
            parent_id=values.get("parent_id"), author=values.get("author"),
            created_at=parse_datetime(values.get("created_at"), self.path, line),
            article_title=values.get("article_title"), article_url=values.get("article_url"),
            decision=self._decision(values.get("decision"), line), kind=self._kind(values.get("kind"), line),
            source_status=values.get("status"), language=values.get("language"),
            meta={**extra, **meta})
        self.rows.append((record, line, values.get("source")))

    def finish(self) -> list[ImportBatch]:
        """One validated batch per source: the caller's source wins, then the rows' own, then "default".

        Rows that name no source go along with the others when the file names a single one (an export of
        several sources names it on every row).
        """
        named = {src for _, _, src in self.rows if src is not None}
        fallback = self.given_source or (next(iter(named)) if len(named) == 1 else "default")
        collectors: dict[str, Collector] = {}
        for record, line, src in self.rows:
            source = self.given_source or src or fallback
            collector = collectors.get(source)
            if collector is None:
                collector = collectors[source] = Collector(self.path)
            collector.add(record, line)
        if not collectors:
            collectors[fallback] = Collector(self.path)
        return [c.finish(source) for source, c in collectors.items()]

    def _value(self, key: str, value: object, line: int) -> object:
        """One field checked for type; empty strings and nulls become None."""
        if value is None or (value == "" and key != "text"):
            return None  # an empty text is kept: deleted comments have none
        if key in _IDS:
            # Numeric ids are common in JSON; they are kept as strings like every other id.
            if isinstance(value, int) and not isinstance(value, bool):
                return str(value)
            if not isinstance(value, str) or not value.strip():
                raise ImportFormatError(self.path, line, f"field {key!r} must be a non-empty string or "
                                                         f"integer, got {_type_name(value)}")
        elif key in _STRINGS:
            if not isinstance(value, str):
                raise ImportFormatError(self.path, line, f"field {key!r} must be a string, "
                                                         f"got {_type_name(value)}")
        elif key == "meta" and not isinstance(value, dict):
            raise ImportFormatError(self.path, line,
                                    f"field 'meta' must be an object, got {_type_name(value)}")
        # Nested values (meta, unknown fields) go to the store's JSON column, which cannot hold them either.
        if _SURROGATE.search(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)):
            raise ImportFormatError(self.path, line, f"field {key!r} contains an unpaired surrogate")
        if isinstance(value, str) and len(value) > _MAX_LENGTH.get(key, len(value)):
            raise ImportFormatError(self.path, line, f"field {key!r} is longer than {_MAX_LENGTH[key]} "
                                                     f"characters")
        return value

    def _decision(self, value: str | None, line: int) -> str | None:
        if value is not None and value not in HISTORIC_DECISIONS:
            raise ImportFormatError(self.path, line, f"unknown decision {value!r}; expected one of "
                                                     f"{', '.join(HISTORIC_DECISIONS)}")
        return value

    def _kind(self, value: str | None, line: int) -> Kind:
        if value is None:
            return Kind.COMMENT
        try:
            return Kind(value or Kind.COMMENT)
        except ValueError:
            raise ImportFormatError(self.path, line, f"unknown kind {value!r}; expected one of "
                                                     f"{', '.join(Kind)}") from None



def _type_name(value: object) -> str:
    return {dict: "object", list: "array", bool: "boolean", float: "number", int: "integer",
            str: "string"}.get(type(value), type(value).__name__)
