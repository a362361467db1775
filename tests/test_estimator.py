"""ToxicityClassifier keeps scikit-learn's estimator rules and the shipped model file scores as before."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)
from sklearn.utils.validation import check_is_fitted

from moderation.scoring.estimator import LogCountRatio, ToxicityClassifier, load_model
from moderation.scoring.sklearn import PACKAGE_MODEL, SklearnScorer, save_model
from tests.test_models import SMALL, synthetic

FIXTURE = Path(__file__).parent / "fixtures" / "shipped_scores.json"


def test_scikit_learn_estimator_checks():
    model = ToxicityClassifier(**SMALL)
    check_parameters_default_constructible("ToxicityClassifier", model)
    check_no_attributes_set_in_init("ToxicityClassifier", model)
    check_get_params_invariance("ToxicityClassifier", model)
    check_set_params("ToxicityClassifier", model)
    params = model.get_params()
    assert clone(model).get_params() == params and model.set_params(**params).get_params() == params


def test_transform_sets_no_state_and_only_fit_fits():
    model = ToxicityClassifier(**SMALL)
    before = dict(vars(model))
    model.transform(["Du Idiot", "Schöner Tag"])
    assert vars(model) == before
    with pytest.raises(NotFittedError):
        check_is_fitted(model)
    with pytest.raises(NotFittedError):
        model.predict_proba(["Du Idiot"])
    texts, y = synthetic()
    model.fit(texts, np.array(y))
    check_is_fitted(model)
    fitted = {k for k in vars(model) if k not in before}
    assert fitted and all(k.endswith("_") or k.startswith("_") for k in fitted), fitted


def test_predict_honours_the_thresholds():
    texts, y = synthetic()
    model = ToxicityClassifier(**SMALL).fit(texts, np.array(y))
    probs = model.predict_proba(texts[:40])[:, 0]
    cut = float(np.median(probs))
    assert model.set_params(thresholds={"toxicity": cut}).predict(texts[:40])[:, 0].tolist() == \
        (probs >= cut).astype(int).tolist()
    assert model.set_params(thresholds=None).predict(texts[:40])[:, 0].tolist() == (probs >= 0.5).astype(int).tolist()


def test_loaded_model_predicts_at_the_cards_thresholds(tmp_path):
    texts, y = synthetic()
    model = ToxicityClassifier(**SMALL).fit(texts, np.array(y))
    probs = model.predict_proba(texts)[:, 0]
    cut = round(float(np.median(probs[probs >= 0.5])), 4)  # flags about half of what 0.5 flags
    save_model(model, tmp_path / "m.npz", {"name": "t", "version": "1", "threshold": cut})
    loaded, _ = load_model(tmp_path / "m.npz")
    assert 0 < (probs >= cut).sum() < (probs >= 0.5).sum()
    assert loaded.predict(texts)[:, 0].tolist() == (probs >= cut).astype(int).tolist()


@pytest.mark.parametrize("nb_alpha", [None, 0.5, 1.0])
def test_platt_parameters_match_calibrated_classifier_cv(nb_alpha):
    """The folded linear model (NB ratios times coefficients) scores as sklearn's calibrated NB-LR pipeline."""
    texts, y = synthetic(300, seed=4)
    y = np.array(y)
    y[::9] = 1 - y[::9]  # label noise, so the calibration is not degenerate
    model = ToxicityClassifier(**SMALL, nb_alpha=nb_alpha).fit(texts, y)
    features = model.transform(texts)
    linear = LogisticRegression(C=model.C, max_iter=model.max_iter, solver="liblinear", random_state=0)
    base = linear if nb_alpha is None else make_pipeline(LogCountRatio(nb_alpha), linear)
    reference = CalibratedClassifierCV(base, method="sigmoid", cv=3, ensemble=False).fit(features, y)
    assert np.abs(model.predict_proba(texts)[:, 0] - reference.predict_proba(features)[:, 1]).max() < 1e-5


def test_log_count_ratio_weights_words_by_class():
    X = sp.csr_matrix(np.array([[1, 0, 1], [2, 0, 1], [0, 1, 1], [0, 3, 1]], dtype=np.float32))
    ratio = LogCountRatio(alpha=1.0).fit(X, np.array([1, 1, 0, 0])).ratio_
    assert ratio[0] > 0 > ratio[1] and abs(ratio[2]) < 1e-6  # counts are binarised: 2 and 3 count as present
    assert np.allclose(ratio[0], -ratio[1]) and np.isclose(ratio[0], np.log(3 / 1))


@pytest.mark.skipif(not PACKAGE_MODEL.is_file(), reason="shipped model not built (make model)")
def test_shipped_file_scores_as_before_the_rewrite():
    recorded = json.loads(FIXTURE.read_text(encoding="utf-8"))
    assert hashlib.sha256(PACKAGE_MODEL.read_bytes()).hexdigest() == recorded["model_sha256"], \
        "the shipped model changed: record tests/fixtures/shipped_scores.json again with the new file"
    model, card = load_model(PACKAGE_MODEL)
    probs = model.predict_proba(recorded["texts"])
    assert list(model.labels_) == recorded["labels"]
    assert np.abs(probs - np.array(recorded["probabilities"])).max() < 1e-6
    cuts = np.array([card["metrics_heldout"][label]["threshold"] for label in model.labels_])
    assert (model.predict(recorded["texts"]) == (probs >= cuts)).all()
    # The scorer's numpy-only path (no scikit-learn) gives the same probabilities and cuts.
    scorer = SklearnScorer.from_file(PACKAGE_MODEL)
    fast = scorer.model.predict_proba(recorded["texts"])
    assert np.abs(fast - np.array(recorded["probabilities"])).max() < 1e-6
    assert (scorer.model.predict(recorded["texts"]) == (fast >= cuts)).all()


def test_numpy_scoring_path_equals_the_estimator_on_real_comments(tmp_path):
    """Features and probabilities of the scorer (numpy, mmh3) against the scikit-learn estimator, same file."""
    texts, y = synthetic()
    model = ToxicityClassifier(labels=("toxicity",), lexicon={"insults": ["idiot*", "*trottel"]}, **SMALL)
    model.fit(texts, np.array(y))
    save_model(model, tmp_path / "m.npz", {"name": "t", "version": "1"})
    scorer = SklearnScorer.from_file(tmp_path / "m.npz")
    sample = [*texts[:50], "", "🤡🤡", "Du IDIOT!!! http://x.de @jemand 2024", "a " * 300]
    assert np.abs(scorer.model.predict_proba(sample) - model.predict_proba(sample)).max() < 1e-6


def test_a_skops_file_of_the_earlier_format_still_loads_and_scores_the_same(tmp_path):
    import zipfile

    import skops.io as sio

    texts, y = synthetic()
    model = ToxicityClassifier(**SMALL).fit(texts, np.array(y))
    legacy = {"format": "moderation-sklearn/1", "params": model.to_state()["params"], "coef": model.coef_,
              "intercept": model.intercept_, "calibration": model.calibration_, "labels": list(model.labels_)}
    data = sio.dumps({"model": legacy, "card": json.dumps({"name": "old", "version": "1", "threshold": 0.4})},
                     compression=zipfile.ZIP_DEFLATED)
    (tmp_path / "old.skops").write_bytes(data)
    loaded, card = load_model(tmp_path / "old.skops")
    assert card["version"] == "1" and loaded.thresholds == {"toxicity": 0.4}
    scorer = SklearnScorer.from_file(tmp_path / "old.skops")
    assert np.abs(scorer.model.predict_proba(texts) - model.predict_proba(texts)).max() < 1e-6
