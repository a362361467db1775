"""Train the shipped German sentiment model and evaluate it beside the lexicon and "always neutral", in one run.

`MODERATION_DATA=/work/shared/data nice -n 10 python -m bench.sentiment_model [--out PATH] [--no-save]`
Training data (licences permit a shipped model): PotTS train split (MIT) and GermEval 2018 training tweets
(CC BY 4.0; OFFENSE as negative, OTHER without any lexicon hit as neutral). Evaluation only, never trained on:
PotTS dev, One Million Posts (CC BY-NC-SA) and the GermEval 2017 dev release (CC BY-NC).
"""
from __future__ import annotations

import argparse
import gzip
import os
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

from moderation.research.omp import read_posts, sentiment_gold
from moderation.research.sentiment import GermanSentiment, label
from moderation.research.sentimentmodel import CLASSES, MODEL, SentimentClassifier, save

DATA = Path(os.environ.get("MODERATION_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
VERSION = "potts-ge18-lr-2"  # 2: balanced class weights


def potts(split: str, data: Path = DATA) -> tuple[list[str], list[str]]:
    """Tweets and labels of a PotTS split; "mixed" (both polarities, 7%) is left out: it is none of our classes."""
    texts, labels = [], []
    for path in sorted((data / "potts" / split).glob("*.tsv.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                fields = line.rstrip("\n").split("\t")
                if len(fields) >= 3 and fields[1] in CLASSES:
                    texts.append(fields[2])
                    labels.append(fields[1])
    return texts, labels


def germeval2018(data: Path = DATA) -> tuple[list[str], list[str]]:
    """Offensive tweets as negative; the others only when the lexicon finds no polar word (OTHER is not neutral)."""
    lexicon = GermanSentiment()
    texts, labels = [], []
    for line in (data / "germeval2018" / "germeval2018.training.txt").read_text(encoding="utf-8").splitlines():
        text, coarse, *_ = line.split("\t") + [""]
        if coarse == "OFFENSE":
            texts.append(text)
            labels.append("negative")
        elif coarse == "OTHER" and lexicon.compound(text) == 0:
            texts.append(text)
            labels.append("neutral")
    return texts, labels


def training_data(data: Path = DATA) -> dict[str, tuple[list[str], list[str]]]:
    return {"PotTS train (MIT)": potts("train", data), "GermEval 2018 training (CC BY 4.0)": germeval2018(data)}


def omp(data: Path = DATA) -> tuple[list[str], list[str]]:
    posts = [(p.text, sentiment_gold(p)) for p in read_posts(data / "one-million-posts" / "posts_labeled.csv.xz")]
    return [t for t, g in posts if g], [g for _, g in posts if g]


def germeval2017(data: Path = DATA) -> tuple[list[str], list[str]]:
    """Document-level sentiment of the early GermEval 2017 dev release (2,584 posts about Deutsche Bahn)."""
    texts, labels = [], []
    for line in (data / "germeval2017-nc" / "dev.tsv").read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        if len(fields) >= 4 and fields[3] in CLASSES:
            texts.append(fields[1])
            labels.append(fields[3])
    return texts, labels


def scores(gold: list[str], pred: np.ndarray) -> dict:
    per_class = f1_score(gold, pred, labels=list(CLASSES), average=None, zero_division=0)
    return {"n": len(gold), "macro_f1": float(per_class.mean()), "accuracy": float((np.array(gold) == pred).mean()),
            "f1": dict(zip(CLASSES, map(float, per_class)))}


def evaluate(model: SentimentClassifier, data: Path = DATA) -> dict[str, dict[str, dict]]:
    """Per evaluation set: the model, the lexicon scorer (VADER thresholds) and "always neutral"."""
    lexicon = GermanSentiment()
    out = {}
    for name, (texts, gold) in (("One Million Posts", omp(data)), ("GermEval 2017 dev", germeval2017(data)),
                                ("PotTS dev", potts("dev", data))):
        start = time.perf_counter()
        pred = model.labels(texts)
        rate = len(texts) / (time.perf_counter() - start)
        out[name] = {"model": scores(gold, pred) | {"per_second": rate},
                     "lexicon": scores(gold, np.array([label(lexicon.compound(t)) for t in texts])),
                     "always neutral": scores(gold, np.full(len(gold), "neutral"))}
    return out


def table(results: dict[str, dict[str, dict]]) -> str:
    rows = ["| set | scorer | n | macro-F1 | accuracy | F1 negative | F1 neutral | F1 positive |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, by in results.items():
        for scorer, s in by.items():
            rows.append(f"| {name} | {scorer} | {s['n']:,} | {s['macro_f1']:.3f} | {s['accuracy']:.3f} | "
                        + " | ".join(f"{s['f1'][c]:.3f}" for c in CLASSES) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=MODEL)
    parser.add_argument("--no-save", action="store_true", help="train and evaluate, keep the shipped file")
    args = parser.parse_args(argv)
    sources = training_data()
    texts = [t for ts, _ in sources.values() for t in ts]
    labels = [y for _, ys in sources.values() for y in ys]
    start = time.perf_counter()
    model = SentimentClassifier().fit(texts, labels)
    print(f"trained on {len(texts):,} texts ({dict(zip(*np.unique(labels, return_counts=True)))}) "
          f"in {time.perf_counter() - start:.0f} s; load average {os.getloadavg()[0]:.1f}")
    results = evaluate(model)
    print(table(results))
    for name, by in results.items():
        print(f"{name}: {by['model']['per_second']:,.0f} texts/s")
    if not args.no_save:
        card = {"version": VERSION, "classes": list(CLASSES),
                "training_data": {name: len(ts) for name, (ts, _) in sources.items()},
                "min_confidence": model.min_confidence, "class_weight": model.class_weight,
                "evaluation": {k: {s: round(v[s]["macro_f1"], 3) for s in v} for k, v in results.items()}}
        sha = save(model, args.out, card)
        print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes, sha256 {sha[:12]})")


if __name__ == "__main__":
    main()
