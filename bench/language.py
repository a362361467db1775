"""Language detection accuracy on texts of known language: German news comments and German and English tweets.

`MODERATION_DATA=/work/shared/data nice -n 10 python -m bench.language` — the product's detector, restricted to
de and en as a German-English site runs it, without context (short texts take the default, German).
"""
from __future__ import annotations

import gzip
import os
import time
from collections import Counter
from pathlib import Path

from bench.sentiment_model import omp, potts
from moderation.domain.language import LanguageDetector

DATA = Path(os.environ.get("MODERATION_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def english_tweets(data: Path = DATA) -> list[str]:
    with gzip.open(data / "lex-en-vader" / "ground_truth" / "tweets_GroundTruth.txt.gz", "rt", encoding="utf-8",
                   errors="replace") as fh:
        return [line.split("\t", 2)[2].strip() for line in fh if line.count("\t") >= 2]


def accuracy(texts: list[str], truth: str, detector: LanguageDetector) -> dict:
    start = time.perf_counter()
    results = [detector.detect(t) for t in texts]
    seconds = time.perf_counter() - start
    how = Counter(r.method for r in results)
    return {"n": len(texts), "accuracy": sum(r.language == truth for r in results) / len(texts),
            "detected": how["detected"] / len(texts), "per_second": len(texts) / seconds}


def main() -> None:
    detector = LanguageDetector(["de", "en"])
    for name, texts, truth in (("One Million Posts (de news comments)", omp()[0], "de"),
                               ("PotTS train+dev (de tweets)", potts("train")[0] + potts("dev")[0], "de"),
                               ("VADER tweets (en)", english_tweets(), "en")):
        r = accuracy(texts, truth, detector)
        print(f"| {name} | {r['n']:,} | {r['accuracy']:.3f} | {r['detected']:.3f} | {r['per_second']:,.0f} |")


if __name__ == "__main__":
    main()
