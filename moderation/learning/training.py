"""Learning: labelled data from files or moderator decisions, training, evaluation metrics, thresholds."""
from __future__ import annotations

import csv
import gzip
import json
import math
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

import numpy as np

if TYPE_CHECKING:
    from moderation.scoring.estimator import ToxicityClassifier
    from moderation.store import Database

# Column names accepted in labelled files, mapped onto the shared label vocabulary.
LABEL_COLUMNS = {"label": "toxicity", "toxic": "toxicity", "toxicity": "toxicity", "insult": "insult",
                 "threat": "threat", "profanity": "obscene", "obscene": "obscene",
                 "identity_attack": "identity_attack", "identity_hate": "identity_attack"}
TEXT_COLUMNS = ("text", "comment_text", "comment")
TRUE = {"1", "1.0", "true", "yes", "toxic", "offense", "rejected"}
FALSE = {"0", "0.0", "false", "no", "other", "approved"}
HELDOUT_BUCKETS = 5  # a decided comment with id % 5 == 0 is held out from site training, for evaluation
# Below this many toxic rows the NB log-count ratios are estimated from too few examples and add noise: plain
# logistic regression instead (One Million Posts, 250-1,000 decisions with 38-150 deletions: ROC-AUC +0.6 to +2.3;
# bench/ACCURACY.md, learning curve).
NB_MIN_POSITIVES = 250
NB_ALPHA = 0.5


class DataError(ValueError):
    """Bad labelled data; the message names file and line."""


@dataclass
class Dataset:
    """Texts with a 0/1/NaN matrix of labels (NaN: this row says nothing about that label)."""

    texts: list[str]
    labels: tuple[str, ...]
    y: np.ndarray
    sources: list[str] = field(default_factory=list)
    skipped_empty: int = 0  # rows left out because their text was empty (counted, not refused)

    def __len__(self) -> int:
        return len(self.texts)

    def column(self, label: str = "toxicity") -> np.ndarray:
        return self.y[:, self.labels.index(label)]

    def take(self, rows: np.ndarray) -> "Dataset":
        """The given rows (indices, or a boolean mask), in that order."""
        idx = np.flatnonzero(rows) if rows.dtype == bool else rows
        return Dataset([self.texts[i] for i in idx], self.labels, self.y[idx],
                       [self.sources[i] for i in idx] if self.sources else [])

    @classmethod
    def concat(cls, parts: Sequence["Dataset"]) -> "Dataset":
        labels = tuple(dict.fromkeys(lb for p in parts for lb in p.labels))
        y = np.full((sum(len(p) for p in parts), len(labels)), np.nan)
        row = 0
        for p in parts:
            for j, label in enumerate(p.labels):
                y[row:row + len(p), labels.index(label)] = p.y[:, j]
            row += len(p)
        return cls([t for p in parts for t in p.texts], labels, y, [s for p in parts for s in p.sources],
                   sum(p.skipped_empty for p in parts))


def _value(raw: object, where: str) -> float:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return math.nan
    if isinstance(raw, bool):
        return float(raw)
    if isinstance(raw, (int, float)):
        if raw not in (0, 1):
            raise DataError(f"{where}: label must be 0 or 1, got {raw!r}")
        return float(raw)
    text = str(raw).strip().lower()
    if text in TRUE:
        return 1.0
    if text in FALSE:
        return 0.0
    raise DataError(f"{where}: label must be 0 or 1, got {raw!r}")


def _rows(path: Path) -> Iterable[tuple[int, dict]]:
    name = path.name.lower().removesuffix(".gz")
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as fh:
        if name.endswith((".jsonl", ".ndjson")):
            for number, line in enumerate(fh, start=1):
                if line.strip():
                    try:
                        yield number, json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise DataError(f"{path}:{number}: not JSON: {exc.msg}") from None
        elif name.endswith((".csv", ".tsv", ".txt")):
            reader = csv.DictReader(fh, delimiter="\t" if not name.endswith(".csv") else ",")
            for row in reader:
                yield reader.line_num, row
        else:
            raise DataError(f"{path}: unknown format (use .csv, .tsv or .jsonl, optionally .gz)")


