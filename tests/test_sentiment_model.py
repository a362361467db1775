"""German sentiment classifier: training, safe files, the shipped model, the lexicon fallback, accuracy floors."""
from __future__ import annotations

import numpy as np
import pytest

from moderation.research import sentimentmodel
from moderation.research.sentiment import GermanSentiment, Sentiment
from moderation.research.sentimentmodel import (
    CLASSES,
    MODEL,
    SentimentClassifier,
    german,
    load,
    save,
)
from tests.conftest import corpus

POS = ["Das ist wirklich super, danke!", "Toller Beitrag, sehr gut gemacht.", "Ich freue mich riesig darüber.",
       "Wunderbar, genau so soll es sein.", "Großartige Arbeit, weiter so!", "Schön, das freut mich sehr."]
NEG = ["Das ist völlig daneben und schlecht.", "Was für ein Schwachsinn, furchtbar.", "Ich hasse diese Politik.",
       "Eine Katastrophe, einfach schrecklich.", "So ein Mist, unerträglich.", "Peinlich und dumm, wie immer."]
NEU = ["Der Zug fährt um acht Uhr ab.", "Die Sitzung beginnt am Montag.", "Er wohnt seit 2010 in Wien.",
       "Der Bericht hat zwölf Seiten.", "Die Wahl findet im Oktober statt.", "Das Rathaus liegt am Platz."]


@pytest.fixture(scope="module")
def tiny():
    return SentimentClassifier(C=10.0, min_confidence=0.0).fit(POS + NEG + NEU, ["positive"] * 6 + ["negative"] * 6
                                                               + ["neutral"] * 6)


def test_tiny_model_learns_its_training_data(tiny):
    assert list(tiny.labels(POS + NEG + NEU)) == ["positive"] * 6 + ["negative"] * 6 + ["neutral"] * 6
    p = tiny.predict_proba(["Super, danke!", "Furchtbar schlecht."])
    assert np.allclose(p.sum(axis=1), 1) and p[0, 2] > p[0, 0] and p[1, 0] > p[1, 2]
    assert tiny.compound("Super, danke!") > 0 > tiny.compound("Furchtbar schlecht.")
    assert tiny.predict_proba([]).shape == (0, 3)


def test_min_confidence_turns_unsure_polar_labels_neutral(tiny):
    tiny.min_confidence = 1.0  # nothing is that sure: every label becomes neutral
    try:
        assert set(tiny.labels(POS + NEG)) == {"neutral"}
    finally:
        tiny.min_confidence = 0.0


def test_unknown_labels_and_missing_classes_are_refused():
    with pytest.raises(ValueError, match="labels must be"):
        SentimentClassifier().fit(["a b", "c d"], ["good", "bad"])
    with pytest.raises(ValueError, match="every class"):
        SentimentClassifier().fit(POS + NEG, ["positive"] * 6 + ["negative"] * 6)


def test_saved_model_loads_with_the_same_probabilities_and_a_versioned_card(tiny, tmp_path):
    path = tmp_path / "m.skops"
    sha = save(tiny, path, {"version": "test-1"})
    loaded, card = load(path)
    assert card == {"version": "test-1"}
    assert loaded.version == f"test-1+sha256:{sha[:12]}"
    texts = POS + NEG + ["etwas ganz anderes, nie gesehen"]
    assert np.allclose(loaded.predict_proba(texts), tiny.predict_proba(texts), atol=1e-5)


def test_a_file_with_an_executable_type_is_refused(tmp_path):
    import skops.io as sio

    path = tmp_path / "evil.skops"
    path.write_bytes(sio.dumps({"model": GermanSentiment, "card": "{}"}))
    with pytest.raises(ValueError, match="untrusted"):
        load(path)


def test_shipped_model_loads_and_reads_german_polarity():
    model, card = load(MODEL)
    assert card["version"].startswith("potts-") and card["classes"] == list(CLASSES)
    assert set(card["training_data"]) == {"PotTS train (MIT)", "GermEval 2018 training (CC BY 4.0)"}
    assert MODEL.stat().st_size < 2_000_000  # package data stays small
    labels = model.labels(["Das ist eine wunderbare Nachricht, ich freue mich sehr!",
                           "Was für ein widerlicher, dummer Unsinn.", "Der Zug fährt um acht Uhr."])
    assert list(labels) == ["positive", "negative", "neutral"]


def test_research_scorer_uses_the_model_and_falls_back_to_the_lexicon(tmp_path, caplog):
    scorer = sentimentmodel.default()
    assert isinstance(scorer.de, SentimentClassifier)
    assert scorer.versions["de"].startswith("model-de-potts potts-") and "sha256:" in scorer.versions["de"]
    assert scorer.versions["en"].startswith("vader")
    s = scorer.score(["Eine wunderbare Idee, danke!", "Great work!", "Bon travail."], ["de", "en", "fr"])
    assert s[0] > 0.2 and s[1] > 0.05 and np.isnan(s[2])
    fallback = german(tmp_path / "missing.skops")
    assert isinstance(fallback, GermanSentiment) and "falling back to the lexicon" in caplog.text
    assert Sentiment(fallback).versions["de"].startswith("lexicon-de-uzh")


@pytest.mark.corpus
def test_shipped_model_beats_lexicon_and_majority_on_one_million_posts_and_germeval2017():
    """Figures in bench/ACCURACY.md; the floors asserted here sit below them."""
    from bench.sentiment_model import evaluate

    data = corpus("one-million-posts").parent
    corpus("germeval2017-nc"), corpus("potts")
    results = evaluate(load(MODEL)[0], data)
    omp, ge17 = results["One Million Posts"], results["GermEval 2017 dev"]
    assert omp["model"]["macro_f1"] > omp["lexicon"]["macro_f1"] + 0.08 > omp["always neutral"]["macro_f1"]
    assert ge17["model"]["macro_f1"] > ge17["lexicon"]["macro_f1"] + 0.015
    assert results["PotTS dev"]["model"]["macro_f1"] > 0.58


def test_class_weighting_balances_a_lopsided_training_set_and_survives_saving(tmp_path):
    """Balanced class weights: a class with few examples still gets its share of the decision (issue 12)."""
    texts = POS[:2] + NEG * 3 + NEU * 3
    labels = ["positive"] * 2 + ["negative"] * 18 + ["neutral"] * 18
    plain = SentimentClassifier(C=1.0, min_confidence=0.0, class_weight=None).fit(texts, labels)
    weighted = SentimentClassifier(C=1.0, min_confidence=0.0, class_weight="balanced").fit(texts, labels)
    probe = POS[2:]
    assert weighted.predict_proba(probe)[:, 2].mean() > plain.predict_proba(probe)[:, 2].mean()
    path = tmp_path / "w.skops"
    save(weighted, path, {"version": "test-w"})
    loaded, _ = load(path)
    assert loaded.class_weight == "balanced"
    assert np.allclose(loaded.predict_proba(probe), weighted.predict_proba(probe), atol=1e-5)
