"""Sentiment accuracy: German scorer on One Million Posts moderator labels, VADER on its human-rated test sets."""
from __future__ import annotations

import gzip
import os
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

from moderation.analysis.omp import read_posts, sentiment_gold
from moderation.analysis.sentiment import EnglishSentiment, GermanSentiment, label

DATA = Path(os.environ.get("MODERATION_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
CLASSES = ("negative", "neutral", "positive")


def omp(data: Path = DATA) -> dict:
    """3-class macro-F1, accuracy, per-class F1 on the 3,599 posts with a sentiment label (VADER thresholds)."""
    posts = [(p, sentiment_gold(p)) for p in read_posts(data / "one-million-posts" / "posts_labeled.csv.xz")]
    posts = [(p, g) for p, g in posts if g]
    scorer = GermanSentiment()
    start = time.perf_counter()
    compound = np.array([scorer.compound(p.text) for p, _ in posts])
    seconds = time.perf_counter() - start
    gold = np.array([g for _, g in posts])
    pred = np.array([label(c) for c in compound])
    per_class = f1_score(gold, pred, labels=list(CLASSES), average=None)
    negative = f1_score(gold == "negative", compound <= -0.05)
    return {"n": len(posts), "macro_f1": f1_score(gold, pred, average="macro"), "accuracy": float((gold == pred).mean()),
            "f1": dict(zip(CLASSES, per_class)), "negative_vs_rest_f1": negative,
            "majority_accuracy": float((gold == "neutral").mean()),
            "mean_compound": {c: float(compound[gold == c].mean()) for c in CLASSES},
            "per_second": len(posts) / seconds}


def vader(data: Path = DATA) -> dict[str, dict]:
    """Pearson r with the mean human rating, and sign accuracy on items rated clearly (|mean| >= 0.5)."""
    scorer = EnglishSentiment()
    out = {}
    for path in sorted((data / "lex-en-vader" / "ground_truth").glob("*_GroundTruth.txt.gz")):
        rows = [line.split("\t", 2) for line in gzip.open(path, "rt", encoding="utf-8", errors="replace")
                if line.count("\t") >= 2]
        truth = np.array([float(r[1]) for r in rows])
        pred = np.array([scorer.compound(r[2].strip()) for r in rows])
        clear = np.abs(truth) >= 0.5
        out[path.name.split("_")[0]] = {"n": len(rows), "pearson_r": float(np.corrcoef(truth, pred)[0, 1]),
                                        "sign_accuracy": float((np.sign(truth[clear]) == np.sign(pred[clear])).mean())}
    return out


def main(n: int = 0, postgres_url: str | None = None) -> None:  # noqa: ARG001 - the suite signature
    g = omp()
    print(f"One Million Posts sentiment (n={g['n']}): macro-F1 {g['macro_f1']:.3f}, accuracy {g['accuracy']:.3f} "
          f"(majority class {g['majority_accuracy']:.3f}), F1 " +
          ", ".join(f"{c} {v:.3f}" for c, v in g["f1"].items()) +
          f"; negative-vs-rest F1 {g['negative_vs_rest_f1']:.3f}; mean compound " +
          ", ".join(f"{c} {v:+.3f}" for c, v in g["mean_compound"].items()) + f"; {g['per_second']:,.0f} posts/s")
    for name, v in vader().items():
        print(f"VADER {name} (n={v['n']}): Pearson r {v['pearson_r']:.3f}, sign accuracy {v['sign_accuracy']:.3f}")


if __name__ == "__main__":
    main()
