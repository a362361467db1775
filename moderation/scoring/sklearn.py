"""A trainable German+English classifier: hashed word and character n-grams, lexicon counts, calibrated linear model."""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2

from moderation.scoring import ScorerUnavailable, register

if TYPE_CHECKING:
    from moderation.config import Config
    from moderation.rules import RuleSet

PACKAGE_MODEL = Path(__file__).resolve().parent.parent / "models" / "default.skops"
LEXICON_LISTS = ("insults", "mild_insults", "severe_insults", "profanity", "threats", "identity_attacks",
                 "accusations", "insult_emoji", "second_person")
_INFLECTIONS = "e|en|n|s|es|er|ern|em|in|innen|chen|ed|d|ing|y"
_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@\w+")
_DIGITS = re.compile(r"\d")


def _same(text: str) -> str:
    return text


def preprocess(text: str) -> str:
    """Lower-case; URLs, @mentions and digits folded so that no corpus' handles become features."""
    text = text.replace("|LBR|", " ").lower()
    return _DIGITS.sub("0", _MENTION.sub(" @user ", _URL.sub(" url ", text)))


class ListMatcher:
    r"""Counts a word list's hits in lower-cased text: exact forms with inflections, compound parts, phrases.

    Token set look-ups and str.startswith/endswith with tuples stay in C, so this costs microseconds per text
    (one big regular expression with `\w*x\w*` alternatives backtracks at every position and is 100x slower).
    """

    def __init__(self, entries: Sequence[str]) -> None:
        exact, prefixes, suffixes, infixes, phrases = set(), [], [], [], []
        for entry in entries:
            head, tail = entry.startswith("*"), entry.endswith("*")
            core = entry.strip("*")
            if not core:
                continue
            if " " in core or not core[0].isalnum():
                phrases.append(core.lstrip("="))
            elif core.startswith("="):
                exact.add(core[1:])
            elif head and tail:
                infixes.append(core)
            elif head:
                suffixes.extend(core + ending for ending in ("", *_INFLECTIONS.split("|")))
            elif tail:
                prefixes.append(core)
            else:
                exact.update(core + ending for ending in ("", *_INFLECTIONS.split("|")))
        self.exact = frozenset(exact)
        self.prefixes, self.suffixes, self.infixes = tuple(prefixes), tuple(suffixes), tuple(infixes)
        self.phrases = tuple(phrases)

    def count(self, text: str, tokens: Sequence[str]) -> int:
        hits = 0
        for token in tokens:
            if (token in self.exact or token.startswith(self.prefixes) or token.endswith(self.suffixes)
                    or (self.infixes and any(x in token for x in self.infixes))):
                hits += 1
        return hits + sum(text.count(p) for p in self.phrases)


_WORD = re.compile(r"\w+")
_CACHE_LIMIT = 200_000


class LexiconCounter:
    """Hit counts per list for many texts; each distinct token is matched once and remembered."""

    def __init__(self, lexicon: Mapping[str, Sequence[str]]) -> None:
        self.matchers = [ListMatcher(entries) for _name, entries in sorted(lexicon.items()) if entries]
        self.cache: dict[str, tuple[int, ...]] = {}

    def _token(self, token: str) -> tuple[int, ...]:
        hit = self.cache.get(token)
        if hit is None:
            hit = tuple(i for i, m in enumerate(self.matchers) if m.count("", (token,)))
            if len(self.cache) < _CACHE_LIMIT:
                self.cache[token] = hit
        return hit

    def counts(self, texts: Sequence[str]) -> np.ndarray:
        """log1p(hits) per text and list, from already pre-processed texts."""
        out = np.zeros((len(texts), len(self.matchers)), dtype=np.float32)
        # A phrase is only searched for when its first word occurs; symbols and emoji are always searched.
        by_first: dict[str, list[tuple[int, str]]] = {}
        always: list[tuple[int, str]] = []
        for i, m in enumerate(self.matchers):
            for phrase in m.phrases:
                first = _WORD.match(phrase)
                (by_first.setdefault(first.group(), []) if first else always).append((i, phrase))
        for row, text in enumerate(texts):
            tokens = _WORD.findall(text)
            for token in tokens:
                for i in self._token(token):
                    out[row, i] += 1
            for token in set(tokens).intersection(by_first):
                for i, phrase in by_first[token]:
                    out[row, i] += text.count(phrase)
            for i, phrase in always:
                if phrase in text:
                    out[row, i] += text.count(phrase)
        return np.log1p(out)


