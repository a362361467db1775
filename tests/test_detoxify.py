"""The Detoxify scorer, through the real Detoxify(...) loading path with a tiny random model built offline."""
from __future__ import annotations


import pytest

from tests.conftest import requires

requires("detoxify")
requires("transformers")

from bench.detoxify_model import build  # noqa: E402
from moderation.config import Config  # noqa: E402
from moderation.assess.pipeline import Item, Pipeline  # noqa: E402
from moderation.scoring import LABELS, ScorerUnavailable, build_scorers  # noqa: E402
from moderation.scoring import detoxify as detox_scorer  # noqa: E402


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("detoxify")
    checkpoint, config_dir = build(folder)
    return checkpoint, config_dir


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


def config(tiny, **extra) -> Config:
    checkpoint, config_dir = tiny
    return Config(detoxify_checkpoint=str(checkpoint), detoxify_config=str(config_dir), **extra)


def test_tiny_checkpoint_is_small_and_scores_like_detoxify_itself(tiny, ruleset):
    from detoxify import Detoxify

    checkpoint, config_dir = tiny
    assert checkpoint.stat().st_size < 1_000_000
    scorers, problems = build_scorers(["detoxify"], config(tiny), ruleset)
    assert not problems, problems
    scorer = scorers[0]
    assert scorer.version.startswith("detoxify-random-bert-32x2-")
    texts = ["Du bist ein Idiot", "danke für den artikel", "you are a fool", "sehr gut"]
    ours = scorer.score(texts)
    direct = Detoxify(checkpoint=str(checkpoint), huggingface_config_path=str(config_dir)).predict(texts)
    assert [set(s) for s in ours] == [set(LABELS)] * 4
    for i, row in enumerate(ours):
        for label, value in row.items():
            assert value == pytest.approx(direct[label][i], abs=1e-3)  # batched by length, same numbers
    assert scorer.score(texts[:1])[0] == ours[0]  # a batch of one (Detoxify squeezes it) works too


def test_loaded_once_per_process_and_threads_set(tiny, ruleset):
    import torch

    first, _ = build_scorers(["detoxify"], config(tiny, threads=1), ruleset)
    again, _ = build_scorers(["detoxify"], config(tiny, threads=1), ruleset)
    assert first[0] is again[0] and torch.get_num_threads() == 1


def test_long_texts_are_truncated_not_fatal(tiny, ruleset):
    scorer = build_scorers(["detoxify"], config(tiny), ruleset)[0][0]
    assert scorer.model.tokenizer.model_max_length <= 128  # the tiny model's position limit
    scores = scorer.score(["idiot " * 5000, "kurz"])
    assert len(scores) == 2 and all(0.0 <= v <= 1.0 for v in scores[0].values())


def test_missing_weights_say_how_to_provide_them_and_triage_falls_back(tmp_path, ruleset, monkeypatch):
    monkeypatch.setattr(detox_scorer, "_LOADED", {})
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # an empty cache: no named model is there
    with pytest.raises(ScorerUnavailable, match="MODERATION_DETOXIFY_CHECKPOINT"):
        detox_scorer.load("multilingual", "", "", "cpu", 1)
    cfg = Config(scorers=("lexicon", "detoxify"), detoxify_checkpoint=str(tmp_path / "missing.ckpt"))
    pipeline = Pipeline.from_config(cfg, ruleset)
    assert [s.name for s in pipeline.scorers] == ["lexicon"]
    a = pipeline.assess_one(Item("Du bist ein Idiot.", language="de"))
    assert any("detoxify unavailable" in f and "missing.ckpt" in f for f in a.failures)
    assert a.decision.value != "approve"


def test_scorers_are_chosen_by_environment_and_named_in_explain(tiny, monkeypatch):
    import json

    from click.testing import CliRunner

    from moderation.cli import main
    from tests.conftest import RULES

    checkpoint, config_dir = tiny
    env = {"MODERATION_SCORERS": "lexicon,detoxify", "MODERATION_DETOXIFY_CHECKPOINT": str(checkpoint),
           "MODERATION_DETOXIFY_CONFIG": str(config_dir), "MODERATION_DATABASE_URL": "sqlite://"}
    out = CliRunner().invoke(main, ["--rules", str(RULES), "explain", "Danke für den Artikel", "--json"], env=env,
                             catch_exceptions=False)
    assert out.exit_code == 0, out.output
    scorers = {s["name"]: s for s in json.loads(out.output)["scorers"]}
    assert set(scorers) == {"lexicon", "detoxify"}
    assert scorers["detoxify"]["version"].startswith("detoxify-random-bert") and scorers["detoxify"]["scores"]


def test_unknown_named_model_is_reported(ruleset):
    with pytest.raises(ScorerUnavailable, match="unknown Detoxify model"):
        detox_scorer.load("german-large", "", "", "cpu", 1)
