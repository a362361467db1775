"""ToxicityClassifier: the trainable scikit-learn estimator behind the sklearn scorer (training and evaluation)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from moderation.scoring.sklearn import card_thresholds, featurizer, read_state


def _same(text: str) -> str:
    return text


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
    coefficients afterwards, so a saved model stays one linear layer over the stateless hashed features. The
    last `scores` columns are another model's scores, not counts: passed through unweighted.
    """

    def __init__(self, alpha: float = 0.5, scores: int = 0) -> None:
        self.alpha = alpha
        self.scores = scores

    def fit(self, X: sp.csr_matrix, y: np.ndarray) -> "LogCountRatio":
        present = sp.csr_matrix(X, copy=True)
        present.data = (present.data > 0).astype(np.float32)
        y = np.asarray(y)
        p = self.alpha + np.asarray(present[y == 1].sum(axis=0)).ravel()
        q = self.alpha + np.asarray(present[y != 1].sum(axis=0)).ravel()
        self.ratio_ = np.log((p / p.sum()) / (q / q.sum())).astype(np.float32)
        if self.scores:
            self.ratio_[-self.scores:] = 1.0
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
        features = featurizer(self.word_bits, self.char_bits, tuple(self.char_ngrams), self.lexicon)
        indptr, cols, values = features.rows(list(texts))
        return sp.csr_matrix((values, cols, indptr), shape=(len(indptr) - 1, features.n_features))

    # -- estimator ------------------------------------------------------------------------------------------
    def fit(self, X: Sequence[str], y: np.ndarray) -> "ToxicityClassifier":
        return self.fit_features(self.transform(list(X)), y)

    def fit_features(self, features: sp.csr_matrix, y: np.ndarray,
                     prior: "ToxicityClassifier | None" = None) -> "ToxicityClassifier":
        """Fit on an already transformed matrix (lets training reuse one transform for split and refit).

        A `prior` (a fitted model over the same features, trained on other data) lends its decision for each of
        its labels as one more, unpenalised feature; its weight is folded back into one linear layer.
        """
        Y = np.asarray(y, dtype=np.float64)
        if Y.ndim == 1:
            Y = Y[:, None]
        if Y.shape != (features.shape[0], len(self.labels)):
            raise ValueError(f"y has shape {Y.shape}, expected ({features.shape[0]}, {len(self.labels)})")
        if prior is not None and prior.feature_shape() != self.feature_shape():
            raise ValueError("the prior model's features differ (hash sizes, character n-grams or word lists)")
        prior_scores = prior._decision(features) if prior is not None else None
        coefs, intercepts, calib, self.prior_weights_ = [], [], [], {}
        for j, label in enumerate(self.labels):
            known = ~np.isnan(Y[:, j])
            target = Y[known, j].astype(int)
            if len(set(target)) < 2:
                raise ValueError(f"label {label!r} needs positive and negative examples")
            k = prior.labels_.index(label) if prior is not None and label in prior.labels_ else None
            X = features[known] if k is None else sp.hstack([features[known], prior_scores[known, k:k + 1]],
                                                             format="csr")
            base = self._base(scores=int(k is not None))
            # As CalibratedClassifierCV(method="sigmoid", ensemble=False): Platt on out-of-fold decisions,
            # the model itself fitted on all rows.
            held = cross_val_predict(base, X, target, cv=self.calibration_folds, method="decision_function")
            calib.append(platt(held, target))
            base.fit(X, target)
            linear = base[-1]
            coef = linear.coef_[0] * (base[0].ratio_ if self.nb_alpha is not None else 1.0)
            intercept = float(linear.intercept_[0])
            if k is not None:  # w·x + s·(v·x + c) = (w + s·v)·x + s·c
                weight, coef = float(coef[-1]), coef[:-1] + coef[-1] * prior._weights[:, k]
                intercept += weight * float(prior.intercept_[k])
                self.prior_weights_[label] = round(weight, 4)
            coefs.append(sp.csr_matrix(coef.astype(np.float32)))
            intercepts.append(intercept)
        self._set_coef(sp.vstack(coefs, format="csr"))
        self.intercept_ = np.array(intercepts, dtype=np.float64)
        self.calibration_ = np.array(calib, dtype=np.float64)
        self.labels_ = tuple(self.labels)
        self.classes_ = np.array([0, 1])
        return self

    def feature_shape(self) -> tuple:
        """What decides the feature matrix: two models with the same shape score the same columns."""
        return self.word_bits, self.char_bits, tuple(self.char_ngrams), dict(self.lexicon or {})

    def _base(self, scores: int = 0) -> Pipeline:
        """The per-label estimator: NB weighting (unless nb_alpha is None), then liblinear logistic regression."""
        linear = LogisticRegression(C=self.C, max_iter=self.max_iter, solver="liblinear", random_state=0)
        weights = LogCountRatio(self.nb_alpha, scores) if self.nb_alpha is not None else "passthrough"
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

    # -- persistence (plain arrays and values only; moderation.scoring.linear writes and reads them) ---------
    def to_state(self) -> dict:
        # Thresholds live in the model card (chosen after fitting), not in the state.
        params = {k: v for k, v in self.get_params().items() if k != "thresholds"}
        coef = self.coef_.tocsr()
        return {"params": json.loads(json.dumps(params)), "labels": list(self.labels_),
                "coef_data": coef.data.astype(np.float32), "coef_indices": coef.indices, "coef_indptr": coef.indptr,
                "coef_shape": coef.shape, "intercept": self.intercept_, "calibration": self.calibration_}

    @classmethod
    def from_state(cls, state: Mapping) -> "ToxicityClassifier":
        params = dict(state["params"])
        params["char_ngrams"] = tuple(params["char_ngrams"])
        params["labels"] = tuple(params["labels"])
        params.setdefault("nb_alpha", None)  # files from before NB weighting: a plain logistic regression
        model = cls(**params)
        model._set_coef(sp.csr_matrix((state["coef_data"], state["coef_indices"], state["coef_indptr"]),
                                      shape=tuple(state["coef_shape"]), dtype=np.float32))
        model.intercept_ = np.asarray(state["intercept"], dtype=np.float64)
        model.calibration_ = np.asarray(state["calibration"], dtype=np.float64)
        model.labels_ = tuple(state["labels"])
        model.classes_ = np.array([0, 1])
        return model


def load_model(path: Path) -> tuple[ToxicityClassifier, dict]:
    """The estimator and card from a model file (for training and evaluation code; scoring uses SklearnScorer)."""
    try:
        return load_model_bytes(path.read_bytes())
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def load_model_bytes(data: bytes) -> tuple[ToxicityClassifier, dict]:
    """The estimator and card from a model file's bytes; refuses anything but arrays and plain values."""
    state, card = read_state(data)
    return ToxicityClassifier.from_state(state).set_params(thresholds=card_thresholds(card)), card
