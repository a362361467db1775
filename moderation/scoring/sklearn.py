"""A trainable German+English classifier: hashed word and character n-grams, lexicon counts, NB-weighted calibrated LR."""
from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.feature_extraction import FeatureHasher
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.utils import murmurhash3_32
from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2
from sklearn.utils.validation import check_is_fitted

from moderation.scoring import ScorerUnavailable, StoredModel, register
from moderation.scoring.wordfeatures import LexiconCounter, lexicon_from_ruleset  # noqa: F401 - re-exported

if TYPE_CHECKING:
    from moderation.config import Config
    from moderation.rules import RuleSet

PACKAGE_MODEL = Path(__file__).resolve().parent.parent / "models" / "default.skops"
_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@\w+")
_DIGITS = re.compile(r"\d")


def _same(text: str) -> str:
    return text


def preprocess(text: str) -> str:
    """Lower-case; URLs, @mentions and digits folded so that no corpus' handles become features."""
    text = text.replace("|LBR|", " ").lower()
    return _DIGITS.sub("0", _MENTION.sub(" @user ", _URL.sub(" url ", text)))


class CharHasher:
    """scikit-learn's char_wb n-grams hashed like its FeatureHasher, with each distinct word's indices cached.

    Words repeat across comments, so generating and hashing their n-grams once per process (not once per use)
    more than doubles throughput; the result is identical (tests compare it with HashingVectorizer).
    """

    def __init__(self, lo: int, hi: int, n_features: int, limit: int = 100_000) -> None:  # ~25 MB at most
        self.lo, self.hi, self.n_features, self.limit = lo, hi, n_features, limit
        self.cache: dict[str, np.ndarray] = {}

    def _word(self, word: str) -> np.ndarray:
        w = f" {word} "
        grams: list[str] = []
        for n in range(self.lo, self.hi + 1):  # as sklearn's _char_wb_ngrams: a short word is one n-gram
            if len(w) <= n:
                grams.append(w)
                break
            grams.extend(w[i:i + n] for i in range(len(w) - n + 1))
        out = np.empty(len(grams), dtype=np.int32)
        for i, gram in enumerate(grams):
            h = murmurhash3_32(gram, seed=0)
            out[i] = (2147483647 - (self.n_features - 1)) % self.n_features if h == -2147483648 \
                else abs(h) % self.n_features
        return out

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        chunks: list[np.ndarray] = []
        indptr = [0]
        cache, total = self.cache, 0
        for text in texts:
            for word in text.split():
                arr = cache.get(word)
                if arr is None:
                    arr = self._word(word)
                    if len(cache) < self.limit:
                        cache[word] = arr
                chunks.append(arr)
                total += len(arr)
            indptr.append(total)
        indices = np.concatenate(chunks) if chunks else np.empty(0, dtype=np.int32)
        matrix = sp.csr_matrix((np.ones(len(indices), dtype=np.float32), indices, np.array(indptr)),
                               shape=(len(texts), self.n_features))
        matrix.sum_duplicates()
        return matrix


@lru_cache(maxsize=4)
def _word_hasher(bits: int) -> tuple[Callable[[str], list[str]], FeatureHasher]:
    """(analyzer, hasher) for word uni- and bigrams: HashingVectorizer's, via public API, built once per size.

    HashingVectorizer.transform validates its parameters on every call (a millisecond per comment); its
    analyzer and an equal FeatureHasher give the same matrix without that (a test compares the two).
    """
    words = ToxicityClassifier(word_bits=bits)._vectorizers()[0]
    hasher = FeatureHasher(n_features=words.n_features, input_type="string", dtype=words.dtype,
                           alternate_sign=words.alternate_sign)
    return words.build_analyzer(), hasher


@lru_cache(maxsize=4)
def _char_hasher(lo: int, hi: int, n_features: int) -> CharHasher:
    """One word cache per shape and process, shared by every model (transform itself keeps no state)."""
    return CharHasher(lo, hi, n_features)


_LEXICONS: dict[int, tuple[object, LexiconCounter]] = {}  # id -> (the mapping, kept alive so the id stays its own)


def _lexicon_counter(lexicon: Mapping[str, Sequence[str]] | None) -> LexiconCounter:
    """The counter for a lexicon mapping, built once (6 ms for the shipped lists) and reused while it lives."""
    hit = _LEXICONS.get(id(lexicon))
    if hit is None or hit[0] is not lexicon:
        if len(_LEXICONS) >= 8:
            _LEXICONS.pop(next(iter(_LEXICONS)))
        hit = _LEXICONS[id(lexicon)] = (lexicon, LexiconCounter(lexicon or {}))
    return hit[1]


