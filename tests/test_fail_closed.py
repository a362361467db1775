"""Fail closed: a scorer that cannot load or run (missing file, corrupt file, hostile file, exception, hang,
nonsense scores) holds every comment it could not judge, with the failure shown, on every path that assesses:
the pipeline, `explain`, `triage` (one process and forked workers), the live API and its card, the workers."""
from __future__ import annotations

import json
import math
import os
import pickle
import time

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from moderation.services import jobs
from moderation.worker import tasks
from moderation.cli import main
from moderation.config import Config
from moderation.assess.pipeline import Item, Pipeline
from moderation.scoring import LABELS, REGISTRY
from moderation.scoring import detoxify as detox_scorer
from moderation.scoring import sklearn as sklearn_scorer
from moderation.store.models import Comment, TriageResult
from tests.conftest import RULES
from tests.live import api_key, bearer, make_app

HARMLESS = ["Danke für den informativen Artikel, gut recherchiert.",
            "Ich sehe das anders, aber die Zahlen im zweiten Absatz überzeugen mich.",
            "Thanks for the thoughtful piece, the figures on page two helped."]


class Boom:
    name, version, labels = "fault-boom", "boom-1", LABELS

    def __init__(self, *_: object) -> None:
        pass

    def score(self, texts, languages=None):  # noqa: ANN001, ANN201
        raise RuntimeError("model server unreachable")


class Hang(Boom):
    name, version = "fault-hang", "hang-1"

    def score(self, texts, languages=None):  # noqa: ANN001, ANN201
        time.sleep(3)
        return [dict.fromkeys(LABELS, 0.01) for _ in texts]


class Nonsense(Boom):
    name, version = "fault-nan", "nan-1"

    def score(self, texts, languages=None):  # noqa: ANN001, ANN201
        return [{"toxicity": math.nan, "insult": 7.0} for _ in texts]


for _scorer in (Boom, Hang, Nonsense):
    REGISTRY[_scorer.name] = _scorer


class Hostile:
    """Runs a shell command when unpickled: a checkpoint must never get that far."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return os.system, (f"touch {self.marker}",)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from bench.detoxify_model import build  # noqa: PLC0415

    return build(tmp_path_factory.mktemp("detoxify"))


FAULTS = ["model-missing", "model-random-bytes", "model-truncated", "detoxify-corrupt", "detoxify-hostile",
          "scorer-raises", "scorer-hangs", "scorer-nonsense"]


@pytest.fixture(params=FAULTS)
def fault(request, tmp_path, tiny, monkeypatch):
    """(settings as MODERATION_* values, text the failure message contains, file a hostile load would create)."""
    monkeypatch.setattr(sklearn_scorer, "_LOADED", {})
    monkeypatch.setattr(detox_scorer, "_LOADED", {})
    name, marker = request.param, tmp_path / "pwned"
    bad = tmp_path / "bad.bin"
    settings = {"scorers": "lexicon,sklearn"}
    if name == "model-missing":
        settings["model_path"], says = str(tmp_path / "none.skops"), "no model file"
    elif name == "model-random-bytes":
        bad.write_bytes(os.urandom(4096))
        settings["model_path"], says = str(bad), "cannot load"
    elif name == "model-truncated":
        whole = sklearn_scorer.PACKAGE_MODEL.read_bytes()
        bad.write_bytes(whole[: len(whole) // 2])
        settings["model_path"], says = str(bad), "cannot load"
    elif name.startswith("detoxify"):
        if name == "detoxify-corrupt":
            bad.write_bytes(os.urandom(4096))
        else:
            with open(bad, "wb") as fh:
                pickle.dump({"config": Hostile(str(marker)), "state_dict": {}}, fh)
        settings = {"scorers": "lexicon,detoxify", "detoxify_checkpoint": str(bad), "detoxify_config": str(tiny[1])}
        says = "cannot load Detoxify"
    else:
        scorer = {"scorer-raises": Boom, "scorer-hangs": Hang, "scorer-nonsense": Nonsense}[name]
        settings = {"scorers": f"lexicon,{scorer.name}", "scorer_timeout": "0.2"}
        says = {"scorer-raises": "model server unreachable", "scorer-hangs": "no answer within",
                "scorer-nonsense": "not a probability"}[name]
    yield settings, says, marker
    assert not marker.exists(), "loading the checkpoint ran code from it"


def configured(settings: dict[str, str], **extra: object) -> Config:
    """The settings as the raw strings a MODERATION_* variable holds, parsed the same way."""
    return Config(**settings, rules_path=RULES, **extra)


def environment(settings: dict[str, str]) -> dict[str, str]:
    return {f"MODERATION_{k.upper()}": v for k, v in settings.items()}


def test_a_healthy_pipeline_approves_these_texts(ruleset):
    """The control: without a fault every harmless text is approved, so a hold below is the fault's doing."""
    assessments = Pipeline.from_config(Config(rules_path=RULES), ruleset).assess([Item(t) for t in HARMLESS])
    assert [a.decision.value for a in assessments] == ["approve"] * len(HARMLESS)
    assert not any(a.failures for a in assessments)


