"""`python -m bench.accuracy [CORPUS ...]`: accuracy rows for bench/ACCURACY.md (markdown on stdout).

Per corpus, on its held-out rows (corpora.HELDOUT: official dev/fold where one exists, else a stratified fifth;
the official test files are withheld): the shipped model (trained at most on the corpus' rows to fit), the site
model trained in-domain on the rows to fit, a plain TF-IDF + logistic regression baseline trained on the same
rows in the same run (both choose their threshold on a held-out fifth of those rows), and the tiny random
Detoxify model (a plumbing check: about chance by construction; fixed threshold 0.5). Corpora without a held-out
split (evaluation-only test sets) get the shipped and Detoxify rows on all their rows. `python -m bench.accuracy sentiment` prints the German sentiment table (the
shipped classifier beside the lexicon and "always neutral"; bench/sentiment_model.py trains it).
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
DETOXIFY_THRESHOLD = 0.5  # fixed, never tuned on the rows scored (see ACCURACY.md)


def _known(data: learning.Dataset) -> tuple[list[str], np.ndarray]:
    col = data.column("toxicity")
    keep = ~np.isnan(col)
    return [t for t, k in zip(data.texts, keep) if k], col[keep].astype(int)


def shipped(data: learning.Dataset) -> dict:
    """The shipped model at its card's threshold."""
    model, card = load_model(PACKAGE_MODEL)
    return learning.evaluate(model, data, float(card["threshold"]))


def site_model(fit: learning.Dataset, held: learning.Dataset, lexicon: dict) -> dict:
    """Our classifier as `moderation model train` builds it: fit rows only, threshold from their held-out fifth."""
    model, report = learning.train(fit, lexicon=lexicon)
    return learning.evaluate(model, held, report["threshold"])


def tfidf(fit: learning.Dataset, held: learning.Dataset) -> dict:
    """Plain TF-IDF + logistic regression on the same rows; its threshold from a held-out fifth of them too."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline

    texts, y = _known(fit)
    fit_idx, held_idx = train_test_split(np.arange(len(y)), test_size=0.2, random_state=0, stratify=y)

    def fitted(rows):
        return make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                             LogisticRegression(max_iter=1000)).fit([texts[i] for i in rows], y[rows])
    threshold = learning.best_f1_threshold(y[held_idx], fitted(fit_idx).predict_proba(
        [texts[i] for i in held_idx])[:, 1])
    test_texts, test_y = _known(held)
    return learning.binary_metrics(test_y, fitted(np.arange(len(y))).predict_proba(test_texts)[:, 1], threshold)


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


def sentiment_rows(data: Path) -> None:
    """The shipped German sentiment classifier's table, as bench/ACCURACY.md shows it."""
    from bench import sentiment_model
    from moderation.research.sentimentmodel import MODEL, load

    start = time.perf_counter()
    print(sentiment_model.table(sentiment_model.evaluate(load(MODEL)[0], data)))
    print(f"\n`python -m bench.accuracy sentiment` ({time.perf_counter() - start:.0f} s)", flush=True)


def row(corpus: str, model: str, m: dict, command: str, seconds: float) -> str:
    pct = lambda v: "–" if v is None else f"{100 * v:.1f}"  # noqa: E731
    return (f"| {corpus} | {model} | {m['n']:,} | {pct(m['roc_auc'])} | {pct(m['f1_official'])} | "
            f"{pct(m['f1_macro'])} | {m['threshold']:.3f} | `{command}` ({seconds:.0f} s) |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    names = list(corpora.HELDOUT) + [n for n in list(corpora.EVALUATE) + list(corpora.TRAIN)
                                     if n not in corpora.HELDOUT] + ["sentiment"]
    parser.add_argument("corpora", nargs="*", metavar="CORPUS", help="default: all")
    parser.add_argument("--data", type=Path, default=corpora.default_root())
    parser.add_argument("--rows", default="shipped,ours,tfidf,detoxify-tiny")
    args = parser.parse_args()
    if set(args.corpora) - set(names):  # argparse's choices refuse an empty list with nargs="*"
        parser.error(f"unknown corpus; choose from {', '.join(names)}")
    lexicon = lexicon_from_ruleset(load_ruleset(ROOT / "rules"))
    wanted = args.rows.split(",")
    print(f"<!-- load average at start: {os.getloadavg()} -->")
    for name in args.corpora or names:
        if name == "sentiment":
            sentiment_rows(args.data)
            continue
        fit, held = corpora.split(name, args.data)
        scored = held if len(held) else fit  # no split: an evaluation-only set, scored whole
        runs = []
        if "shipped" in wanted and (name not in corpora.TRAIN or len(held)):
            runs.append(("shipped model", lambda: shipped(scored), "shipped"))
        if "ours" in wanted and len(held):
            runs.append(("site model, trained in-domain", lambda: site_model(fit, held, lexicon), "ours"))
        if "tfidf" in wanted and len(held):
            runs.append(("TF-IDF + LR, same rows", lambda: tfidf(fit, held), "tfidf"))
        if "detoxify-tiny" in wanted:
            runs.append(("Detoxify tiny random (1,000 sampled)", lambda: detoxify_tiny(scored), "detoxify-tiny"))
        for label, fn, key in runs:
            start = time.perf_counter()
            metrics = fn()
            print(row(name, label, metrics, f"python -m bench.accuracy {name} --rows {key}",
                      time.perf_counter() - start), flush=True)


if __name__ == "__main__":
    main()
