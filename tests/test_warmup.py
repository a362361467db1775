"""Warm workers: a served process assesses built-in comments before its first request, so the first comment a
fresh worker judges costs about what its tenth does (CPU time of the serving thread, from Server-Timing)."""
from __future__ import annotations

import re
import statistics
import sys
import time

import pytest
import requests

from moderation.assess import warmup
from moderation.assess.pipeline import Item, Pipeline
from moderation.config import Config
from moderation.store import Database
from moderation.store.apikeys import create
from tests.conftest import RULES
from tests.test_race_http import free_port, running
from tests.test_store import batch, load

# Unseen by the warm-up texts and each other: each request brings words no cache holds yet.
FRESH = [
    "Die Stadtwerke haben die Preise schon wieder erhöht, und keiner im Rathaus erklärt warum.",
    "Mein Nachbar fährt seit Jahren mit dem Fahrrad zur Arbeit und wird trotzdem ständig angehupt.",
    "Interessant, dass über die Brücke erst jetzt berichtet wird; die Risse sieht man seit Monaten.",
    "Wer hat eigentlich entschieden, dass die Buslinie 14 nach zwanzig Uhr nicht mehr fährt?",
    "Honestly the council should publish the budget before voting on it, not three weeks after.",
    "Schöner Bericht über den Wochenmarkt, die Käsehändlerin dort ist wirklich eine Institution.",
    "Die Kommentare hier zeigen vor allem, wie wenige den Artikel bis zum Ende gelesen haben.",
    "My grandmother worked at that factory for thirty years; nobody asked the workers back then.",
    "Ich bezweifle, dass die neue Schulreform vor der nächsten Landtagswahl überhaupt umgesetzt wird.",
    "Gibt es irgendwo die Originalstudie? Die Zusammenfassung im Text wirkt etwas verkürzt.",
    "Unser Verein sucht seit zwei Jahren eine Halle, die Gemeinde verweist nur auf Wartelisten.",
    "The photos from the flood are shocking, I hope the insurance companies actually pay this time.",
]


def _cpu_ms(response: requests.Response) -> float:
    match = re.fullmatch(r"cpu;dur=([0-9.]+), app;dur=([0-9.]+)", response.headers["Server-Timing"])
    assert match, response.headers.get("Server-Timing")
    assert float(match.group(2)) >= float(match.group(1)) * 0.9  # a thread's CPU cannot much exceed its wall time
    return float(match.group(1))


def test_warm_records_that_it_ran_and_assesses_every_builtin_text():
    pipeline = Pipeline.from_config(Config(rules_path=RULES, scorers=("lexicon",)))
    done = warmup.warm(pipeline, rounds=1)
    assert warmup.WARMED == done and done.comments == 2 * len(warmup.TEXTS) and done.cpu_seconds > 0
    assert {pipeline.assess_one(Item(t)).language.language for t in warmup.TEXTS[:3] + warmup.TEXTS[6:8]} == \
        {"de", "en"}  # the texts reach both languages the detector knows


@pytest.mark.slow
@pytest.mark.parametrize("scorers", ["lexicon,sklearn"])
def test_a_fresh_served_workers_first_comment_costs_about_what_its_tenth_does(tmp_path, scorers):
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    db = Database(url)
    try:
        load(db, batch([("seed", None, "Erster Kommentar zum Artikel")], source="default", article="a1"))  # the article exists
        with db.session() as s:
            key = create(s, "default", rate_limit=10_000)[1]
    finally:
        db.dispose()
    port = free_port()
    env = {"MODERATION_DATABASE_URL": url, "MODERATION_BIND": f"127.0.0.1:{port}", "MODERATION_WEB_WORKERS": "1",
           "MODERATION_WEB_THREADS": "1", "MODERATION_SCORERS": scorers, "MODERATION_INSTANCE_PATH": str(tmp_path)}
    log = tmp_path / "gunicorn.log"
    with running([sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "web:create_app()"], port,
                 env, log) as base:
        http = requests.Session()
        http.trust_env = False
        # The key is read and its last use written on its first request in a process: a cost per key, not of
        # the worker's warmth, paid here on a body that is refused before anything is assessed.
        assert http.post(f"{base}/api/v1/comments", data=b"[]", headers={"Authorization": f"Bearer {key}",
                         "Content-Type": "application/json"}, timeout=30).status_code == 400
        costs = []
        for i, text in enumerate(FRESH):
            r = http.post(f"{base}/api/v1/comments", json={"id": f"c{i}", "article_id": "a1", "text": text,
                                                           "author": f"leser{i}"},
                          headers={"Authorization": f"Bearer {key}"}, timeout=30)
            assert r.status_code == 201, r.text
            costs.append(_cpu_ms(r))
        deadline = time.monotonic() + 5
        while "warmed up" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        warmed = re.search(r"warmed up: \d+ comments in [0-9.]+ s CPU", log.read_text())
    later = statistics.median(costs[5:])
    print(f"first {costs[0]:.2f} ms, later median {later:.2f} ms, all {costs}")
    assert warmed, log.read_text()[-2000:]
    # Unwarmed, the first comment paid several times the later ones (regexes, caches, SQL compilation).
    assert costs[0] <= 1.5 * later + 1.0, costs


def test_celery_workers_warm_in_the_process_that_runs_tasks(db, tmp_path, monkeypatch):
    """Threads and solo pools warm at the worker's start; prefork warms in each child after the fork, never the
    parent (a model loaded before fork() is shared unsafely)."""
    from celery.concurrency import get_implementation

    from moderation.worker import tasks
    from tests.live import config

    tasks.configure(config(db, tmp_path, scorers=("lexicon",)))
    monkeypatch.setattr(warmup, "WARMED", None)
    for pool in ("prefork", None, get_implementation("prefork")):
        tasks._started(sender=type("Controller", (), {"pool_cls": pool})())
        assert warmup.WARMED is None, pool
    for pool in ("threads", "solo", get_implementation("threads")):
        monkeypatch.setattr(warmup, "WARMED", None)
        tasks._started(sender=type("Controller", (), {"pool_cls": pool})())
        assert warmup.WARMED is not None and warmup.WARMED.comments > 0, pool
    monkeypatch.setattr(warmup, "WARMED", None)
    tasks._forked()  # a prefork child
    assert warmup.WARMED is not None


def test_the_rehearsal_keeps_nothing_and_the_first_real_comment_still_records_its_rule_set(db, tmp_path):
    from sqlalchemy import func, select

    from moderation.services import ingest
    from moderation.store.models import (
        Article,
        Comment,
        RuleHit,
        RuleSetVersion,
        TriageResult,
    )
    from tests.live import api_key, bearer, make_app

    app = make_app(db, tmp_path)
    desk = app.extensions["desk"]
    ingest.rehearse(desk.db, desk.pipeline)
    with db.session() as s:
        assert [s.scalar(select(func.count()).select_from(m)) for m in (Article, Comment, TriageResult, RuleHit)] \
            == [0, 0, 0, 0]
    answer = app.test_client().post("/api/v1/comments", json={"id": "c1", "article_id": "a1", "text": "Guten Tag"},
                                    headers=bearer(api_key(db)))
    assert answer.status_code == 201
    with db.session() as s:
        assert s.get(RuleSetVersion, desk.pipeline.ruleset.version) is not None
