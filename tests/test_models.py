"""The trainable classifier: estimator, safe persistence, metrics, train/evaluate/activate, learning from decisions."""
from __future__ import annotations

import json
import random

import numpy as np
import pytest
import scipy.sparse as sp
from click.testing import CliRunner
from sklearn.base import clone

from moderation.learning import training as learning
from moderation.cli import main
from moderation.config import Config
from moderation.scoring import build_scorers
from moderation.scoring.estimator import ToxicityClassifier, load_model
from moderation.scoring.sklearn import PACKAGE_MODEL, save_model
from tests.conftest import RULES
from tests.test_store import batch, load

INSULTS = ["Idiot", "Vollidiot", "Trottel", "Depp", "Arschloch", "idiot", "moron", "asshole", "loser", "jerk"]
NICE = ["Artikel", "Beitrag", "Bericht", "Interview", "article", "report", "story", "interview", "Analyse", "piece"]


def synthetic(n: int = 240, seed: int = 0) -> tuple[list[str], list[int]]:
    """Toxic and friendly comments in German and English, from templates."""
    rnd = random.Random(seed)
    bad = ["Du bist ein {w}, halt die Klappe.", "Was für ein {w}, verschwinde!", "You are such a {w}, shut up.",
           "Only a {w} would write this garbage.", "So ein {w} wie du gehört nicht hierher."]
    good = ["Danke für den {w}, sehr informativ.", "Ein guter {w}, ich stimme zu.", "Thanks for the {w}, well done.",
            "Great {w}, I learned a lot.", "Der {w} ist ausgewogen und klar."]
    texts, labels = [], []
    for i in range(n):
        toxic = i % 2
        texts.append(rnd.choice(bad if toxic else good).format(w=rnd.choice(INSULTS if toxic else NICE)))
        labels.append(toxic)
    return texts, labels


SMALL = dict(word_bits=12, char_bits=13)


def test_estimator_learns_and_follows_sklearn_conventions():
    texts, y = synthetic()
    model = ToxicityClassifier(**SMALL).fit(texts, np.array(y))
    assert clone(model).get_params() == model.get_params()
    probs = model.predict_proba(["Du bist ein Trottel, halt die Klappe.", "Danke für den Bericht, sehr informativ."])
    assert probs.shape == (2, 1) and probs[0, 0] > 0.8 and probs[1, 0] < 0.2
    assert model.predict(["You are such a moron, shut up."]).tolist() == [[1]]


def test_labels_train_only_on_rows_that_carry_them():
    texts, y = synthetic()
    insult = [float(v) if i < 120 else np.nan for i, v in enumerate(y)]  # half the rows say nothing about insult
    model = ToxicityClassifier(labels=("toxicity", "insult"), **SMALL).fit(texts, np.array([y, insult]).T)
    assert model.predict_proba(["Was für ein Idiot, verschwinde!"]).shape == (1, 2)
    with pytest.raises(ValueError, match="insult"):
        ToxicityClassifier(labels=("toxicity", "insult"), **SMALL).fit(texts, np.array([y, [0.0] * len(y)]).T)


def test_lexicon_features_come_from_the_word_lists(ruleset):
    from moderation.scoring.sklearn import lexicon_from_ruleset

    lexicon = lexicon_from_ruleset(ruleset)
    assert "trottelig" in lexicon["insults"] and lexicon["threats"]
    model = ToxicityClassifier(lexicon=lexicon, **SMALL)
    features = model.transform(["Du Vollidiot", "Schöner Tag"])
    width = 2 ** 12 + 2 ** 13
    assert features.shape[1] == width + len(lexicon)
    assert features[0, width:].sum() > 0 and features[1, width:].sum() == 0


def test_model_file_round_trip_with_card_and_refuses_foreign_objects(tmp_path):
    texts, y = synthetic()
    model = ToxicityClassifier(**SMALL).fit(texts, np.array(y))
    sha = save_model(model, tmp_path / "m.npz", {"name": "t", "version": "1"})
    loaded, card = load_model(tmp_path / "m.npz")
    assert card == {"name": "t", "version": "1"} and len(sha) == 64
    assert np.allclose(loaded.predict_proba(texts[:20]), model.predict_proba(texts[:20]))
    import skops.io as sio

    sio.dump({"model": ToxicityClassifier()}, tmp_path / "evil.skops")  # an object skops would have to construct
    with pytest.raises(ValueError, match="untrusted"):
        load_model(tmp_path / "evil.skops")
    # An .npz whose arrays hold Python objects would need pickle to load: refused, nothing constructed.
    arrays = dict(np.load(tmp_path / "m.npz", allow_pickle=False))
    np.savez(tmp_path / "evil.npz", **{**arrays, "intercept": np.array([ToxicityClassifier()], dtype=object)})
    with pytest.raises(ValueError, match="pickle"):
        load_model(tmp_path / "evil.npz")


