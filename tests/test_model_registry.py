"""The model registry in the database: bytes, one active row (the database says so), logged activation and
rollback, the file era adopted, tampered bytes held, and an activation reaching another server within seconds."""
from __future__ import annotations

import hashlib
import json
import re
import sys
import time

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from moderation.assess.pipeline import Item, Pipeline
from moderation.cli import main
from moderation.config import Config
from moderation.learning.registry import stored_models
from moderation.scoring import sklearn as sklearn_scorer
from moderation.scoring.estimator import ToxicityClassifier
from moderation.scoring.sklearn import PACKAGE_MODEL, model_bytes
from moderation.store import Database
from moderation.store import models_registry as registry
from moderation.store.accounts import add_user
from moderation.store.models import Comment, TriageResult
from tests.conftest import RULES, fresh_postgres
from tests.live import api_key, bearer, make_app
from tests.test_models import SMALL, synthetic
from tests.test_race_http import free_port, running

HARMLESS = "Danke für den informativen Artikel, gut recherchiert."


@pytest.fixture(scope="module")
def tiny_bytes() -> dict[str, bytes]:
    """Two small trained models as skops bytes, "site-1" and "site-2"."""
    texts, y = synthetic(120)
    model = ToxicityClassifier(**SMALL).fit(texts, y)
    return {v: model_bytes(model, {"name": "site", "version": v, "threshold": 0.5}) for v in ("site-1", "site-2")}


def register(db: Database, tiny_bytes: dict[str, bytes], version: str = "site-1") -> None:
    with db.session() as s:
        row = registry.add(s, "site", version, tiny_bytes[version], {"version": version}, "trainer")
        row.metrics = {"candidate": {"f1_official": 0.9, "n": 30}, "active": None, "candidate_not_worse": True}


def test_the_database_allows_one_active_model_only(db, tiny_bytes):
    register(db, tiny_bytes, "site-1")
    register(db, tiny_bytes, "site-2")
    with pytest.raises(IntegrityError):
        with db.session() as s:
            s.execute(update(registry.ModelVersion).values(active=True))
    with db.session() as s:
        assert registry.active(s) is None


def test_activation_and_rollback_are_logged_and_stored_bytes_score(db, tiny_bytes, tmp_path):
    register(db, tiny_bytes, "site-1")
    register(db, tiny_bytes, "site-2")
    base = ["--database", db.url, "--rules", str(RULES), "model"]
    env = {"MODERATION_INSTANCE_PATH": str(tmp_path)}

    def run(*args: str) -> str:
        out = CliRunner().invoke(main, [*base, *args], env=env, catch_exceptions=False)
        assert out.exit_code == 0, out.output
        return out.output

    run("activate", "site-1", "--actor", "ann")
    run("activate", "site-2", "--actor", "bob")
    assert "rolled back to site-1" in run("rollback", "--actor", "cy")
    with db.session() as s:
        assert registry.active(s).version == "site-1"
        log = [(a["action"], a["actor"]) for a in reversed(registry.history(s))]
        stored = stored_models(s, Config(instance_path=tmp_path))["sklearn"]
    assert log == [("activate", "ann"), ("activate", "bob"), ("rollback", "cy")]
    assert stored.sha256 == hashlib.sha256(tiny_bytes["site-1"]).hexdigest()
    pipeline = Pipeline.from_config(Config(rules_path=RULES, instance_path=tmp_path), None, {"sklearn": stored})
    assert pipeline.scorer_versions["sklearn"].startswith("site-1") and not pipeline.load_problems
    listed = run("list")
    assert "* site-1" in listed and "rollback site-1 (was site-2) by cy" in listed
    run("rollback")
    run("rollback")  # back from site-1 to site-2, then back again: rollback toggles like `kubectl rollout undo`
    with db.session() as s:
        assert registry.active(s).version == "site-1"
    assert not list(tmp_path.glob("**/*.skops")), "the registry keeps no model files on this machine's disk"


