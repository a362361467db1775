"""Variants of the German sentiment classifier, side by side (issue 12 item 4; nothing here is shipped).

`MODERATION_DATA=/work/shared/data nice -n 5 python -m bench.sentiment_variants [--only SUBSTRING]`
Every variant trains on permissive data only (PotTS train, MIT; GermEval 2018, CC BY 4.0; GAHD texts, CC BY 4.0,
unlabelled for the vocabulary filter) and is scored on PotTS dev, One Million Posts and GermEval 2017 dev.
The "oracle" column fits per-class offsets on One Million Posts itself: a diagnostic of how far any decision
rule could go with those scores, never a rule to ship.
"""
from __future__ import annotations

import argparse
import csv
import gzip
import html
import itertools
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from bench.sentiment_model import DATA, germeval2017, germeval2018, omp, potts, scores
from moderation.research.sentiment import INTENSIFIERS, NEGATORS, TOKEN, GermanSentiment
from moderation.research.sentimentmodel import CLASSES, lexicon_features, normalise

LEX = GermanSentiment()
URL, MENTION, RT, HASHTAG = (re.compile(p) for p in (r"https?://\S+|www\.\S+", r"@\w+", r"\bRT\b:?", r"#(\w+)"))
SMILE = re.compile(r"[:;=]-?[)D\]pP*]|<3|[😀😃😄😊🙂😍❤👍👏😁😉😘]")
FROWN = re.compile(r"[:;=]-?[(/\[]|:'\(|[😡🤬😠😢😭👎🙄]")
SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def plain(text: str, emoticons: str = "keep") -> str:
    """Tweet markup out: entities decoded, links, mentions and RT dropped, '#wort' → 'wort'; emoticons kept,
    dropped or read as the words 'gut' / 'schlecht'."""
    t = HASHTAG.sub(r"\1", MENTION.sub(" ", RT.sub(" ", URL.sub(" ", html.unescape(text or "")))))
    if emoticons != "keep":
        as_word = emoticons == "word"
        t = FROWN.sub(" schlecht " if as_word else " ", SMILE.sub(" gut " if as_word else " ", t))
    return re.sub(r"\s+", " ", re.sub(r"(.)\1{3,}", r"\1\1\1", t)).strip()


def rich_lexicon(texts: Sequence[str]) -> np.ndarray:
    """16 lexicon features: compound and verdicts, strong/weak polar words, negated polar words, intensifiers,
    negators, ! and ?, length, mean valences."""
    out = np.zeros((len(texts), 16))
    for k, text in enumerate(texts):
        tokens = TOKEN.findall(text)
        low = [t.lower() for t in tokens]
        vals = [LEX.valence(t) for t in tokens]
        n = max(sum(t[0].isalnum() for t in tokens), 1)
        root = np.sqrt(n)
        negated = [bool(v) and LEX._negated(low, i) for i, v in enumerate(vals)]
        pos = [v for v, s in zip(vals, negated) if v > 0 and not s]
        neg = [v for v, s in zip(vals, negated) if v < 0 and not s]
        c = LEX.compound(text)
        out[k] = (c, c >= 0.05, c <= -0.05, sum(v >= 1.5 for v in pos) / root, sum(v < 1.5 for v in pos) / root,
                  sum(v <= -1.5 for v in neg) / root, sum(v > -1.5 for v in neg) / root,
                  sum(v > 0 and s for v, s in zip(vals, negated)) / root,
                  sum(v < 0 and s for v, s in zip(vals, negated)) / root,
                  sum(t in INTENSIFIERS for t in low) / root, sum(t in NEGATORS for t in low) / root,
                  "!" in text, "?" in text, np.log1p(n) / 5, sum(pos) / n, sum(neg) / n)
    return out


def gahd_texts() -> list[str]:
    with gzip.open(DATA / "gahd" / "gahd.csv.gz", "rt", encoding="utf-8") as fh:
        return [row["text"] for row in csv.DictReader(fh)]


def germeval2018_all() -> tuple[list[str], list[str]]:
    """Every GermEval 2018 training tweet: OFFENSE as negative, OTHER as neutral."""
    rows = [line.split("\t") for line in (DATA / "germeval2018" / "germeval2018.training.txt")
            .read_text(encoding="utf-8").splitlines()]
    return [r[0] for r in rows], ["negative" if r[1] == "OFFENSE" else "neutral" for r in rows]