def read_labelled(path: Path) -> Dataset:
    """A CSV/TSV/JSONL file with a text column and a `label` column (1 = toxic), or per-label columns.

    Rows with an empty text are skipped and counted (`skipped_empty`); a file with nothing but those is refused.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    texts: list[str] = []
    values: list[list[float]] = []
    columns: dict[str, str] | None = None
    text_key = ""
    skipped = 0
    for number, row in _rows(path):
        where = f"{path}:{number}"
        if not isinstance(row, dict):
            raise DataError(f"{where}: expected an object with text and label")
        if columns is None:
            text_key = next((k for k in TEXT_COLUMNS if k in row), "")
            columns = {k: LABEL_COLUMNS[k.lower()] for k in row if k and k.lower() in LABEL_COLUMNS}
            if not text_key or not columns:
                raise DataError(f"{where}: need a text column ({', '.join(TEXT_COLUMNS)}) and a label column "
                                f"({', '.join(sorted(LABEL_COLUMNS))}); found {', '.join(map(str, row))}")
        text = row.get(text_key)
        if text is None or isinstance(text, str) and not text.strip():
            skipped += 1
            continue
        if not isinstance(text, str):
            raise DataError(f"{where}: text must be a string, got {text!r}")
        texts.append(text)
        values.append([_value(row.get(k), f"{where}: column {k}") for k in columns])
    if not texts:
        raise DataError(f"{path}: no rows" + (f" with text ({skipped} empty)" if skipped else ""))
    labels = tuple(columns.values())
    y = np.array(values, dtype=np.float64)
    if len(set(labels)) != len(labels):  # e.g. both `label` and `toxic`: keep the first
        keep = [labels.index(lb) for lb in dict.fromkeys(labels)]
        y, labels = y[:, keep], tuple(dict.fromkeys(labels))
    return Dataset(texts, labels, y, [path.name] * len(texts), skipped)


APPROVED_AT_SOURCE = ("approved",)  # an imported comment the old system published (WXR 1, Disqus not deleted/spam)


def decided_comments() -> tuple:
    """The filter for labelled comments: a moderator approved or rejected them, here or (imported) at the source.

    Imports mark a source's removals (spam, trash, deleted) and explicit `decision`s as human decisions; a
    comment published at the source and not decided here since counts as approved (label 0) from day one.
    """
    from sqlalchemy import and_, or_  # noqa: PLC0415

    from moderation.store import Comment  # noqa: PLC0415

    human = and_(Comment.decided_by_human.is_(True), Comment.status.in_(("approved", "rejected")))
    published = and_(Comment.decided_by_human.is_(False), Comment.source_status.in_(APPROVED_AT_SOURCE))
    return (or_(human, published),)


def from_decisions(db: "Database", *, heldout: bool = False) -> Dataset:
    """Comments approved (0) or rejected (1), here or at the source; the held-out fifth or the rest.

    Comments with an empty text are skipped and counted in `skipped_empty`.
    """
    from sqlalchemy import select  # noqa: PLC0415

    from moderation.store import Comment  # noqa: PLC0415

    query = (select(Comment.id, Comment.text, Comment.status, Comment.decided_by_human)
             .where(*decided_comments()).order_by(Comment.id))
    texts, y, skipped = [], [], 0
    with db.session() as session:
        for cid, text, status, human in session.execute(query):
            if (cid % HELDOUT_BUCKETS == 0) != heldout:
                continue
            if not (text or "").strip():
                skipped += 1
                continue
            texts.append(text)
            y.append([float(human and status == "rejected")])
    return Dataset(texts, ("toxicity",), np.array(y, dtype=np.float64).reshape(-1, 1), ["decisions"] * len(texts),
                   skipped)


# -- metrics -------------------------------------------------------------------------------------------------
def binary_metrics(truth: Sequence[int], probs: Sequence[float], threshold: float) -> dict:
    """ROC-AUC; GermEval's official F1 (harmonic mean of macro precision and macro recall); mean per-class F1."""
    from sklearn.metrics import precision_recall_fscore_support, roc_auc_score  # noqa: PLC0415

    truth = np.asarray(truth, dtype=int)
    probs = np.asarray(probs, dtype=float)
    pred = (probs >= threshold).astype(int)
    p, r, f, _ = precision_recall_fscore_support(truth, pred, labels=[0, 1], zero_division=0)
    macro_p, macro_r = float(p.mean()), float(r.mean())
    official = 2 * macro_p * macro_r / (macro_p + macro_r) if macro_p + macro_r else 0.0
    auc = float(roc_auc_score(truth, probs)) if len(set(truth.tolist())) == 2 else None
    return {"n": int(len(truth)), "positives": int(truth.sum()), "roc_auc": _r(auc), "f1_official": _r(official),
            "f1_macro": _r(float(f.mean())), "precision_macro": _r(macro_p), "recall_macro": _r(macro_r),
            "threshold": _r(threshold)}


def best_f1_threshold(truth: Sequence[int], probs: Sequence[float]) -> float:
    """The threshold with the highest official F1 (used on held-out data, never on the evaluation set).

    Every distinct score at the four decimals the scorer reports is a candidate (so the cut chosen is one the
    product applies exactly); among equal F1s (to four decimals) the one nearest 0.5.
    """
    from sklearn.metrics import precision_recall_curve  # noqa: PLC0415

    truth = np.asarray(truth, dtype=int)
    scores = np.round(np.asarray(probs, dtype=float), 4)
    with warnings.catch_warnings():  # one class only: every cut scores alike, the nearest to 0.5 wins
        warnings.filterwarnings("ignore", "No positive class found")
        precision, recall, cuts = precision_recall_curve(truth, scores)
    pos, neg = int(truth.sum()), int(len(truth) - truth.sum())
    flagged = len(scores) - np.searchsorted(np.sort(scores), cuts, side="left")
    tp = np.rint(recall[:-1] * pos)
    tn, fn = neg - (flagged - tp), pos - tp
    with np.errstate(divide="ignore", invalid="ignore"):
        neg_precision = np.where(tn + fn > 0, tn / (tn + fn), 0.0)
        macro_p = (precision[:-1] + neg_precision) / 2
        macro_r = ((tp / pos if pos else 0.0) + (tn / neg if neg else 0.0)) / 2
        official = np.where(macro_p + macro_r > 0, 2 * macro_p * macro_r / (macro_p + macro_r), 0.0)
    best = np.lexsort((-np.abs(cuts - 0.5), np.round(official, 4)))[-1]
    return round(float(cuts[best]), 4)