def test_official_f1_is_harmonic_mean_of_macro_precision_and_recall():
    truth = [1, 1, 1, 0, 0, 0, 0, 0]
    probs = [0.9, 0.8, 0.3, 0.7, 0.2, 0.1, 0.1, 0.1]
    m = learning.binary_metrics(truth, probs, 0.5)
    # class 1: P 2/3, R 2/3; class 0: P 4/5, R 4/5 -> macro P = macro R = 11/15
    assert m["precision_macro"] == pytest.approx(11 / 15, abs=1e-4)
    assert m["f1_official"] == pytest.approx(11 / 15, abs=1e-4) and m["f1_macro"] == pytest.approx(11 / 15, abs=1e-4)
    skewed = learning.binary_metrics(truth, [0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.1, 0.1], 0.5)
    # class 1: P 1/2, R 1 (F1 2/3); class 0: P 1, R 2/5 (F1 4/7): macro P 3/4, macro R 7/10
    assert skewed["f1_official"] == pytest.approx(2 * 0.75 * 0.7 / 1.45, abs=1e-4)
    assert skewed["f1_macro"] == pytest.approx((2 / 3 + 4 / 7) / 2, abs=1e-4)
    assert m["roc_auc"] == pytest.approx(14 / 15, abs=1e-4)


def test_labelled_files_in_three_formats_and_errors_name_the_line(tmp_path):
    (tmp_path / "a.csv").write_text('text,label\n"Du Idiot",1\nDanke,0\n', encoding="utf-8")
    (tmp_path / "b.tsv").write_text("text\tlabel\tinsult\nDu Idiot\t1\t1\nDanke\t0\t\n", encoding="utf-8")
    (tmp_path / "c.jsonl").write_text('{"text": "Du Idiot", "label": 1}\n{"text": "Danke", "label": false}\n',
                                      encoding="utf-8")
    for name in ("a.csv", "b.tsv", "c.jsonl"):
        data = learning.read_labelled(tmp_path / name)
        assert data.texts == ["Du Idiot", "Danke"] and data.column("toxicity").tolist() == [1.0, 0.0]
    assert np.isnan(learning.read_labelled(tmp_path / "b.tsv").column("insult")[1])
    (tmp_path / "bad.csv").write_text("text,label\nok,1\nnope,maybe\n", encoding="utf-8")
    with pytest.raises(learning.DataError, match=r"bad.csv:3: column label"):
        learning.read_labelled(tmp_path / "bad.csv")
    (tmp_path / "nolabel.csv").write_text("text,score\nx,1\n", encoding="utf-8")
    with pytest.raises(learning.DataError, match="nolabel.csv:2: need a text column"):
        learning.read_labelled(tmp_path / "nolabel.csv")


def write_csv(path, texts, labels):
    import csv

    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        w.writerows(zip(texts, labels))
    return path