@dataclass
class Spec:
    """One trained model: text normalisation, data, features, regularisation, one or two stages."""

    norm: Callable[[str], str] = normalise
    data: tuple[str, ...] = ("potts", "ge18")
    restrict: bool = False  # keep only n-grams that also occur (df ≥ 2) in GermEval 2018 + GAHD texts
    lexicon: str = "base"
    lexicon_scale: float = 1.0
    C: float = 1.0
    word: bool = True
    two_stage: bool = False
    vectors: list = field(default_factory=list)

    def _features(self, texts: Sequence[str]) -> sp.csr_matrix:
        texts = [self.norm(t) for t in texts]
        lex = lexicon_features(LEX, texts) if self.lexicon == "base" else rich_lexicon(texts)
        return sp.hstack([v.transform(texts) for v in self.vectors]
                         + [sp.csr_matrix((lex * self.lexicon_scale).astype(np.float32))], format="csr")

    def fit(self, sources: dict) -> Spec:
        texts = [t for key in self.data for t in sources[key][0]]
        y = np.array([c for key in self.data for c in sources[key][1]])
        normed = [self.norm(t) for t in texts]
        kinds = ([{"ngram_range": (1, 2)}] if self.word else []) + [
            {"analyzer": "char_wb", "ngram_range": (2, 5), "max_features": 50_000}]
        reference = [self.norm(t) for t in sources["comment-like"]] if self.restrict else None
        for kind in kinds:
            vec = TfidfVectorizer(min_df=2, sublinear_tf=True, dtype=np.float32, **kind).fit(normed)
            if reference is not None:
                seen = TfidfVectorizer(min_df=2, **{k: v for k, v in kind.items() if k != "max_features"})
                keep = sorted(set(vec.vocabulary_) & set(seen.fit(reference).vocabulary_))
                vec = TfidfVectorizer(min_df=1, sublinear_tf=True, dtype=np.float32, vocabulary=keep,
                                      **{k: v for k, v in kind.items() if k != "max_features"}).fit(normed)
            self.vectors.append(vec)
        X = self._features(texts)
        lr = partial(LogisticRegression, C=self.C, max_iter=3000, class_weight="balanced")
        if self.two_stage:  # polar vs neutral, then positive vs negative among the polar
            polar = y != "neutral"
            self.stages = (lr().fit(X, polar), lr().fit(X[polar], y[polar] == "positive"))
        else:
            self.stages = (lr().fit(X, [CLASSES.index(c) for c in y]),)
        return self

    def proba(self, texts: Sequence[str]) -> np.ndarray:
        X = self._features(texts)
        if not self.two_stage:
            return self.stages[0].predict_proba(X)
        p, q = (s.predict_proba(X)[:, 1] for s in self.stages)
        return np.c_[p * (1 - q), 1 - p, p * q]


def with_sentences(proba: Callable, texts: Sequence[str]) -> np.ndarray:
    """Mean of the whole text's probabilities and the mean over its sentences (long comments, short tweets)."""
    parts = [[s for s in SENTENCE.split(t) if s.strip()] or [t] for t in texts]
    index = np.repeat(np.arange(len(texts)), [len(p) for p in parts])
    mean = np.zeros((len(texts), len(CLASSES)))
    np.add.at(mean, index, proba([s for p in parts for s in p]))
    return (proba(texts) + mean / np.bincount(index)[:, None]) / 2


def offence_expert(sources: dict, weight: float, base: Spec) -> Callable:
    """Product of experts: the base model's log-odds of negative plus `weight` × a GermEval 2018 offence model's."""
    expert = Spec(data=("ge18-all",))
    expert.fit(sources)  # two classes only: its first column is P(negative), i.e. P(OFFENSE)

    def proba(texts: Sequence[str]) -> np.ndarray:
        z = np.log(base.proba(texts))
        q = np.clip(expert.proba(texts)[:, 0], 1e-6, 1 - 1e-6)
        z[:, 0] += weight * np.log(q / (1 - q))
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)
    return proba


def labels(p: np.ndarray) -> np.ndarray:
    """The shipped rule: the likeliest class, neutral when none reaches 0.5."""
    out = np.array(CLASSES)[p.argmax(axis=1)]
    out[p.max(axis=1) < 0.5] = "neutral"
    return out


