"""The live pipeline (moderation/services/live.py): one class for web and workers; processes sharing a database
see a new rule revision and a model activation within the check interval, and look no more often than that."""
from __future__ import annotations

import time

from moderation.config import Config
from moderation.rules import read_files
from moderation.services.live import LivePipeline
from moderation.store import Database, revisions
from moderation.store import models_registry as registry
from moderation.worker import tasks
from tests.conftest import RULES
from tests.live import make_app
from tests.test_model_registry import register, tiny_bytes  # noqa: F401 - the fixture

INTERVAL = 5.0


def _new_revision(db: Database) -> None:
    """Save and activate rules whose reject bar is 0.95 (the shipped ones say 0.97)."""
    files = read_files(RULES)
    files["site.yaml"] = files["site.yaml"].replace("reject_at: 0.97", "reject_at: 0.95")
    with db.session() as s:
        revisions.activate(s, revisions.save(s, files, "admin1", "lower the reject bar", parent_id=1).id, "admin1")


def _activate_model(db: Database, version: str) -> None:
    with db.session() as s:
        registry.activate(s, registry.get(s, version), "admin1")


def test_two_instances_over_one_database_see_a_revision_and_a_model_within_the_interval(db, tmp_path, tiny_bytes):
    config = Config(database_url=db.url, instance_path=tmp_path, rules_path=RULES)
    register(db, tiny_bytes, "site-1")
    now = [0.0]
    clock = lambda: now[0]  # noqa: E731
    others = [Database(db.url), Database(db.url)]  # each "process" opens its own pool
    try:
        web, worker = (LivePipeline(lambda d=d: d, config, interval=INTERVAL, clock=clock, **extra)
                       for d, extra in zip(others, ({}, {"scorers": ("lexicon", "sklearn")})))
        before = [web.get(), worker.get()]
        assert [p.ruleset.policy.reject_at for p in before] == [0.97, 0.97]
        assert not any(p.scorer_versions["sklearn"].startswith("site-1") for p in before)

        _new_revision(db)
        now[0] = INTERVAL - 0.1  # within the interval: no look in the database, the same pipeline
        assert [web.get(), worker.get()] == before
        now[0] = INTERVAL + 0.1
        after = [web.get(), worker.get()]
        assert [p.ruleset.policy.reject_at for p in after] == [0.95, 0.95]

        _activate_model(db, "site-1")
        now[0] += INTERVAL + 0.1
        models = [p.scorer_versions["sklearn"] for p in (web.get(), worker.get())]
        assert all(v.startswith("site-1") for v in models), models
        now[0] += INTERVAL + 0.1
        assert web.get() is web.get()  # nothing changed: not rebuilt
    finally:
        for d in others:
            d.dispose()


def test_a_change_arrives_in_wall_time_within_the_interval(db, tmp_path):
    config = Config(database_url=db.url, instance_path=tmp_path, rules_path=RULES)
    other = Database(db.url)
    try:
        a, b = LivePipeline(lambda: db, config, interval=0.3), LivePipeline(lambda: other, config, interval=0.3)
        assert a.get().ruleset.policy.reject_at == b.get().ruleset.policy.reject_at == 0.97
        _new_revision(db)
        start = time.monotonic()
        while {a.get().ruleset.policy.reject_at, b.get().ruleset.policy.reject_at} != {0.95}:
            assert time.monotonic() - start < 0.3 + 2.0, "a revision activated elsewhere did not arrive"
            time.sleep(0.05)
    finally:
        other.dispose()


def test_this_process_sees_its_own_activation_at_once(db, tmp_path, tiny_bytes):
    live = LivePipeline(lambda: db, Config(database_url=db.url, instance_path=tmp_path, rules_path=RULES),
                        interval=3600)
    register(db, tiny_bytes, "site-1")
    first = live.get()
    _new_revision(db)
    assert live.get() is first
    live.check_next()
    assert live.get().ruleset.policy.reject_at == 0.95
    _activate_model(db, "site-1")
    live.rebuild_next()
    assert live.get().scorer_versions["sklearn"].startswith("site-1")


def test_web_desk_and_worker_runtime_share_the_class_and_see_the_same_revision(db, tmp_path):
    desk = make_app(db, tmp_path).extensions["desk"]
    tasks.configure(Config(database_url=db.url, instance_path=tmp_path, rules_path=RULES,
                           deep_scorers=("lexicon",)), db=lambda: db)
    assert isinstance(desk.live, LivePipeline) and isinstance(tasks.runtime.live, LivePipeline)
    assert desk.pipeline.ruleset.policy.reject_at == tasks.runtime.pipeline.ruleset.policy.reject_at == 0.97
    _new_revision(db)
    desk.live.interval = tasks.runtime.live.interval = 0.0
    assert desk.pipeline.ruleset.policy.reject_at == tasks.runtime.pipeline.ruleset.policy.reject_at == 0.95
