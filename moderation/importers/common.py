"""Helpers every parser shares: dates, and collecting records with id checks."""
from __future__ import annotations

from datetime import datetime, timezone

from moderation.domain.comments import CommentRecord, ImportBatch
from moderation.importers import ImportFormatError

# The store's column sizes: a longer value would fail only at the database (PostgreSQL), with no line.
LIMITS = {"external_id": 200, "article_id": 200, "parent_id": 200, "author": 200, "source_status": 20,
          "language": 8}
SOURCE_LIMIT = 200


def check_length(value: str | None, limit: int, what: str, path: str, line: int | None) -> None:
    """Refuse a value longer than the column that will hold it."""
    if value is not None and len(value) > limit:
        raise ImportFormatError(path, line or 1, f"{what} is longer than {limit} characters")


def parse_datetime(value: str | None, path: str, line: int) -> datetime | None:
    """An ISO 8601 or "YYYY-MM-DD HH:MM:SS" date as aware UTC datetime; None when empty."""
    value = (value or "").strip()
    # MySQL's zero date is how WordPress (and dumps of it) say "unknown".
    if not value or value.startswith("0000-00-00"):
        return None
    try:
        # Python 3.11+ reads full ISO 8601 here, including "Z" and a space instead of "T".
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ImportFormatError(path, line, f"invalid date {value!r}") from None
    if when.tzinfo is None:
        return when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc)


class Collector:
    """Gathers one file's comments, rejecting duplicate ids and self-replies as they arrive."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.batch = ImportBatch(source="default", path=path)
        self._lines: dict[str, int] = {}

    def add(self, record: CommentRecord, line: int) -> None:
        """Check and keep one record read at `line`."""
        for name, limit in LIMITS.items():
            value = getattr(record, name)
            if value is not None and len(value) > limit:  # check_length, inline: it runs for every field
                check_length(value, limit, name.replace("_", " "), self.path, line)
        if record.parent_id is not None and record.parent_id == record.external_id:
            raise ImportFormatError(self.path, line, f"comment {record.external_id!r} is its own parent")
        first = self._lines.get(record.external_id)
        if first is not None:
            raise ImportFormatError(self.path, line,
                                    f"duplicate id {record.external_id!r} on lines {first} and {line}")
        self._lines[record.external_id] = line
        record.location = f"{self.path}:{line}"
        self.batch.comments.append(record)

    def finish(self, source: str) -> ImportBatch:
        """The batch, with an article for every comment (merged into any the file described)."""
        for record in self.batch.comments:
            self.batch.article(record)
        self.batch.source = source
        return self.batch
