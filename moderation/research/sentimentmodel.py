"""German sentiment classifier: word and character n-grams plus the Zurich lexicon's scores, logistic regression.

Trained by `python -m bench.sentiment_model` (PotTS tweets, MIT; GermEval 2018 tweets, CC BY 4.0) and shipped as
data/sentiment-de.skops: arrays and plain values only (vocabularies, idf weights, coefficients), nothing executable.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import zipfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from moderation.research.sentiment import NEGATIVE, POSITIVE, GermanSentiment, Sentiment

log = logging.getLogger(__name__)
FORMAT = "moderation-sentiment/1"
MODEL = Path(__file__).with_name("data") / "sentiment-de.skops"
CLASSES = ("negative", "neutral", "positive")
URL = re.compile(r"https?://\S+|www\.\S+")
MENTION = re.compile(r"@\w+")
WORD = re.compile(r"\w+")


def normalise(text: str) -> str:
    """Links and @-mentions as placeholders: tweets are full of them, comments are not."""
    return MENTION.sub(" @USER ", URL.sub(" URL ", text or ""))


def lexicon_features(lexicon: GermanSentiment, texts: Sequence[str]) -> np.ndarray:
    """Per text: the lexicon's compound, its positive and negative verdicts, polar word densities, ! and ?."""
    out = np.zeros((len(texts), 7))
    for k, text in enumerate(texts):
        c = lexicon.compound(text)
        valences = [lexicon.valence(w) for w in WORD.findall(text)]
        root = np.sqrt(max(len(valences), 1))
        out[k] = (c, sum(v > 0 for v in valences) / root, sum(v < 0 for v in valences) / root,
                  c >= POSITIVE, c <= NEGATIVE, "!" in text, "?" in text)
    return out


class SentimentClassifier:
    """negative / neutral / positive with probabilities; compound = P(positive) − P(negative), in [−1, 1]."""

    name = "model-de-potts"

    def __init__(self, C: float = 1.0, char_features: int = 50_000, min_confidence: float = 0.5,
                 class_weight: str | None = "balanced") -> None:
        # Balanced weights: the training mix (tweets, many positive) says nothing about a corpus' class priors.
        self.C, self.char_features, self.min_confidence = C, char_features, min_confidence
        self.class_weight = class_weight
        self.lexicon = GermanSentiment()
        self.version = "untrained"

    def _vectorizers(self) -> tuple[TfidfVectorizer, TfidfVectorizer]:
        word = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, dtype=np.float32)
        char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True,
                               max_features=self.char_features, dtype=np.float32)
        return word, char

    def _features(self, texts: Sequence[str]) -> sp.csr_matrix:
        texts = [normalise(t) for t in texts]
        lex = sp.csr_matrix(lexicon_features(self.lexicon, texts).astype(np.float32))
        return sp.hstack([self.word.transform(texts), self.char.transform(texts), lex], format="csr")

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> SentimentClassifier:
        unknown = set(labels) - set(CLASSES)
        if unknown:
            raise ValueError(f"labels must be {CLASSES}, got {sorted(unknown)}")
        self.word, self.char = self._vectorizers()
        normalised = [normalise(t) for t in texts]
        self.word.fit(normalised)
        self.char.fit(normalised)
        # lbfgs: deterministic, no seed needed
        lr = LogisticRegression(C=self.C, max_iter=3000, class_weight=self.class_weight)
        lr.fit(self._features(texts), np.array([CLASSES.index(y) for y in labels]))
        if len(lr.classes_) != len(CLASSES):
            raise ValueError("training data must contain every class")
        self.coef, self.intercept = lr.coef_.astype(np.float32), lr.intercept_.astype(np.float64)
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities in CLASSES order, one row per text."""
        if not len(texts):
            return np.zeros((0, len(CLASSES)))
        z = np.asarray(self._features(texts) @ self.coef.T, dtype=np.float64) + self.intercept
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def labels(self, texts: Sequence[str]) -> np.ndarray:
        """The likeliest class; neutral when no class reaches `min_confidence` (a polar label needs a majority)."""
        p = self.predict_proba(texts)
        out = np.array(CLASSES)[p.argmax(axis=1)] if len(p) else np.array([], dtype=str)
        out[p.max(axis=1) < self.min_confidence] = "neutral"
        return out

    def compound_many(self, texts: Sequence[str]) -> np.ndarray:
        p = self.predict_proba(texts)
        return p[:, 2] - p[:, 0]

    def compound(self, text: str) -> float:
        return float(self.compound_many([text])[0])

    def to_state(self) -> dict:
        def vocab(v: TfidfVectorizer) -> str:
            terms = sorted(v.vocabulary_, key=v.vocabulary_.__getitem__)
            return json.dumps(terms, ensure_ascii=False)  # one string: compact, and no per-term objects to load
        return {"format": FORMAT, "params": {"C": self.C, "char_features": self.char_features,
                                             "min_confidence": self.min_confidence,
                                             "class_weight": self.class_weight},
                "word_vocabulary": vocab(self.word), "word_idf": self.word.idf_.astype(np.float32),
                "char_vocabulary": vocab(self.char), "char_idf": self.char.idf_.astype(np.float32),
                "coef": self.coef, "intercept": self.intercept, "classes": list(CLASSES)}

    @classmethod
    def from_state(cls, state: dict) -> SentimentClassifier:
        if state.get("format") != FORMAT or list(state.get("classes", ())) != list(CLASSES):
            raise ValueError(f"unknown sentiment model format {state.get('format')!r}")
        model = cls(**{"class_weight": None, **state["params"]})  # files from before class weighting: unweighted
        model.word, model.char = model._vectorizers()
        for vec, key in ((model.word, "word"), (model.char, "char")):
            terms = json.loads(state[f"{key}_vocabulary"])
            vec.set_params(vocabulary={t: i for i, t in enumerate(terms)})
            vec.idf_ = np.asarray(  # a fixed vocabulary with its idf weights: nothing left to fit
                state[f"{key}_idf"], dtype=np.float32)
        model.coef = np.asarray(state["coef"], dtype=np.float32)
        model.intercept = np.asarray(state["intercept"], dtype=np.float64)
        return model


def save(model: SentimentClassifier, path: Path, card: dict) -> str:
    """Write model and card with skops; returns the file's sha256."""
    import skops.io as sio  # noqa: PLC0415

    data = sio.dumps({"model": model.to_state(), "card": json.dumps(card, ensure_ascii=False)},
                     compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def load(path: Path = MODEL) -> tuple[SentimentClassifier, dict]:
    """Model and card from a skops file; refuses every type skops does not trust by itself."""
    import skops.io as sio  # noqa: PLC0415

    data = path.read_bytes()
    try:
        state = sio.loads(data, trusted=[])
    except sio.exceptions.UntrustedTypesFoundException as exc:
        raise ValueError(f"{path}: refusing to load untrusted types: {exc}") from None
    model = SentimentClassifier.from_state(state["model"])
    card = json.loads(state["card"])
    model.version = f"{card.get('version', 'unknown')}+sha256:{hashlib.sha256(data).hexdigest()[:12]}"
    return model, card


def german(path: Path = MODEL) -> SentimentClassifier | GermanSentiment:
    """The shipped classifier; the lexicon scorer when the file is missing (a trimmed install), with a warning."""
    if not path.exists():
        log.warning("German sentiment model %s missing: falling back to the lexicon scorer", path)
        return GermanSentiment()
    return load(path)[0]


@lru_cache(maxsize=1)
def default() -> Sentiment:
    """English on VADER, German on the shipped classifier (or the lexicon without it)."""
    return Sentiment(german())
