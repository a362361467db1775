"""The comment table every analysis reads: one row per comment, columns as numpy arrays, threads as parent indexes."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterable, Sequence

import numpy as np

STRING_COLUMNS = ("id", "article", "article_title", "author", "text", "language", "model_decision",
                  "human_decision", "reason_code")
FLOAT_COLUMNS = ("created", "toxicity", "sentiment", "decision_seconds")
RISK_LABEL = "toxicity"


@dataclass
class Frame:
    """Columns of equal length; `parent` holds the row of the parent (-1 for none), `root` the thread's first row."""

    columns: dict[str, np.ndarray]
    provenance: dict[str, object] = field(default_factory=dict)
    _codes: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.columns["id"])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def __setitem__(self, name: str, values: np.ndarray) -> None:
        self.columns[name] = values
        self._codes.pop(name, None)

    def codes(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(distinct values, each row's index into them) of a string column; a hash pass, faster than sorting."""
        hit = self._codes.get(name)
        if hit is None:
            index: dict[str, int] = {}
            inverse = np.fromiter((index.setdefault(v, len(index)) for v in self.columns[name]), dtype=np.int64,
                                  count=len(self))
            hit = self._codes[name] = (np.array(list(index), dtype=object), inverse)
        return hit

    def subset(self, mask: np.ndarray) -> "Frame":
        """The rows where mask is true; a parent left out makes its reply a thread root of the subset."""
        mask = np.asarray(mask, dtype=bool)
        new_index = np.cumsum(mask) - 1
        cols = {k: v[mask] for k, v in self.columns.items() if k not in ("parent", "root")}
        parent = self.columns["parent"][mask]
        kept = parent >= 0
        kept[kept] = mask[parent[kept]]
        cols["parent"] = np.where(kept, new_index[np.maximum(parent, 0)], -1)
        cols["root"] = roots(cols["parent"])
        return Frame(cols, dict(self.provenance))


def roots(parent: np.ndarray) -> np.ndarray:
    """The first comment of each row's thread, by pointer jumping (log of the depth passes)."""
    root = np.where(parent >= 0, parent, np.arange(len(parent)))
    for _ in range(64):
        nxt = root[root]
        if np.array_equal(nxt, root):
            return root
        root = nxt
    raise ValueError("reply chain loops back on itself")


def depths(parent: np.ndarray) -> np.ndarray:
    """Replies above each row: 0 for a comment on the article."""
    depth = np.zeros(len(parent), dtype=np.int32)
    cur = parent.copy()
    for _ in range(100_000):
        live = cur >= 0
        if not live.any():
            return depth
        depth[live] += 1
        cur[live] = parent[cur[live]]
    raise ValueError("reply chain loops back on itself")


def _epoch(value: datetime | str | float | None) -> float:
    if value is None or value == "":
        return np.nan
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


def from_records(records: Iterable[dict], provenance: dict | None = None) -> Frame:
    """Build a frame from dicts with keys id, parent_id, article_id, text and optional others (see STRING_COLUMNS)."""
    rows = list(records)
    n = len(rows)
    cols: dict[str, np.ndarray] = {}
    for name in STRING_COLUMNS:
        key = "article_id" if name == "article" else name
        cols[name] = np.array([("" if r.get(key) is None else str(r.get(key))) for r in rows], dtype=object)
    cols["created"] = np.array([_epoch(r.get("created_at")) for r in rows], dtype=np.float64)
    cols["toxicity"] = np.array([np.nan if r.get("toxicity") is None else r["toxicity"] for r in rows], np.float64)
    cols["sentiment"] = np.array([np.nan if r.get("sentiment") is None else r["sentiment"] for r in rows], np.float64)
    cols["decision_seconds"] = np.array([np.nan if r.get("decision_seconds") is None else r["decision_seconds"]
                                         for r in rows], np.float64)
    cols["rules"] = np.empty(n, dtype=object)
    cols["rules"][:] = [tuple(r.get("rules") or ()) for r in rows]
    index = {row_id: k for k, row_id in enumerate(cols["id"])}
    # A reply is linked within its article only: ids are unique per source, and a missing parent makes a root.
    cols["parent"] = np.array([index.get(str(r["parent_id"]), -1) if r.get("parent_id") else -1 for r in rows],
                              dtype=np.int64)
    cols["root"] = roots(cols["parent"])
    cols["depth"] = depths(cols["parent"])
    return Frame(cols, dict(provenance or {}))


def _sentiment(texts_languages: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    from moderation.research.sentimentmodel import default  # noqa: PLC0415 - loads lexicons (before fork when parallel)

    return default().score(*texts_languages)


def add_sentiment(frame: Frame, progress: Callable[[int], None] | None = None, chunk: int = 20_000,
                  workers: int = 1) -> None:
    """Fill the sentiment column where it is missing, by language (in `workers` processes)."""
    import multiprocessing  # noqa: PLC0415

    from moderation.research.sentimentmodel import default  # noqa: PLC0415

    scorer = default()  # loaded here, so forked workers inherit the lexicons
    todo = np.flatnonzero(np.isnan(frame["sentiment"]))
    parts = [todo[start:start + chunk] for start in range(0, len(todo), chunk)]
    jobs = ((frame["text"][rows], frame["language"][rows]) for rows in parts)
    if workers > 1 and len(parts) > 1:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for rows, scores in zip(parts, pool.imap(_sentiment, jobs)):
                frame["sentiment"][rows] = scores
                if progress:
                    progress(len(rows))
    else:
        for rows, job in zip(parts, jobs):
            frame["sentiment"][rows] = _sentiment(job)
            if progress:
                progress(len(rows))
    frame.provenance["sentiment"] = scorer.versions


_PIPELINE = None  # the pipeline a forked worker inherits


def _assess(items: list) -> list[tuple]:
    """Toxicity, verdict, rule ids and language per item (small tuples travel cheaply between processes)."""
    return [(top_score(a.scores), a.decision.value, tuple(h.rule_id for h in a.hits), a.language.language)
            for a in _PIPELINE.assess(items)]


def triage_records(records: Sequence[dict], pipeline, progress: Callable[[int], None] | None = None,  # noqa: ANN001
                   chunk: int = 2000, workers: int = 1) -> None:
    """Assess texts with the moderation pipeline: toxicity, model decision, rule hits and language per record."""
    import multiprocessing  # noqa: PLC0415

    from moderation.assess.pipeline import Item  # noqa: PLC0415

    global _PIPELINE  # noqa: PLW0603 - handed to forked workers without pickling the pipeline
    by_id = {r["id"]: r for r in records}

    def items(batch: Sequence[dict]) -> list:
        out = []
        for r in batch:
            parent = by_id.get(r.get("parent_id")) if r.get("parent_id") else None
            out.append(Item(r["text"], language=r.get("language") or None, is_reply=parent is not None,
                            parent_text=parent["text"] if parent else None,
                            parent_author=parent.get("author") if parent else None, author=r.get("author")))
        return out

    batches = [records[start:start + chunk] for start in range(0, len(records), chunk)]
    _PIPELINE = pipeline
    try:
        if workers > 1 and len(batches) > 1:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                results = pool.imap(_assess, (items(b) for b in batches))
                for batch, assessed in zip(batches, results):
                    _apply(batch, assessed, progress)
        else:
            for batch in batches:
                _apply(batch, _assess(items(batch)), progress)
    finally:
        _PIPELINE = None


def _apply(batch: Sequence[dict], assessed: list[tuple], progress: Callable[[int], None] | None) -> None:
    for r, (toxicity, decision, rules, language) in zip(batch, assessed):
        r.update(toxicity=toxicity, model_decision=decision, rules=rules, language=language or r.get("language"))
    if progress:
        progress(len(batch))


def top_score(scores: dict[str, dict[str, float]] | None, label: str = RISK_LABEL) -> float | None:
    """The highest score any scorer gave the label, or None when no scorer ran."""
    values = [s[label] for s in (scores or {}).values() if s and label in s]
    return max(values) if values else None


def pseudonymize(frame: Frame, pseudonym: Callable[[str], str]) -> None:
    """Replace author names by their pseudonyms (in place), and say so in the provenance."""
    names, inverse = frame.codes("author")
    mapped = np.array([pseudonym(n) if n else "" for n in names], dtype=object)
    frame["author"] = mapped[inverse] if len(names) else frame["author"]
    frame.provenance["pseudonymized"] = True