def test_train_then_evaluate_per_the_contract(tmp_path):
    texts, y = synthetic(300)
    train_file = write_csv(tmp_path / "train.csv", texts, y)
    test_texts, test_y = synthetic(100, seed=7)
    test_file = write_csv(tmp_path / "test.csv", test_texts, test_y)
    runner = CliRunner()
    base = ["--database", f"sqlite:///{tmp_path / 'db.sqlite'}", "--rules", str(RULES)]
    out = runner.invoke(main, [*base, "model", "train", "--data", str(train_file), "--out", str(tmp_path / "m.npz"),
                               "--json"], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    trained = json.loads(out.output)
    assert trained["heldout"]["toxicity"]["roc_auc"] > 0.9 and not trained["registered"]
    out = runner.invoke(main, [*base, "model", "evaluate", "--model", str(tmp_path / "m.npz"), "--data",
                               str(test_file), "--json"], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    result = json.loads(out.output)
    assert {"n", "roc_auc", "f1_official", "f1_macro", "threshold"} <= set(result)
    assert result["n"] == 100 and result["roc_auc"] > 0.9 and result["f1_official"] > 0.8
    assert result["threshold"] == trained["threshold"]  # chosen on held-out training data, not on the test file
    _, card = load_model(tmp_path / "m.npz")
    assert card["sources"][0]["name"] == "train.csv" and card["metrics_heldout"]["toxicity"]["n"] == 60
    assert card["created_at"] and card["thresholds"]["toxicity"]["target_precision"] == 0.8
    bad = runner.invoke(main, [*base, "model", "evaluate", "--model", str(tmp_path / "m.npz"), "--data",
                               str(tmp_path / "missing.csv")])
    assert bad.exit_code == 2 and "missing.csv: no such file" in bad.output


def decided(db, n: int = 150) -> None:
    """n comments with moderators' decisions: insults rejected, friendly ones approved."""
    texts, y = synthetic(n, seed=3)
    load(db, batch([(f"c{i}", None, t, "rejected" if label else "approved")
                    for i, (t, label) in enumerate(zip(texts, y))]))


def test_site_model_from_decisions_is_evaluated_then_activated(db, tmp_path):
    decided(db)
    runner = CliRunner()
    env = {"MODERATION_INSTANCE_PATH": str(tmp_path / "instance")}
    base = ["--database", db.url, "--rules", str(RULES), "model"]

    def run(*args):
        return runner.invoke(main, [*base, *args], env=env, catch_exceptions=False)

    train_data = learning.from_decisions(db)
    held = learning.from_decisions(db, heldout=True)
    assert len(train_data) + len(held) == 150 and 20 <= len(held) <= 40
    out = run("train", "--from-decisions", "--keep-inactive", "--json")  # the manual path: evaluate, activate
    assert out.exit_code == 0, out.output
    version = json.loads(out.output)["version"]
    assert version == "site-1" and json.loads(out.output)["registered"]
    refused = run("activate", version)
    assert refused.exit_code == 1 and "has not been evaluated" in refused.output
    out = run("evaluate", "--model-version", version, "--json")
    assert out.exit_code == 0, out.output
    comparison = json.loads(out.output)
    assert comparison["candidate"]["n"] == len(held)
    assert comparison["active"] is None or comparison["active"]["model"] != version
    assert comparison["candidate"]["roc_auc"] > 0.9
    if comparison["candidate_not_worse"]:
        assert run("activate", version).exit_code == 0
    else:
        assert run("activate", version, "--force").exit_code == 0
    listed = json.loads(run("list", "--json").output)
    assert [(r["version"], r["active"], r["evaluated"]) for r in listed] == [(version, True, True)]
    assert not (tmp_path / "instance" / "models").exists(), "the model lives in the database, not on this disk"
    # Triage now scores with the site model, and every score records its version.
    from moderation.learning.registry import stored_models
    from moderation.rules import load_ruleset

    config = Config(instance_path=tmp_path / "instance")
    with db.session() as s:
        scorers, problems = build_scorers(["sklearn"], config, load_ruleset(RULES), stored_models(s, config))
    assert not problems and scorers[0].version.startswith(version)
    assert scorers[0].score(["Du bist ein Depp, halt die Klappe."])[0]["toxicity"] > 0.5


def test_too_few_decisions_is_a_clear_error(db, tmp_path):
    out = CliRunner().invoke(main, ["--database", db.url, "--rules", str(RULES), "model", "train",
                                    "--from-decisions"], env={"MODERATION_INSTANCE_PATH": str(tmp_path)})
    assert out.exit_code == 1 and "only 0 decided comments" in out.output


def test_a_missing_model_file_is_reported_and_triage_falls_back(ruleset, tmp_path):
    config = Config(model_path=str(tmp_path / "none.skops"))
    scorers, problems = build_scorers(["sklearn", "lexicon"], config, ruleset)
    assert [s.name for s in scorers] == ["lexicon"] and "make model" in problems[0]


@pytest.mark.skipif(not PACKAGE_MODEL.is_file(), reason="shipped model not built (make model)")
def test_shipped_model_is_small_loads_fast_and_separates(ruleset):
    import time

    from moderation.scoring.sklearn import SklearnScorer

    assert PACKAGE_MODEL.stat().st_size <= 25 * 2 ** 20
    start = time.perf_counter()
    scorer = SklearnScorer.from_file(PACKAGE_MODEL)
    assert time.perf_counter() - start < 5  # the 1 s target is measured in bench/; CI machines vary
    assert {"toxicity", "insult"} <= set(scorer.labels)
    assert scorer.card["sources"] and all("NC" not in s["licence"] for s in scorer.card["sources"])
    bad, good = scorer.score(["Du bist ein dummer Vollidiot, halt endlich die Fresse.",
                              "Vielen Dank für den ausgewogenen Artikel."])
    # At the decision threshold the product applies (the card's, chosen on held-out training data).
    assert bad["toxicity"] >= scorer.card["threshold"] > good["toxicity"]


def test_fast_feature_path_equals_scikit_learns_hashing_vectorizer():
    from moderation.scoring.sklearn import preprocess

    model = ToxicityClassifier(**SMALL)
    texts = ["Du Idiot!! @jemand http://x.de/a", "Schöner Tag, 123 Grüße", "you are a FOOL", "a b ab abc abcd 🤡",
             "Ein  Text\tmit\nUmbruch und Donaudampfschifffahrtsgesellschaftskapitän", ""]
    ours = model.transform(texts)
    reference = sp.hstack([v.transform([preprocess(t) for t in texts]) for v in model._vectorizers()]).tocsr()
    assert ours.shape == reference.shape and abs(ours - reference).max() == 0


def test_evaluate_without_model_uses_the_configured_one(tmp_path):
    texts, y = synthetic(200)
    model = ToxicityClassifier(**SMALL).fit(texts, np.array(y))
    save_model(model, tmp_path / "m.npz", {"name": "site", "version": "site-9", "threshold": 0.42})
    data = write_csv(tmp_path / "d.csv", *synthetic(40, seed=5))
    out = CliRunner().invoke(main, ["--rules", str(RULES), "model", "evaluate", "--data", str(data), "--json"],
                             env={"MODERATION_MODEL_PATH": str(tmp_path / "m.npz")}, catch_exceptions=False)
    assert out.exit_code == 0, out.output
    result = json.loads(out.output)
    assert result["model"] == "site-9" and result["threshold"] == 0.42 and result["n"] == 40


def test_best_f1_threshold_equals_a_brute_force_scan_of_every_cut():
    rng = np.random.default_rng(2)
    for trial in range(60):
        n = int(rng.integers(4, 80))
        truth = (rng.random(n) < rng.uniform(0.1, 0.9)).astype(int)
        truth[:2] = [0, 1]
        probs = np.clip(truth * rng.uniform(0, 0.4) + rng.random(n) * 0.7, 0, 1)
        if trial % 3 == 0:
            probs = np.round(probs, 2)  # ties
        cuts = np.unique(np.round(probs, 4))
        reference = max(cuts, key=lambda t: (learning.binary_metrics(truth, np.round(probs, 4), t)["f1_official"],
                                             -abs(t - 0.5)))
        assert learning.best_f1_threshold(truth, probs) == pytest.approx(float(reference), abs=1e-9), trial


@pytest.mark.parametrize("nb_alpha", [None, 0.5])
def test_a_prior_lends_its_score_as_one_feature_folded_into_one_linear_layer(nb_alpha):
    """The site model with the shipped model as prior: w·x + s·(prior's decision) saved as one coefficient row."""
    texts, y = synthetic(400, seed=5)
    prior = ToxicityClassifier(**SMALL).fit(texts, np.array(y))
    few, few_y = synthetic(60, seed=6)
    model = ToxicityClassifier(**SMALL, nb_alpha=nb_alpha)
    X = model.transform(few)
    model.fit_features(X, np.array(few_y), prior=prior)
    with_score = sp.hstack([X, prior._decision(X)], format="csr")
    two_part = model._base(scores=1).fit(with_score, np.array(few_y))  # the same fit, the prior's column kept apart
    assert np.allclose(model._decision(X)[:, 0], two_part.decision_function(with_score), atol=1e-4)
    assert model.prior_weights_["toxicity"] == pytest.approx(two_part[-1].coef_[0, -1], abs=1e-4)
    if nb_alpha is not None:  # the score column is passed through, not weighted as a count
        assert two_part[0].ratio_[-1] == 1.0
    held, _ = synthetic(50, seed=7)
    saved = ToxicityClassifier.from_state(model.to_state())  # scoring needs no prior: it is folded in
    assert np.allclose(saved.predict_proba(held), model.predict_proba(held), atol=1e-6)


def test_a_prior_over_other_features_is_refused():
    texts, y = synthetic(120, seed=8)
    prior = ToxicityClassifier(**SMALL).fit(texts, np.array(y))
    for other in (dict(word_bits=11, char_bits=13), dict(SMALL, char_ngrams=(2, 4)), dict(SMALL, lexicon={"x": ["y"]})):
        model = ToxicityClassifier(**other)
        with pytest.raises(ValueError, match="prior model's features differ"):
            model.fit_features(model.transform(texts), np.array(y), prior=prior)