def lexicon_from_ruleset(ruleset: "RuleSet") -> dict[str, list[str]]:
    """The rule set's word lists (all languages merged) as {list name: entries}."""
    out: dict[str, list[str]] = {}
    for path, text in sorted(ruleset.files.items()):
        parts = path.split("/")
        if len(parts) == 3 and parts[0] == "wordlists" and parts[2][:-4] in LEXICON_LISTS:
            entries = [ln.split(" #", 1)[0].strip().lower() for ln in text.splitlines()
                       if ln.strip() and not ln.lstrip().startswith("#")]
            out.setdefault(parts[2][:-4], []).extend(e for e in entries if e)
    return out


class ToxicityClassifier(ClassifierMixin, BaseEstimator):
    """Multi-label toxicity classifier; `fit(texts, Y)` with Y (n, k) of 0/1 (NaN = not annotated for that label).

    No vocabulary is stored: n-grams are hashed. Each label gets its own logistic regression, calibrated by
    Platt scaling on cross-validated predictions, trained only on rows that carry that label.
    """

    def __init__(self, labels: Sequence[str] = ("toxicity",), word_bits: int = 18, char_bits: int = 19,
                 char_ngrams: tuple[int, int] = (2, 5), lexicon: Mapping[str, Sequence[str]] | None = None,
                 C: float = 4.0, calibration_folds: int = 3, max_iter: int = 300) -> None:
        self.labels = labels
        self.word_bits = word_bits
        self.char_bits = char_bits
        self.char_ngrams = char_ngrams
        self.lexicon = lexicon
        self.C = C
        self.calibration_folds = calibration_folds
        self.max_iter = max_iter

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
        """The feature matrix: word n-grams, character n-grams, log1p lexicon hit counts per list."""
        if not hasattr(self, "_vec"):
            # HashingVectorizer.transform, minus per-call parameter validation (a millisecond per comment).
            self._vec = [(v.build_analyzer(), v._get_hasher()) for v in self._vectorizers()]
            self._lex = LexiconCounter(self.lexicon or {})
        lowered = [preprocess(t) for t in texts]
        blocks = []
        for analyzer, hasher in self._vec:
            block = hasher.transform(analyzer(t) for t in lowered)
            inplace_csr_row_normalize_l2(block)
            blocks.append(block)
        if self._lex.matchers:
            blocks.append(sp.csr_matrix(self._lex.counts(lowered)))
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
            base = LogisticRegression(C=self.C, max_iter=self.max_iter, solver="liblinear", random_state=0)
            cal = CalibratedClassifierCV(base, method="sigmoid", cv=self.calibration_folds, ensemble=False)
            cal.fit(features[known], target)
            inner = cal.calibrated_classifiers_[0]
            coefs.append(sp.csr_matrix(inner.estimator.coef_.astype(np.float32)))
            intercepts.append(float(inner.estimator.intercept_[0]))
            calib.append((float(inner.calibrators[0].a_), float(inner.calibrators[0].b_)))
        self.coef_ = sp.vstack(coefs, format="csr")
        self._weights = None
        self.intercept_ = np.array(intercepts, dtype=np.float64)
        self.calibration_ = np.array(calib, dtype=np.float64)
        self.labels_ = tuple(self.labels)
        self.classes_ = np.array([0, 1])
        return self

    def decision_function(self, X: Sequence[str]) -> np.ndarray:
        return self._decision(self.transform(list(X)))

    def _decision(self, features: sp.csr_matrix) -> np.ndarray:
        if getattr(self, "_weights", None) is None or self._weights.shape[0] != self.coef_.shape[1]:
            # Dense (features x labels): a sparse row times a dense matrix costs microseconds.
            self._weights = np.ascontiguousarray(self.coef_.T.toarray(), dtype=np.float32)
        return np.asarray(features @ self._weights, dtype=np.float64) + self.intercept_

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        """Calibrated probability per text (rows) and label (columns, in `labels_` order)."""
        return self.predict_proba_features(self.transform(list(X)))

    def predict_proba_features(self, features: sp.csr_matrix) -> np.ndarray:
        f = self._decision(features)
        return 1.0 / (1.0 + np.exp(self.calibration_[:, 0] * f + self.calibration_[:, 1]))

    def predict(self, X: Sequence[str]) -> np.ndarray:
        return (self.predict_proba(X) >= 0.5).astype(int)

    # -- persistence (skops: arrays and plain values only, nothing executable) ------------------------------
    def to_state(self) -> dict:
        return {"format": "moderation-sklearn/1", "params": json.loads(json.dumps(self.get_params())),
                "coef": self.coef_, "intercept": self.intercept_, "calibration": self.calibration_,
                "labels": list(self.labels_)}

    @classmethod
    def from_state(cls, state: dict) -> "ToxicityClassifier":
        if state.get("format") != "moderation-sklearn/1":
            raise ValueError(f"unknown model format {state.get('format')!r}")
        params = dict(state["params"])
        params["char_ngrams"] = tuple(params["char_ngrams"])
        params["labels"] = tuple(params["labels"])
        model = cls(**params)
        model.coef_ = sp.csr_matrix(state["coef"], dtype=np.float32)
        model.intercept_ = np.asarray(state["intercept"], dtype=np.float64)
        model.calibration_ = np.asarray(state["calibration"], dtype=np.float64)
        model.labels_ = tuple(state["labels"])
        model.classes_ = np.array([0, 1])
        return model