def platt(decision: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """Platt's (a, b) with P = 1 / (1 + exp(a f + b)), fitted with his smoothed targets.

    Each row enters twice, as positive with weight t and negative with weight 1 - t: the same log loss that
    scikit-learn's sigmoid calibration minimises, through the public LogisticRegression.
    """
    pos = int(target.sum())
    t = np.where(target == 1, (pos + 1.0) / (pos + 2.0), 1.0 / (len(target) - pos + 2.0))
    f = np.concatenate([decision, decision])[:, None]
    fit = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000).fit(
        f, np.r_[np.ones(len(t)), np.zeros(len(t))], sample_weight=np.r_[t, 1.0 - t])
    return -float(fit.coef_[0, 0]), -float(fit.intercept_[0])


class LogCountRatio(TransformerMixin, BaseEstimator):
    """NB-SVM's feature weighting (Wang & Manning 2012): each column times log(P(present|1) / P(present|0)).

    Fitted inside every cross-validation fold (it sees labels); the classifier folds the ratios into its
    coefficients afterwards, so a saved model stays one linear layer over the stateless hashed features.
    """

    def __init__(self, alpha: float = 0.5) -> None:
        self.alpha = alpha

    def fit(self, X: sp.csr_matrix, y: np.ndarray) -> "LogCountRatio":
        present = sp.csr_matrix(X, copy=True)
        present.data = (present.data > 0).astype(np.float32)
        y = np.asarray(y)
        p = self.alpha + np.asarray(present[y == 1].sum(axis=0)).ravel()
        q = self.alpha + np.asarray(present[y != 1].sum(axis=0)).ravel()
        self.ratio_ = np.log((p / p.sum()) / (q / q.sum())).astype(np.float32)
        return self

    def transform(self, X: sp.csr_matrix) -> sp.csr_matrix:
        check_is_fitted(self)
        return sp.csr_matrix(X.multiply(self.ratio_), dtype=np.float32)


