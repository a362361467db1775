"""Comment text cut into plain and marked pieces from span offsets; templates escape every piece."""
from __future__ import annotations

from typing import Iterable, NamedTuple


class Piece(NamedTuple):
    text: str
    labels: tuple[str, ...]  # empty: not matched by any rule


def pieces(text: str, spans: Iterable[dict]) -> list[Piece]:
    """Split text at span boundaries; overlapping spans merge their labels. Offsets outside the text are ignored."""
    cuts = {0, len(text)}
    marks: list[tuple[int, int, str]] = []
    for span in spans:
        start, end = int(span.get("start", 0)), int(span.get("end", 0))
        if 0 <= start < end <= len(text):
            cuts.update((start, end))
            marks.append((start, end, str(span.get("rule") or span.get("label") or "")))
    bounds = sorted(cuts)
    out = []
    for a, b in zip(bounds, bounds[1:]):
        labels = tuple(sorted({label for s, e, label in marks if s <= a and b <= e}))
        out.append(Piece(text[a:b], labels))
    return out


def hit_spans(hits: Iterable[dict]) -> list[dict]:
    """Every span of every hit, labelled with its rule, for pieces()."""
    return [{**span, "rule": hit["rule"]} for hit in hits for span in hit.get("spans", []) if span.get("text")]
