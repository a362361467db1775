"""Sentiment accuracy: German scorer on One Million Posts moderator labels, VADER on its human-rated test sets."""
from __future__ import annotations

import gzip
import os
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

from moderation.research.omp import read_posts, sentiment_gold
from moderation.research.sentiment import EnglishSentiment, GermanSentiment, label

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
    return {"n": len(posts), "macro_f1": f1_score(gold, pred, average="macro"),
            "accuracy": float((gold == pred).mean()),
            "f1": dict(zip(CLASSES, per_class)), "negative_vs_rest_f1": negative,
            "majority_accuracy": float((gold == "neutral").mean()),
            "mean_compound": {c: float(compound[gold == c].mean()) for c in CLASSES},
            "per_second": len(posts) / seconds}


def baselines(data: Path = DATA) -> dict[str, dict]:
    """Reference points on the same posts, evaluation only (both lexicons are non-commercial, never shipped):
    GerVADER's lexicon in the VADER engine, and SentiWS (×4 to VADER's scale, with its inflections) in ours."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # noqa: PLC0415

    posts = [(p, sentiment_gold(p)) for p in read_posts(data / "one-million-posts" / "posts_labeled.csv.xz")]
    posts = [(p, g) for p, g in posts if g]
    gold = np.array([g for _, g in posts])
    gervader = SentimentIntensityAnalyzer()
    with gzip.open(data / "lex-de-gervader" / "GERVaderLexicon.txt.gz", "rt", encoding="utf-8") as fh:
        gervader.lexicon = {parts[0].lower(): float(parts[1]) for parts in (line.split("\t") for line in fh)
                            if len(parts) >= 2}
    sentiws = GermanSentiment()
    sentiws.lexicon = {}
    for name in ("Positive", "Negative"):
        for line in (data / "lex-de-sentiws" / f"SentiWS_v2.0_{name}.txt").read_text(encoding="utf-8").splitlines():
            head, weight, *forms = line.split("\t")
            for word in [head.split("|")[0]] + (forms[0].split(",") if forms and forms[0] else []):
                sentiws.lexicon[word.lower()] = 4 * float(weight)
    out = {}
    for name, score in (("GerVADER lexicon + VADER engine", lambda t: gervader.polarity_scores(t)["compound"]),
                        ("SentiWS + this engine", sentiws.compound)):
        pred = np.array([label(score(p.text)) for p, _ in posts])
        out[name] = {"macro_f1": f1_score(gold, pred, average="macro"), "accuracy": float((gold == pred).mean()),
                     "negative_f1": f1_score(gold == "negative", pred == "negative")}
    return out


def vader(data: Path = DATA) -> dict[str, dict]:
    """Pearson r with the mean human rating, and sign accuracy on items rated clearly (|mean| >= 0.5)."""
    scorer = EnglishSentiment()
    out = {}
    for path in sorted((data / "lex-en-vader" / "ground_truth").glob("*_GroundTruth.txt.gz")):
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as fh:
            rows = [line.split("\t", 2) for line in fh if line.count("\t") >= 2]
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
    for name, b in baselines().items():
        print(f"baseline {name}: macro-F1 {b['macro_f1']:.3f}, accuracy {b['accuracy']:.3f}, "
              f"negative F1 {b['negative_f1']:.3f}")
    for name, v in vader().items():
        print(f"VADER {name} (n={v['n']}): Pearson r {v['pearson_r']:.3f}, sign accuracy {v['sign_accuracy']:.3f}")


if __name__ == "__main__":
    main()