def save_model(model: ToxicityClassifier, path: Path, card: dict) -> str:
    """Write model and card with skops; returns the file's sha256."""
    import skops.io as sio  # noqa: PLC0415
    import zipfile  # noqa: PLC0415

    path.parent.mkdir(parents=True, exist_ok=True)
    sio.dump({"model": model.to_state(), "card": json.dumps(card, ensure_ascii=False)}, path,
             compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_model(path: Path) -> tuple[ToxicityClassifier, dict]:
    """Model and card from a skops file; refuses anything but arrays and plain values."""
    import skops.io as sio  # noqa: PLC0415

    # A sparse matrix is data; any other type skops does not trust could run code when loaded, so it is refused.
    allowed = ["scipy.sparse._csr.csr_matrix", "scipy.sparse._csr.csr_array"]
    try:
        data = sio.load(path, trusted=allowed)
    except sio.exceptions.UntrustedTypesFoundException as exc:
        raise ValueError(f"{path}: refusing to load untrusted types: {exc}") from None
    return ToxicityClassifier.from_state(data["model"]), json.loads(data["card"])


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
        model, card = load_model(path)
        return cls(model, model_version(card, hashlib.sha256(path.read_bytes()).hexdigest()), card)

    def score(self, texts: Sequence[str], languages: Sequence[str | None] | None = None) -> list[dict[str, float]]:
        if not texts:
            return []
        probs = self.model.predict_proba(list(texts))
        return [{label: round(float(p), 4) for label, p in zip(self.labels, row)} for row in probs]


def active_model_path(config: "Config") -> Path:
    """MODERATION_MODEL_PATH, else the model a site activated (instance/models/active.json), else the shipped one."""
    if config.model_path:
        return Path(config.model_path)
    pointer = Path(config.instance_path) / "models" / "active.json"
    if pointer.is_file():
        return Path(json.loads(pointer.read_text())["path"])
    return PACKAGE_MODEL


_LOADED: dict[tuple[str, float], SklearnScorer] = {}  # loaded once per process (per file and mtime)


@register("sklearn")
def _factory(config: "Config", ruleset: "RuleSet") -> SklearnScorer:
    path = active_model_path(config)
    if not path.is_file():
        raise ScorerUnavailable(f"no model file at {path}; run `make model` or `moderation model train`")
    key = (str(path), path.stat().st_mtime)
    if key not in _LOADED:
        try:
            _LOADED[key] = SklearnScorer.from_file(path)
        except (ValueError, KeyError, OSError) as exc:
            raise ScorerUnavailable(f"cannot load {path}: {exc}") from exc
    return _LOADED[key]