def test_rolling_back_the_first_activation_returns_to_the_shipped_model(db, tiny_bytes, tmp_path):
    register(db, tiny_bytes)
    with db.session() as s:
        registry.activate(s, registry.get(s, "site-1"), "ann")
    with db.session() as s:
        assert registry.rollback(s, "bob") is None and registry.active(s) is None
        assert stored_models(s, Config(instance_path=tmp_path)) == {}


def test_a_file_era_instance_is_adopted_on_first_open(db, tiny_bytes, tmp_path):
    """instance/models/active.json and its file become the registry's active model, once; then the pointer is
    ignored, so a rollback is not undone by the old file."""
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "site-1.skops").write_bytes(tiny_bytes["site-1"])
    sha = hashlib.sha256(tiny_bytes["site-1"]).hexdigest()
    (folder / "active.json").write_text(json.dumps({"version": "site-1", "path": str(folder / "site-1.skops"),
                                                    "sha256": sha}))
    config = Config(instance_path=tmp_path)
    with db.session() as s:
        stored = stored_models(s, config)["sklearn"]
    assert (stored.version, stored.sha256, stored.data) == ("site-1", sha, tiny_bytes["site-1"])
    with db.session() as s:
        assert [a["action"] for a in registry.history(s)] == ["import"]
        registry.rollback(s, "ann")
    (folder / "site-1.skops").unlink()  # the file era is over: the bytes live in the database
    with db.session() as s:
        assert stored_models(s, config) == {}
        assert registry.get(s, "site-1").data == tiny_bytes["site-1"]


def test_a_registered_file_era_version_gets_its_bytes(db, tiny_bytes, tmp_path):
    """A row the old code registered (path and sha256, no bytes, active flag set) is filled from its file."""
    path = tmp_path / "site-1.skops"
    path.write_bytes(tiny_bytes["site-1"])
    with db.session() as s:
        s.add(registry.ModelVersion(name="site", version="site-1", path=str(path), active=True,
                                    sha256=hashlib.sha256(tiny_bytes["site-1"]).hexdigest()))
    with db.session() as s:
        assert stored_models(s, Config(instance_path=tmp_path))["sklearn"].data == tiny_bytes["site-1"]


@pytest.mark.parametrize("tamper", ["sha-mismatch", "corrupt", "missing"])
def test_tampered_registry_bytes_hold_every_comment(db, tiny_bytes, tmp_path, tamper, monkeypatch):
    """Fail closed: bytes that do not hash to the recorded sha256 (or do not load, or are gone) never score."""
    monkeypatch.setattr(sklearn_scorer, "_LOADED", {})
    register(db, tiny_bytes)
    with db.session() as s:
        row = registry.get(s, "site-1")
        registry.activate(s, row, "ann")
        if tamper == "sha-mismatch":
            row.data = tiny_bytes["site-1"][:-1] + bytes([tiny_bytes["site-1"][-1] ^ 1])
        elif tamper == "corrupt":
            row.data = b"not a zip file"
            row.sha256 = hashlib.sha256(row.data).hexdigest()
        else:
            row.data = None
    config = Config(rules_path=RULES, instance_path=tmp_path)
    with db.session() as s:
        pipeline = Pipeline.from_config(config, None, stored_models(s, config))
    assessment = pipeline.assess_one(Item(HARMLESS))
    assert "sklearn" not in pipeline.scorer_versions and assessment.decision.value == "hold"
    assert any("from the registry" in f for f in assessment.failures), assessment.failures


