"""`python -m bench.accuracy [CORPUS ...]`: accuracy rows for bench/ACCURACY.md (markdown on stdout).

Per corpus: the shipped model (never trained on it, unless it is a training corpus: then skipped), our
architecture trained in-domain and a plain TF-IDF + logistic regression baseline (both 5-fold cross-validated,
each fold choosing its threshold on a held-out fifth of its own training part), and the tiny random Detoxify
model (a plumbing check: about chance by construction; fixed threshold 0.5, as it has no training data).
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import corpora
from moderation.learning import training as learning
from moderation.rules import load_ruleset
from moderation.scoring.estimator import load_model
from moderation.scoring.sklearn import PACKAGE_MODEL, lexicon_from_ruleset

ROOT = Path(__file__).resolve().parent.parent
FOLDS = 5
DETOXIFY_THRESHOLD = 0.5  # fixed, never tuned on the rows scored (see ACCURACY.md)


def _known(data: learning.Dataset) -> tuple[list[str], np.ndarray]:
    col = data.column("toxicity")
    keep = ~np.isnan(col)
    return [t for t, k in zip(data.texts, keep) if k], col[keep].astype(int)


def shipped(data: learning.Dataset) -> dict:
    model, card = load_model(PACKAGE_MODEL)
    return learning.evaluate(model, data, float(card["threshold"]))


def _folds(y: np.ndarray, seed: int = 0):
    from sklearn.model_selection import StratifiedKFold

    return StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)


def cv_ours(data: learning.Dataset, lexicon: dict) -> dict:
    texts, y = _known(data)
    probs, preds_at = np.zeros(len(y)), np.zeros(len(y))
    for train_idx, test_idx in _folds(y):
        part = learning.Dataset([texts[i] for i in train_idx], ("toxicity",), y[train_idx, None].astype(float))
        model, report = learning.train(part, lexicon=lexicon)
        probs[test_idx] = model.predict_proba([texts[i] for i in test_idx])[:, 0]
        preds_at[test_idx] = report["threshold"]
    return _pooled(y, probs, preds_at)


def cv_tfidf(data: learning.Dataset) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline

    texts, y = _known(data)
    probs, preds_at = np.zeros(len(y)), np.zeros(len(y))
    for train_idx, test_idx in _folds(y):
        fit_idx, held_idx = train_test_split(train_idx, test_size=0.2, random_state=0, stratify=y[train_idx])

        def fitted(rows):
            return make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                                 LogisticRegression(max_iter=1000)).fit([texts[i] for i in rows], y[rows])
        threshold = learning.best_f1_threshold(y[held_idx], fitted(fit_idx).predict_proba(
            [texts[i] for i in held_idx])[:, 1])
        probs[test_idx] = fitted(train_idx).predict_proba([texts[i] for i in test_idx])[:, 1]
        preds_at[test_idx] = threshold
    return _pooled(y, probs, preds_at)


def _pooled(y: np.ndarray, probs: np.ndarray, thresholds: np.ndarray) -> dict:
    """Metrics over all folds' predictions, each at its own fold's threshold (reported: their mean)."""
    shifted = probs - thresholds + 0.5  # same decisions as per-fold thresholds, one cut at 0.5; AUC from raw probs
    out = learning.binary_metrics(y, shifted, 0.5)
    out["roc_auc"] = learning.binary_metrics(y, probs, 0.5)["roc_auc"]
    out["threshold"] = round(float(np.mean(thresholds)), 4)
    return out


def detoxify_tiny(data: learning.Dataset, limit: int = 1000) -> dict:
    from bench.detoxify_model import build
    from moderation.scoring.detoxify import load

    texts, y = _known(data)
    rng = np.random.default_rng(0)
    pick = rng.choice(len(y), size=min(limit, len(y)), replace=False)
    os.environ["HF_HUB_OFFLINE"] = "1"
    with tempfile.TemporaryDirectory() as folder:
        checkpoint, config_dir = build(Path(folder))
        scorer = load("", str(checkpoint), str(config_dir), "cpu", 1)
        probs = np.array([s["toxicity"] for s in scorer.score([texts[i] for i in pick])])
    # A random model has no training data to choose a threshold on, and one tuned on these rows would flatter
    # it: Detoxify's usual fixed 0.5.
    return learning.binary_metrics(y[pick], probs, DETOXIFY_THRESHOLD)


def row(corpus: str, model: str, m: dict, command: str, seconds: float) -> str:
    pct = lambda v: "–" if v is None else f"{100 * v:.1f}"  # noqa: E731
    return (f"| {corpus} | {model} | {m['n']:,} | {pct(m['roc_auc'])} | {pct(m['f1_official'])} | "
            f"{pct(m['f1_macro'])} | {m['threshold']:.3f} | `{command}` ({seconds:.0f} s) |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    names = list(corpora.EVALUATE) + list(corpora.TRAIN)
    parser.add_argument("corpora", nargs="*", default=names, choices=names)
    parser.add_argument("--data", type=Path, default=corpora.default_root())
    parser.add_argument("--rows", default="shipped,ours,tfidf,detoxify-tiny")
    args = parser.parse_args()
    lexicon = lexicon_from_ruleset(load_ruleset(ROOT / "rules"))
    wanted = args.rows.split(",")
    print(f"<!-- load average at start: {os.getloadavg()} -->")
    for name in args.corpora:
        data = corpora.load(name, args.data)
        runs = []
        if "shipped" in wanted and name not in corpora.TRAIN:
            runs.append(("shipped model", lambda: shipped(data), "shipped"))
        if "ours" in wanted:
            runs.append((f"ours, in-domain {FOLDS}-fold CV", lambda: cv_ours(data, lexicon), "ours"))
        if "tfidf" in wanted:
            runs.append((f"TF-IDF + LR, in-domain {FOLDS}-fold CV", lambda: cv_tfidf(data), "tfidf"))
        if "detoxify-tiny" in wanted:
            runs.append(("Detoxify tiny random (1,000 sampled)", lambda: detoxify_tiny(data), "detoxify-tiny"))
        for label, fn, key in runs:
            start = time.perf_counter()
            metrics = fn()
            print(row(name, label, metrics, f"python -m bench.accuracy {name} --rows {key}",
                      time.perf_counter() - start), flush=True)


if __name__ == "__main__":
    main()