def test_pipeline_holds(fault, ruleset):
    settings, says, _ = fault
    assessments = Pipeline.from_config(configured(settings), ruleset).assess([Item(t) for t in HARMLESS])
    assert [a.decision.value for a in assessments] == ["hold"] * len(HARMLESS)
    for a in assessments:
        assert any(says in f for f in a.failures), a.failures
        assert "evidence incomplete" in a.explanation and says in a.explanation


def test_explain_holds_and_says_why(fault):
    settings, says, _ = fault
    out = CliRunner().invoke(main, ["--rules", str(RULES), "explain", HARMLESS[0]], env=environment(settings))
    assert out.exception is None, out.output
    assert out.exit_code == 0 and out.output.startswith("HOLD") and says in out.output, out.output


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)  # the backend is not the subject here
@pytest.mark.parametrize("workers", ["1", "2"])
def test_triage_holds_in_one_process_and_in_workers(fault, db, tmp_path, workers):
    settings, says, _ = fault
    source = tmp_path / "comments.jsonl"
    source.write_text("".join(json.dumps({"id": f"c{i}", "article_id": "a1", "text": t}) + "\n"
                              for i, t in enumerate(HARMLESS)), encoding="utf-8")
    base = ["--database", db.url, "--rules", str(RULES)]
    runner = CliRunner()
    assert runner.invoke(main, [*base, "import", str(source)]).exit_code == 0
    out = runner.invoke(main, [*base, "triage", "--workers", workers, "--json"], env=environment(settings))
    assert out.exception is None and out.exit_code == 0, out.output
    summary = json.loads(out.stdout)
    assert (summary["approve"], summary["hold"]) == (0, len(HARMLESS))
    with db.session() as s:
        assert set(s.scalars(select(Comment.status))) == {"held"}
        for failures in s.scalars(select(TriageResult.failures)):
            assert any(says in str(f) for f in failures), failures


def test_the_api_holds_and_the_card_shows_the_failure(fault, db, tmp_path):
    settings, says, _ = fault
    from moderation.store.accounts import add_user  # noqa: PLC0415
    from tests.test_web_auth import login  # noqa: PLC0415

    with db.session() as s:
        add_user(s, "mo", "moderator-pass", "moderator")
    app = make_app(db, tmp_path, **{k: v for k, v in vars(configured(settings)).items()
                                   if k in {*settings, "scorers"}})
    client = app.test_client()
    answer = client.post("/api/v1/comments", json={"id": "live-1", "article_id": "a1", "text": HARMLESS[0]},
                         headers=bearer(api_key(db)))
    assert answer.status_code == 201, answer.get_data(as_text=True)
    verdict = answer.get_json()
    assert verdict["decision"] == "hold" and says in verdict["explanation"], verdict
    with db.session() as s:
        comment = s.scalars(select(Comment).where(Comment.external_id == "live-1")).one()
        assert comment.status == "held"
    assert login(client, "mo", "moderator-pass").status_code == 302
    card = client.get(f"/queue/comments/{comment.id}").get_data(as_text=True)
    assert says in card


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_worker_triage_holds(fault, db, tmp_path):
    settings, says, _ = fault
    from tests.test_store import batch, load  # noqa: PLC0415

    load(db, batch([(f"w{i}", None, t) for i, t in enumerate(HARMLESS)]))
    tasks.configure(configured(settings, database_url=db.url, instance_path=tmp_path), db=lambda: db)
    try:
        with db.session() as s:
            ids = list(s.scalars(select(Comment.id).order_by(Comment.id)))
        result = jobs.triage_batch(db, tasks.runtime.pipeline, ids, "fault-run")
    finally:
        tasks.configure(Config(database_url=db.url, instance_path=tmp_path, rules_path=RULES))
    assert result.get("approve", 0) == 0 and result["hold"] == len(HARMLESS)
    with db.session() as s:
        assert set(s.scalars(select(Comment.status))) == {"held"}


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_whatif_predicts_hold_for_a_draft_judged_by_a_failing_scorer(fault, db, tmp_path, ruleset):
    """Stored scores of the healthy run must not stand in for a scorer that fails now: what-if predicts hold."""
    from moderation.services.jobs import triage_stored  # noqa: PLC0415
    from moderation.services.whatif import judged  # noqa: PLC0415
    from tests.test_store import batch, load  # noqa: PLC0415

    settings, _, _ = fault
    load(db, batch([(f"w{i}", None, t) for i, t in enumerate(HARMLESS)]))
    healthy = Pipeline.from_config(Config(database_url=db.url, instance_path=tmp_path, rules_path=RULES), ruleset)
    triage_stored(db, healthy)
    failing = Pipeline.from_config(configured(settings, database_url=db.url, instance_path=tmp_path), ruleset)
    verdicts = [v for _, v in judged(db, failing, healthy)]
    assert [v[0] for v in verdicts] == ["approve"] * len(HARMLESS)
    assert [v[2] for v in verdicts] == ["hold"] * len(HARMLESS)