def test_the_api_holds_when_the_active_models_bytes_were_altered(db, tiny_bytes, tmp_path, monkeypatch):
    """The live path too: a registry row whose bytes no longer match its sha256 holds the comment, never approves."""
    monkeypatch.setattr(sklearn_scorer, "_LOADED", {})
    register(db, tiny_bytes)
    with db.session() as s:
        row = registry.get(s, "site-1")
        registry.activate(s, row, "ann")
        data = bytearray(tiny_bytes["site-1"])
        data[len(data) // 2] ^= 0xFF  # one byte altered in the database
        row.data = bytes(data)
    client = make_app(db, tmp_path, scorers=("lexicon", "sklearn")).test_client()
    answer = client.post("/api/v1/comments", json={"id": "live-1", "article_id": "a1", "text": HARMLESS},
                         headers=bearer(api_key(db)))
    verdict = answer.get_json()
    assert answer.status_code == 201 and verdict["decision"] == "hold", verdict
    assert "model site-1 from the registry" in verdict["explanation"]


def test_the_model_path_setting_overrides_the_registry(db, tiny_bytes, tmp_path):
    register(db, tiny_bytes)
    with db.session() as s:
        registry.activate(s, registry.get(s, "site-1"), "ann")
        stored = stored_models(s, Config(instance_path=tmp_path))
    pipeline = Pipeline.from_config(Config(rules_path=RULES, model_path=str(PACKAGE_MODEL)), None, stored)
    assert not pipeline.scorer_versions["sklearn"].startswith("site-1")


# -- two servers, one database ------------------------------------------------------------------------------------


def _verdict_version(db: Database, url: str, key: str, external_id: str) -> str:
    answer = requests.post(f"{url}/api/v1/comments", json={"id": external_id, "article_id": "a1", "text": HARMLESS},
                           headers=bearer(key), timeout=30)
    assert answer.status_code == 201, answer.text
    with db.session() as s:
        comment = s.scalars(select(Comment).where(Comment.external_id == external_id)).one()
        return s.get(TriageResult, comment.triage_id).scorer_versions["sklearn"]


def _two_servers(url: str, tmp_path, tiny_bytes) -> None:  # noqa: ANN001
    db = Database(url)
    try:
        with db.session() as s:
            add_user(s, "ad", "admin-pass-1", "admin")
        register(db, tiny_bytes)
        key = api_key(db)
        env = {"MODERATION_DATABASE_URL": url, "MODERATION_SCORERS": "lexicon,sklearn",
               "MODERATION_INSTANCE_PATH": str(tmp_path)}
        ports = [str(free_port()), str(free_port())]
        command = [sys.executable, "-m", "moderation", "serve", "--port"]
        with running([*command, ports[0]], ports[0], env, tmp_path / "a.log") as a, \
                running([*command, ports[1]], ports[1], env, tmp_path / "b.log") as b:
            assert not _verdict_version(db, b, key, "before").startswith("site-1")
            admin = requests.Session()
            admin.trust_env = False
            page = admin.get(f"{a}/login", timeout=10).text
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
            admin.post(f"{a}/login", data={"username": "ad", "password": "admin-pass-1", "csrf_token": token})
            page = admin.get(f"{a}/admin/", timeout=30).text
            token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
            activated = admin.post(f"{a}/admin/model/site-1/activate", data={"csrf_token": token}, timeout=30)
            assert "site-1 is now the active model" in activated.text
            start, n = time.monotonic(), 0
            while not _verdict_version(db, b, key, f"after-{n}").startswith("site-1"):
                n += 1
                assert time.monotonic() - start < 10, "the other server still scores with the old model"
                time.sleep(0.5)
            print(f"activation reached the other server after {time.monotonic() - start:.1f} s")
            assert _verdict_version(db, a, key, "on-a").startswith("site-1")
    finally:
        db.dispose()


@pytest.mark.slow
def test_an_activation_reaches_another_server_within_seconds_sqlite(tmp_path, tiny_bytes):
    _two_servers(f"sqlite:///{tmp_path / 'shared.db'}", tmp_path, tiny_bytes)


@pytest.mark.slow
@pytest.mark.postgres
def test_an_activation_reaches_another_server_within_seconds_postgresql(tmp_path, tiny_bytes):
    with fresh_postgres() as url:
        _two_servers(url, tmp_path, tiny_bytes)