def _r(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4)


# -- training ------------------------------------------------------------------------------------------------
def train(data: Dataset, *, lexicon: Mapping[str, Sequence[str]] | None = None, holdout: float = 0.2,
          target_precision: float = 0.8, seed: int = 0, prior: "ToxicityClassifier | None" = None,
          **params: object) -> tuple["ToxicityClassifier", dict]:
    """Fit on all but a held-out share, choose thresholds and measure there, then refit on everything.

    Returns the model and the held-out report (metrics, decision threshold, per-label precision thresholds).
    Without an explicit `nb_alpha`, NB weighting only with at least NB_MIN_POSITIVES toxic rows. A `prior`
    model (trained on other data) lends its score as one more feature, and its features' shape and word lists.
    """
    from sklearn.model_selection import train_test_split  # noqa: PLC0415

    from moderation.learning.calibration import threshold_for_precision  # noqa: PLC0415
    from moderation.scoring.estimator import ToxicityClassifier  # noqa: PLC0415

    labels = tuple(lb for lb in data.labels if _trainable(data.column(lb)))
    if "toxicity" not in labels:
        raise DataError("the data needs toxic and non-toxic examples (label 1 and 0)")
    y = data.y[:, [data.labels.index(lb) for lb in labels]]
    tox = y[:, 0] if labels[0] == "toxicity" else y[:, labels.index("toxicity")]
    strata = np.where(np.isnan(tox), -1, tox).astype(int)
    rows = np.arange(len(data))
    fit_rows, held_rows = train_test_split(rows, test_size=holdout, random_state=seed, stratify=strata)
    if "nb_alpha" not in params:
        params["nb_alpha"] = NB_ALPHA if np.nansum(tox) >= NB_MIN_POSITIVES else None
    if prior is not None:
        word_bits, char_bits, char_ngrams, lexicon = prior.feature_shape()
        params.update(word_bits=word_bits, char_bits=char_bits, char_ngrams=char_ngrams)
    model = ToxicityClassifier(labels=labels, lexicon=dict(lexicon or {}), **params)
    features = model.transform(data.texts)
    model.fit_features(features[fit_rows], y[fit_rows], prior=prior)
    held = model.predict_proba_features(features[held_rows])
    report: dict = {"heldout_share": holdout, "seed": seed, "thresholds": {}, "heldout": {}}
    for j, label in enumerate(labels):
        known = ~np.isnan(y[held_rows, j])
        truth, probs = y[held_rows, j][known].astype(int), held[known, j]
        if len(set(truth.tolist())) < 2:
            continue
        t = best_f1_threshold(truth, probs)
        report["heldout"][label] = binary_metrics(truth, probs, t)
        cut, precision, recall, flagged = threshold_for_precision(probs.tolist(), truth.tolist(), target_precision,
                                                                  min_support=10)
        report["thresholds"][label] = {"target_precision": target_precision, "threshold": cut,
                                       "precision": precision, "recall": recall, "flagged": flagged}
    report["threshold"] = report["heldout"]["toxicity"]["threshold"]
    model.set_params(thresholds={label: m["threshold"] for label, m in report["heldout"].items()})  # as the card's
    model.fit_features(features, y, prior=prior)
    report["prior_weights"] = model.prior_weights_
    return model, report


def _trainable(column: np.ndarray) -> bool:
    known = column[~np.isnan(column)]
    return bool(known.size) and 0 < known.sum() < known.size and min(known.sum(), known.size - known.sum()) >= 5


def make_card(name: str, version: str, report: dict, data: Dataset, sources: Sequence[Mapping] = (),
              extra: Mapping | None = None) -> dict:
    """The model card: what it was trained on (with licences), what it scored on held-out data, when."""
    counts: dict[str, int] = {}
    for s in data.sources:
        counts[s] = counts.get(s, 0) + 1
    return {"name": name, "version": version, "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "labels": list(report["heldout"]), "training_rows": len(data), "rows_by_source": counts,
            "sources": list(sources), "threshold": report["threshold"], "thresholds": report["thresholds"],
            "metrics_heldout": report["heldout"], "heldout_share": report["heldout_share"],
            "skipped_empty": data.skipped_empty, **(extra or {})}


def evaluate(model: "ToxicityClassifier", data: Dataset, threshold: float) -> dict:
    """Metrics for the toxicity label of `data` at the model's threshold."""
    known = ~np.isnan(data.column("toxicity"))
    texts = [t for t, k in zip(data.texts, known) if k]
    col = list(model.labels_).index("toxicity")
    probs = model.predict_proba(texts)[:, col]
    return binary_metrics(data.column("toxicity")[known].astype(int), probs, threshold)
