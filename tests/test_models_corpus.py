"""The shipped model on real corpora it was not trained on (skips without ../shared/data, except in CI)."""
from __future__ import annotations

import pytest

from moderation.scoring.estimator import load_model
from moderation.scoring.sklearn import PACKAGE_MODEL
from tests.conftest import corpus, need

pytestmark = pytest.mark.corpus


@pytest.fixture(scope="module")
def shipped():
    need(PACKAGE_MODEL.is_file(), "shipped model not built (make model)")
    return load_model(PACKAGE_MODEL)


@pytest.mark.parametrize("name,min_auc", [("wiki-toxicity-testset", 0.85), ("germeval2021-toxic", 0.6)])
def test_shipped_model_separates_unseen_corpora(shipped, name, min_auc):
    from bench import corpora
    from moderation.learning import training as learning

    root = corpus(name).parent
    model, card = shipped
    assert name not in {s["name"] for s in card["sources"]}  # really unseen
    metrics = learning.evaluate(model, corpora.load(name, root), card["threshold"])
    assert metrics["roc_auc"] >= min_auc, metrics


def test_training_corpora_are_permissive_only():
    from bench import corpora

    for name, (_reader, licence, _lang) in corpora.TRAIN.items():
        assert "NC" not in licence and "none" not in licence.lower(), name
        source = (corpus(name) / "SOURCE.md").read_text(encoding="utf-8")
        assert "NON-COMMERCIAL" not in source and "NONE STATED" not in source, name