class ToxicityClassifier(ClassifierMixin, BaseEstimator):
    """Multi-label toxicity classifier; `fit(texts, Y)` with Y (n, k) of 0/1 (NaN = not annotated for that label).

    No vocabulary is stored: n-grams are hashed. Each label gets its own logistic regression on NB log-count-ratio
    weighted features (`nb_alpha`; None: plain features), calibrated by Platt scaling on cross-validated
    predictions, trained only on rows that carry that label. `predict` cuts at
    `thresholds` (label -> probability; 0.5 for labels not named), which a loaded model takes from its card.
    """

    def __init__(self, labels: Sequence[str] = ("toxicity",), word_bits: int = 18, char_bits: int = 19,
                 char_ngrams: tuple[int, int] = (2, 5), lexicon: Mapping[str, Sequence[str]] | None = None,
                 C: float = 4.0, calibration_folds: int = 3, max_iter: int = 300,
                 thresholds: Mapping[str, float] | None = None, nb_alpha: float | None = 0.5) -> None:
        self.labels = labels
        self.word_bits = word_bits
        self.char_bits = char_bits
        self.char_ngrams = char_ngrams
        self.lexicon = lexicon
        self.C = C
        self.calibration_folds = calibration_folds
        self.max_iter = max_iter
        self.thresholds = thresholds
        self.nb_alpha = nb_alpha

    # -- features -------------------------------------------------------------------------------------------
    def _vectorizers(self) -> tuple[HashingVectorizer, HashingVectorizer]:
        # Texts arrive pre-processed (once, in transform), so the vectorizers do not lower-case again.
        common = dict(preprocessor=_same, lowercase=False, alternate_sign=False, norm="l2", dtype=np.float32)
        words = HashingVectorizer(n_features=2 ** self.word_bits, ngram_range=(1, 2),
                                  token_pattern=r"(?u)\b\w+\b|[^\w\s]", **common)
        chars = HashingVectorizer(n_features=2 ** self.char_bits, analyzer="char_wb",
                                  ngram_range=tuple(self.char_ngrams), **common)
        return words, chars

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """The feature matrix: word n-grams, character n-grams, log1p lexicon hit counts per list (stateless)."""
        words = _word_hasher(self.word_bits)
        lexicon = _lexicon_counter(self.lexicon)
        lowered = [preprocess(t) for t in texts]
        blocks = [words[1].transform(words[0](t) for t in lowered),
                  _char_hasher(*self.char_ngrams, 2 ** self.char_bits).transform(lowered)]
        for block in blocks:
            inplace_csr_row_normalize_l2(block)
        if lexicon.matchers:
            blocks.append(sp.csr_matrix(lexicon.counts(lowered)))
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    # -- estimator ------------------------------------------------------------------------------------------
    def fit(self, X: Sequence[str], y: np.ndarray) -> "ToxicityClassifier":
        return self.fit_features(self.transform(list(X)), y)

    def fit_features(self, features: sp.csr_matrix, y: np.ndarray) -> "ToxicityClassifier":
        """Fit on an already transformed matrix (lets training reuse one transform for split and refit)."""
        Y = np.asarray(y, dtype=np.float64)
        if Y.ndim == 1:
            Y = Y[:, None]
        if Y.shape != (features.shape[0], len(self.labels)):
            raise ValueError(f"y has shape {Y.shape}, expected ({features.shape[0]}, {len(self.labels)})")
        coefs, intercepts, calib = [], [], []
        for j, label in enumerate(self.labels):
            known = ~np.isnan(Y[:, j])
            target = Y[known, j].astype(int)
            if len(set(target)) < 2:
                raise ValueError(f"label {label!r} needs positive and negative examples")
            base = self._base()
            # As CalibratedClassifierCV(method="sigmoid", ensemble=False): Platt on out-of-fold decisions,
            # the model itself fitted on all rows.
            held = cross_val_predict(base, features[known], target, cv=self.calibration_folds,
                                     method="decision_function")
            calib.append(platt(held, target))
            base.fit(features[known], target)
            linear = base[-1]
            coef = linear.coef_[0] * (base[0].ratio_ if self.nb_alpha is not None else 1.0)
            coefs.append(sp.csr_matrix(coef.astype(np.float32)))
            intercepts.append(float(linear.intercept_[0]))
        self._set_coef(sp.vstack(coefs, format="csr"))
        self.intercept_ = np.array(intercepts, dtype=np.float64)
        self.calibration_ = np.array(calib, dtype=np.float64)
        self.labels_ = tuple(self.labels)
        self.classes_ = np.array([0, 1])
        return self

    def _base(self) -> Pipeline:
        """The per-label estimator: NB weighting (unless nb_alpha is None), then liblinear logistic regression."""
        linear = LogisticRegression(C=self.C, max_iter=self.max_iter, solver="liblinear", random_state=0)
        weights = LogCountRatio(self.nb_alpha) if self.nb_alpha is not None else "passthrough"
        return Pipeline([("weights", weights), ("linear", linear)])

    def decision_function(self, X: Sequence[str]) -> np.ndarray:
        return self._decision(self.transform(list(X)))

    def _set_coef(self, coef: sp.csr_matrix) -> None:
        self.coef_ = coef  # sparse: most hashed n-grams never occur, and the file stays small
        # Dense (features x labels) beside it: a sparse row times a dense matrix costs microseconds.
        self._weights = np.ascontiguousarray(coef.T.toarray(), dtype=np.float32)

    def _decision(self, features: sp.csr_matrix) -> np.ndarray:
        check_is_fitted(self)
        return np.asarray(features @ self._weights, dtype=np.float64) + self.intercept_

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        """Calibrated probability per text (rows) and label (columns, in `labels_` order)."""
        return self.predict_proba_features(self.transform(list(X)))

    def predict_proba_features(self, features: sp.csr_matrix) -> np.ndarray:
        f = self._decision(features)
        return 1.0 / (1.0 + np.exp(self.calibration_[:, 0] * f + self.calibration_[:, 1]))

    def predict(self, X: Sequence[str]) -> np.ndarray:
        """0/1 per text and label: the probability at or above that label's threshold."""
        cuts = np.array([(self.thresholds or {}).get(label, 0.5) for label in self.labels_])
        return (self.predict_proba(X) >= cuts).astype(int)

    # -- persistence (skops: arrays and plain values only, nothing executable) ------------------------------
    def to_state(self) -> dict:
        # Thresholds live in the model card (chosen after fitting); the state keeps its first format.
        params = {k: v for k, v in self.get_params().items() if k != "thresholds"}
        return {"format": "moderation-sklearn/1", "params": json.loads(json.dumps(params)),
                "coef": self.coef_, "intercept": self.intercept_, "calibration": self.calibration_,
                "labels": list(self.labels_)}

    @classmethod
    def from_state(cls, state: dict) -> "ToxicityClassifier":
        if state.get("format") != "moderation-sklearn/1":
            raise ValueError(f"unknown model format {state.get('format')!r}")
        params = dict(state["params"])
        params["char_ngrams"] = tuple(params["char_ngrams"])
        params["labels"] = tuple(params["labels"])
        params.setdefault("nb_alpha", None)  # files from before NB weighting: a plain logistic regression
        model = cls(**params)
        model._set_coef(sp.csr_matrix(state["coef"], dtype=np.float32))
        model.intercept_ = np.asarray(state["intercept"], dtype=np.float64)
        model.calibration_ = np.asarray(state["calibration"], dtype=np.float64)
        model.labels_ = tuple(state["labels"])
        model.classes_ = np.array([0, 1])
        return model


