"""Import parsers: read one export file (JSONL, CSV/TSV, WordPress WXR, Disqus XML) into an ImportBatch.

Parsers only read and validate; writing the batch to the database is the store's job. Every parser
checks the whole file before returning, so a malformed file raises ImportFormatError and yields nothing.
"""
from __future__ import annotations

import codecs
import importlib
from pathlib import Path

from moderation.domain.comments import ImportBatch

FORMATS = ("jsonl", "csv", "wxr", "disqus")

_BY_EXTENSION = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "csv"}
_XML_EXTENSIONS = (".xml", ".wxr")


class ImportFormatError(ValueError):
    """A malformed import file; str() is "path:line: message"."""

    def __init__(self, path: str | Path, line: int, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        super().__init__(f"{self.path}:{line}: {message}")

    def __reduce__(self) -> tuple:
        # The default pickling would call __init__ with the formatted string only (e.g. pytest-xdist).
        return (type(self), (self.path, self.line, self.message))


def detect_format(path: str | Path) -> str:
    """The format of a file: XML is recognised by its root element, anything else by its extension."""
    # Imported here: the format modules import ImportFormatError from this package.
    from moderation.importers.xmlread import sniff_xml

    with open(path, "rb") as fh:
        head = fh.read(4096).removeprefix(codecs.BOM_UTF8).lstrip()
    suffix = Path(path).suffix.lower()
    # Content first for XML, so an export saved under a wrong extension is still recognised.
    if head.startswith(b"<") or suffix in _XML_EXTENSIONS:
        return sniff_xml(path)
    if suffix in _BY_EXTENSION:
        return _BY_EXTENSION[suffix]
    if head.startswith(b"{"):
        return "jsonl"
    raise ImportFormatError(path, 1, f"cannot tell the format from the extension {suffix or '(none)'!r} "
                                     f"or the content; pass one of: {', '.join(FORMATS)}")


def parse_batches(path: str | Path, format: str = "auto", source: str | None = None) -> list[ImportBatch]:
    """Parse one export file into one batch per source (JSONL/CSV rows may name their own source)."""
    fmt = detect_format(path) if format == "auto" else format
    if fmt not in FORMATS:
        # A caller's mistake, not the file's: no line to point at.
        raise ValueError(f"unknown import format {format!r}; expected 'auto' or one of {', '.join(FORMATS)}")
    module = importlib.import_module(f"{__name__}.{fmt}")
    return module.parse_batches(path, source=source)


def parse(path: str | Path, format: str = "auto", source: str | None = None) -> ImportBatch:
    """Parse a single-source export file; `source` overrides the source name the file implies."""
    batches = parse_batches(path, format, source)
    if len(batches) > 1:
        names = ", ".join(b.source for b in batches)
        raise ImportFormatError(path, 1, f"the file holds several sources ({names}); read it with parse_batches")
    return batches[0]