def oracle(p: np.ndarray, gold: Sequence[str]) -> float:
    """Best macro-F1 over per-class log offsets fitted on the evaluation set itself (diagnostic only)."""
    logp = np.log(p + 1e-12)
    return max(scores(list(gold), np.array(CLASSES)[(logp + [a, 0, c]).argmax(axis=1)])["macro_f1"]
               for a, c in itertools.product(np.linspace(-3, 3, 25), repeat=2))


def variants(sources: dict) -> dict[str, Callable[[], Callable]]:
    """Name -> builder of a probability function; builders train lazily so --only skips the rest."""
    def spec(**kw) -> Callable:
        return lambda: Spec(**kw).fit(sources).proba

    def sentences(**kw) -> Callable:
        return lambda: partial(with_sentences, Spec(**kw).fit(sources).proba)

    def expert(weight: float, by_sentence: bool) -> Callable:
        def build() -> Callable:
            proba = offence_expert(sources, weight, Spec().fit(sources))
            return partial(with_sentences, proba) if by_sentence else proba
        return build
    return {
        "shipped recipe (potts-ge18-lr-2), whole text": spec(),
        "1. tweet markup out, emoticons kept": spec(norm=plain),
        "1. tweet markup out, emoticons as 'gut'/'schlecht'": spec(norm=partial(plain, emoticons="word")),
        "1. tweet markup out, emoticons dropped": spec(norm=partial(plain, emoticons="drop")),
        "2. n-grams restricted to those in GermEval 2018 + GAHD texts": spec(restrict=True),
        "3. 16 lexicon features": spec(lexicon="rich"),
        "3. 16 lexicon features ×3 (weaker penalty on them)": spec(lexicon="rich", lexicon_scale=3.0),
        "3. 16 lexicon features ×3, C = 0.25 (stronger n-gram penalty)": spec(lexicon="rich", lexicon_scale=3.0,
                                                                                C=0.25),
        "3. two stages (polar vs neutral, then positive vs negative)": spec(two_stage=True),
        "4. shipped recipe, whole text + sentence mean": sentences(),
        "4. tweet markup out (emoticons kept), whole text + sentence mean": sentences(norm=plain),
        "4. character n-grams + lexicon only, whole text + sentence mean": sentences(word=False),
        "4. two stages, whole text + sentence mean": sentences(two_stage=True),
        "data: PotTS + every GermEval 2018 tweet (OTHER as neutral)": spec(data=("potts", "ge18-all")),
        "expert: shipped + 0.5 × GermEval 2018 offence log-odds": expert(0.5, False),
        "expert: shipped + 1 × offence log-odds": expert(1.0, False),
        "expert: shipped + 0.5 × offence log-odds, whole text + sentence mean": expert(0.5, True),
        "expert: shipped + 1 × offence log-odds, whole text + sentence mean": expert(1.0, True),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default="", help="run the variants whose name contains this")
    args = parser.parse_args(argv)
    sources = {"potts": potts("train"), "ge18": germeval2018(), "ge18-all": germeval2018_all(),
               "comment-like": germeval2018_all()[0] + gahd_texts()}
    sets = {"PotTS dev": potts("dev"), "One Million Posts": omp(), "GermEval 2017 dev": germeval2017()}
    gold_omp = np.array(sets["One Million Posts"][1])
    neu_or_neg = gold_omp != "positive"
    print("| variant | ROC neg vs neutral (OMP) | PotTS dev / OMP / GE2017 macro-F1 | OMP F1 neg / neu / pos "
          "| GE2017 F1 neg / neu / pos | oracle OMP | CPU s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, build in variants(sources).items():
        if args.only not in name:
            continue
        start = time.process_time()
        proba = build()
        p = {s: proba(texts) for s, (texts, _) in sets.items()}
        got = {s: scores(gold, labels(p[s])) for s, (_, gold) in sets.items()}
        roc = roc_auc_score(gold_omp[neu_or_neg] == "negative", p["One Million Posts"][neu_or_neg, 0])
        f1 = {s: " / ".join(f"{got[s]['f1'][c]:.3f}" for c in CLASSES) for s in got}
        print(f"| {name} | {roc:.3f} | " + " / ".join(f"{g['macro_f1']:.3f}" for g in got.values())
              + f" | {f1['One Million Posts']} | {f1['GermEval 2017 dev']} | "
              f"{oracle(p['One Million Posts'], gold_omp):.3f} | {time.process_time() - start:.0f} |", flush=True)


if __name__ == "__main__":
    main()