def model_bytes(model: ToxicityClassifier, card: dict) -> bytes:
    """Model and card as a skops file's bytes (what the registry stores)."""
    import skops.io as sio  # noqa: PLC0415
    import zipfile  # noqa: PLC0415

    return sio.dumps({"model": model.to_state(), "card": json.dumps(card, ensure_ascii=False)},
                     compression=zipfile.ZIP_DEFLATED, compresslevel=9)


def save_model(model: ToxicityClassifier, path: Path, card: dict) -> str:
    """Write model and card with skops; returns the file's sha256."""
    data = model_bytes(model, card)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def load_model(path: Path) -> tuple[ToxicityClassifier, dict]:
    """Model and card from a skops file; refuses anything but arrays and plain values."""
    try:
        return load_model_bytes(path.read_bytes())
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def load_model_bytes(data: bytes) -> tuple[ToxicityClassifier, dict]:
    """Model and card from a skops file's bytes; refuses anything but arrays and plain values."""
    import skops.io as sio  # noqa: PLC0415

    # A sparse matrix is data; any other type skops does not trust could run code when loaded, so it is refused.
    allowed = ["scipy.sparse._csr.csr_matrix", "scipy.sparse._csr.csr_array"]
    try:
        state = sio.loads(data, trusted=allowed)
    except sio.exceptions.UntrustedTypesFoundException as exc:
        raise ValueError(f"refusing to load untrusted types: {exc}") from None
    card = json.loads(state["card"])
    return ToxicityClassifier.from_state(state["model"]).set_params(thresholds=card_thresholds(card)), card


def card_thresholds(card: Mapping) -> dict[str, float]:
    """Decision threshold per label from a model card: each label's held-out best-F1 cut, `threshold` for toxicity."""
    cuts = {label: float(m["threshold"]) for label, m in card.get("metrics_heldout", {}).items()
            if m.get("threshold") is not None}
    if card.get("threshold") is not None:
        cuts["toxicity"] = float(card["threshold"])
    return cuts


def model_version(card: dict, sha256: str) -> str:
    name, version = str(card.get("name", "sklearn")), str(card.get("version", "0"))
    return f"{version if version.startswith(name) else f'{name}-{version}'}-{sha256[:10]}"


class SklearnScorer:
    """The classifier behind the Scorer protocol; labels it was not trained for are simply absent."""

    name = "sklearn"

    def __init__(self, model: ToxicityClassifier, version: str, card: dict | None = None) -> None:
        self.model = model
        self.version = version
        self.labels = tuple(model.labels_)
        self.card = card or {}

    @classmethod
    def from_file(cls, path: Path) -> "SklearnScorer":
        return cls.from_bytes(path.read_bytes())

    @classmethod
    def from_bytes(cls, data: bytes, sha256: str | None = None) -> "SklearnScorer":
        """The model in a skops file's bytes; with `sha256`, bytes that do not hash to it are refused."""
        actual = hashlib.sha256(data).hexdigest()
        if sha256 is not None and actual != sha256:
            raise ValueError(f"stored bytes have sha256 {actual[:12]}..., the registry recorded {sha256[:12]}...")
        model, card = load_model_bytes(data)
        return cls(model, model_version(card, actual), card)

    def score(self, texts: Sequence[str], languages: Sequence[str | None] | None = None) -> list[dict[str, float]]:
        if not texts:
            return []
        probs = self.model.predict_proba(list(texts))
        return [{label: round(float(p), 4) for label, p in zip(self.labels, row)} for row in probs]


_LOADED: dict[str, SklearnScorer] = {}  # loaded once per process, by the bytes' sha256


@register("sklearn")
def _factory(config: "Config", ruleset: "RuleSet", stored: StoredModel | None = None) -> SklearnScorer:
    """MODERATION_MODEL_PATH, else the registry's active model (`stored`), else the shipped one."""
    if stored is not None and not config.model_path:
        return _cached(stored.sha256, lambda: stored.data, f"model {stored.version} from the registry")
    path = Path(config.model_path) if config.model_path else PACKAGE_MODEL
    if not path.is_file():
        raise ScorerUnavailable(f"no model file at {path}; run `make model` or `moderation model train`")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScorerUnavailable(f"cannot load {path}: {exc}") from exc
    return _cached(hashlib.sha256(data).hexdigest(), lambda: data, str(path))


def _cached(sha256: str, data: Callable[[], bytes | None], what: str) -> SklearnScorer:
    if sha256 not in _LOADED:
        raw = data()
        if raw is None:
            raise ScorerUnavailable(f"{what}: the registry holds no bytes for it (activate another version)")
        try:
            _LOADED[sha256] = SklearnScorer.from_bytes(raw, sha256)
        except Exception as exc:  # noqa: BLE001 - random bytes raise BadZipFile, a bad state TypeError, ...
            raise ScorerUnavailable(f"cannot load {what}: {type(exc).__name__}: {exc}") from exc
    return _LOADED[sha256]
