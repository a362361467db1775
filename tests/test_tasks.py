"""Background work: deep scores after the live verdict, triage batches, webhooks; inline and on a real
Celery worker with Redis (the second part needs Redis and PostgreSQL, and runs in CI)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from moderation.services import jobs
from moderation.worker import tasks
from moderation.integrations import webhooks
from moderation.cli import main
from moderation.store.decisions import decide
from moderation.store.events import Event
from moderation.store.models import Comment, TriageResult
from moderation.store.webhooks import WebhookAttempt, WebhookDelivery, add_endpoint
from tests.conftest import IN_CI, RULES, ROOT, SAMPLES, need
from tests.live import SITE, Receiver, api_key, bearer, config, make_app, serve

REDIS_URL = os.environ.get("MODERATION_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
FRIENDLY = "Ein freundlicher Kommentar zum Artikel"


def submit(client, key: str, cid: str, text: str) -> dict:  # noqa: ANN001
    # buffered: the response is closed at once, which runs what comes after the answer (the deep score)
    response = client.post("/api/v1/comments", json={"id": cid, "article_id": "a1", "text": text},
                           headers=bearer(key), buffered=True)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def state(db, cid: str) -> tuple:  # noqa: ANN001
    with db.session() as s:
        c = s.scalars(select(Comment).where(Comment.external_id == cid)).one()
        results = s.scalars(select(TriageResult).where(TriageResult.comment_id == c.id).order_by(TriageResult.id))
        return c.status, bool(c.flagged), [sorted(r.scorer_versions) for r in results]


@pytest.fixture
def deep_app(db, tmp_path):
    return make_app(db, tmp_path, deep_scorers=("fake-deep",))


def test_a_deep_score_flags_a_published_comment_instead_of_unpublishing_it(deep_app, db):
    key, receiver = api_key(db), Receiver()
    client = deep_app.test_client()
    with serve(receiver) as url:
        with db.session() as s:
            add_endpoint(s, SITE, url)
        verdict = submit(client, key, "c1", f"{FRIENDLY}, deepbad.")
        assert verdict["decision"] == "approve"  # the fast path's answer
        assert state(db, "c1") == ("approved", True, [["lexicon", "sklearn"], ["fake-deep", "lexicon", "sklearn"]])
        assert submit(client, key, "c2", f"{FRIENDLY}.")["decision"] == "approve"
        assert state(db, "c2") == ("approved", False, [["lexicon", "sklearn"], ["fake-deep", "lexicon", "sklearn"]])
        feed = client.get("/api/v1/decisions", headers=bearer(key)).get_json()["decisions"]
    assert [(e["event"], e["id"], e["decision"], e["flagged"]) for e in feed] == [
        ("comment.flagged", "c1", "approve", True)]
    assert "disrespectful-language" in {r["rule"] for r in feed[0]["reasons"]}
    assert feed[0]["explanation"].startswith("Held for review")
    assert [r["json"] for r in receiver.received] == feed


def test_a_deep_score_never_changes_a_held_or_human_verdict(deep_app, db, tmp_path):
    key = api_key(db)
    assert submit(deep_app.test_client(), key, "held", "Du bist ein Idiot, deepbad.")["decision"] == "hold"
    assert state(db, "held") == ("held", False, [["lexicon", "sklearn"], ["fake-deep", "lexicon", "sklearn"]])
    fast_only = make_app(db, tmp_path)  # no deep scorers: the deep score below comes after a moderator
    assert submit(fast_only.test_client(), key, "human", f"{FRIENDLY}, deepbad.")["decision"] == "approve"
    with db.session() as s:
        cid = s.scalars(select(Comment.id).where(Comment.external_id == "human")).one()
        decide(s, cid, "approve", "mod")
    tasks.configure(config(db, tmp_path, deep_scorers=("fake-deep",)))
    assert jobs.deep_assess(db, tasks.runtime.pipeline, cid, ("fake-deep",))["changed"] is False
    assert state(db, "human") == ("approved", False, [["lexicon", "sklearn"], ["fake-deep", "lexicon", "sklearn"]])
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Event).where(Event.type != "comment.decided")) == 0
        assert s.scalars(select(TriageResult.applied).order_by(TriageResult.id.desc())).first() is False


def test_deep_scoring_is_written_once(deep_app, db):
    client = deep_app.test_client()
    submit(client, api_key(db), "c1", f"{FRIENDLY}, deepbad.")
    with db.session() as s:
        cid = s.scalars(select(Comment.id)).one()
    again = tasks.deep_score.delay(cid).get()
    assert again["repeated"] and again["comment"] == cid
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(TriageResult)) == 2
        assert s.scalar(select(func.count()).select_from(Event)) == 1


def test_a_deep_scorer_outage_sends_the_comment_to_a_human(deep_app, db):
    client = deep_app.test_client()
    assert submit(client, api_key(db), "c1", f"{FRIENDLY}, deepfail.")["decision"] == "approve"
    # Inline there is no backoff to wait for: the incomplete result is written at once and flags it.
    status, flagged, runs = state(db, "c1")
    assert (status, flagged, len(runs)) == ("approved", True, 2)
    with db.session() as s:
        failures = s.scalars(select(TriageResult.failures).order_by(TriageResult.id.desc())).first()
    assert any("unreachable" in f for f in failures)
    from tests.test_store import batch, load  # noqa: PLC0415

    load(db, batch([("c2", None, "deepfail")], source=SITE))
    with db.session() as s:
        cid = s.scalars(select(Comment.id).where(Comment.external_id == "c2")).one()
    with pytest.raises(jobs.Incomplete):  # what a worker retries with backoff; nothing is written meanwhile
        jobs.deep_assess(db, tasks.runtime.pipeline, cid, ("fake-deep",))
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(TriageResult).where(TriageResult.comment_id == cid)) == 0


def test_triage_queue_runs_batches_inline_without_a_broker(db, tmp_path):
    runner = CliRunner()
    base = ["--database", db.url, "--rules", str(RULES)]
    assert runner.invoke(main, [*base, "import", str(SAMPLES / "de_thread.jsonl")]).exit_code == 0
    with db.session() as s:
        total = s.scalar(select(func.count()).select_from(Comment))
    env = {"MODERATION_INSTANCE_PATH": str(tmp_path)}
    refused = runner.invoke(main, [*base, "triage", "--queue"], env=env)  # the workers use the active revision
    assert refused.exit_code == 2 and "rules activate" in refused.output
    base = ["--database", db.url]
    queued = runner.invoke(main, [*base, "triage", "--queue", "--batch-size", "7", "--json"], env=env)
    assert queued.exit_code == 0, queued.output
    summary = json.loads(queued.output)
    assert summary["triaged"] == total and summary["batches"] == -(-total // 7)
    assert summary["approve"] + summary["hold"] + summary["reject"] + summary["kept_human_decision"] == total
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Comment).where(Comment.triage_id.is_(None))) == 0
    again = json.loads(runner.invoke(main, [*base, "triage", "--queue", "--json"], env=env).output)
    assert again["triaged"] == 0


def test_triage_deep_catches_up_on_missed_deep_scores(db, tmp_path):
    runner = CliRunner()
    base = ["--database", db.url, "--rules", str(RULES)]
    env = {"MODERATION_INSTANCE_PATH": str(tmp_path)}
    assert runner.invoke(main, [*base, "import", str(SAMPLES / "en_thread.jsonl")]).exit_code == 0
    assert runner.invoke(main, [*base, "triage"], env=env).exit_code == 0  # fast scorers only: no deep scores
    refused = runner.invoke(main, [*base, "triage", "--deep"], env=env)
    assert refused.exit_code == 2 and "MODERATION_DEEP_SCORERS" in refused.output
    env["MODERATION_DEEP_SCORERS"] = "fake-deep"
    with db.session() as s:
        total = s.scalar(select(func.count()).select_from(Comment))
        s.scalars(select(Comment).order_by(Comment.id)).first().text = "Look, deepfail."
    first = runner.invoke(main, [*base, "triage", "--deep", "--json"], env=env)
    result = json.loads(first.output)
    assert first.exit_code == 1 and result["incomplete"] == 1 and result["deep_scored"] == total - 1
    assert "model server unreachable" in result["errors"][0]
    with db.session() as s:
        current = s.execute(select(TriageResult.scores).join(Comment, Comment.triage_id == TriageResult.id))
        assert sum("fake-deep" in scores for (scores,) in current) == total - 1
    again = json.loads(runner.invoke(main, [*base, "triage", "--deep", "--json"], env=env).output)
    assert again["deep_scored"] == 0 and again["incomplete"] == 1  # only the one whose scorer keeps failing


# -- a real worker on Redis -----------------------------------------------------------------------------------

def _redis_up() -> bool:
    import redis  # noqa: PLC0415

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def wait_for(check, timeout: float = 60.0):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the worker")


def _forget_queue(queue: str) -> None:
    import redis  # noqa: PLC0415

    client = redis.Redis.from_url(REDIS_URL)
    client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")


@pytest.fixture(scope="module")
def queue():
    return f"moderation-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def worker(db, tmp_path, queue):
    """A Celery worker process on Redis and the test's PostgreSQL database, and tasks pointed at it."""
    need(db.dialect == "postgresql", "the worker tests share PostgreSQL with a worker process")
    need(_redis_up(), f"Redis not reachable at {REDIS_URL}")
    settings = {"broker_url": REDIS_URL, "task_queue": queue, "deep_scorers": ("fake-deep",),
                "webhook_retry_seconds": 0.5}
    env = {**os.environ, "MODERATION_DATABASE_URL": db.url, "MODERATION_BROKER_URL": REDIS_URL,
           "MODERATION_TASK_QUEUE": queue, "MODERATION_DEEP_SCORERS": "fake-deep",
           "MODERATION_WEBHOOK_RETRY_SECONDS": "0.5", "MODERATION_RULES_PATH": str(RULES),
           "MODERATION_INSTANCE_PATH": str(tmp_path)}
    # The documented entry point, `celery -A moderation.worker.tasks worker`: it wires the app from the settings
    # at start-up (tests.live first registers the stand-in deep scorer).
    code = ("import sys, tests.live; from celery.__main__ import main; sys.argv = ['celery', '-A', 'moderation.worker.tasks', "
            f"'worker', '--pool=threads', '--concurrency=2', '-Q', '{queue}', '--loglevel=warning', '--without-gossip', "
            "'--without-mingle']; main()")
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115
    process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=log, stderr=log)
    tasks.configure(config(db, tmp_path, **settings))
    tasks.bind_webhooks(db, config(db, tmp_path, **settings))  # this process commits decisions the worker delivers
    try:
        yield settings
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        tasks.configure(config(db, tmp_path))  # inline again for the tests that follow
        _forget_queue(queue)
        if IN_CI or process.returncode not in (0, -15):
            print((tmp_path / "worker.log").read_text())


@pytest.mark.redis
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_worker_deep_scores_once_per_comment(db, tmp_path, worker):
    app = make_app(db, tmp_path, **worker)
    key = api_key(db)
    start = time.perf_counter()
    assert submit(app.test_client(), key, "c1", f"{FRIENDLY}, deepbad.")["decision"] == "approve"
    assert time.perf_counter() - start < 5  # the answer does not wait for the deep score
    wait_for(lambda: state(db, "c1")[1])
    with db.session() as s:
        cid = s.scalars(select(Comment.id)).one()
    twins = [tasks.deep_score.delay(cid) for _ in range(3)]  # redelivered or sent again: no second write
    assert all(t.get(timeout=60)["repeated"] for t in twins)
    assert state(db, "c1") == ("approved", True, [["lexicon", "sklearn"], ["fake-deep", "lexicon", "sklearn"]])


@pytest.mark.redis
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_worker_runs_triage_batches_once(db, tmp_path, worker):
    from tests.test_store import batch, load  # noqa: PLC0415

    load(db, batch([(f"c{i}", None, "Du Idiot" if i % 3 == 0 else "Guter Punkt") for i in range(45)]))
    summary = tasks.triage_queued(db, rescore=False, batch_size=10, wait=120)
    assert (summary["triaged"], summary["batches"], summary["hold"]) == (45, 5, 15)
    assert summary["scorers"] == {"lexicon": summary["scorers"]["lexicon"], "sklearn": summary["scorers"]["sklearn"],
                                  "fake-deep": "fake-deep-1"}
    with db.session() as s:
        ids = list(s.scalars(select(Comment.id).order_by(Comment.id).limit(10)))
    runs = [tasks.triage_batch.delay(ids, "same-run", True) for _ in range(2)]
    results = [r.get(timeout=60) for r in runs]
    assert sorted(bool(r.get("repeated")) for r in results) == [False, True]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(TriageResult)) == 45 + 10


@pytest.mark.redis
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_worker_delivers_webhooks_with_retries(db, tmp_path, worker):
    from tests.test_store import batch, load  # noqa: PLC0415

    receiver = Receiver(statuses=(500, 200))
    load(db, batch([("c1", None, "Du Idiot")], source=SITE))
    with serve(receiver) as url:
        with db.session() as s:
            add_endpoint(s, SITE, url)
        with db.session() as s:
            decide(s, s.scalars(select(Comment.id)).one(), "reject", "mod")

        def delivered() -> WebhookDelivery | None:
            with db.session() as s:
                return s.scalars(select(WebhookDelivery).where(WebhookDelivery.state == "delivered")).first()

        delivery = wait_for(delivered)  # the 200 was answered and the worker has written it down
        with db.session() as s:
            attempts = [a.status_code for a in s.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id))]
        tasks.deliver_webhook.delay(delivery.id).get(timeout=30)  # a late duplicate finds nothing to do
    assert (delivery.state, attempts) == ("delivered", [500, 200])
    assert [r["answered"] for r in receiver.received] == [500, 200]


def test_importing_the_tasks_reads_no_settings_and_opens_no_database(tmp_path):
    """The start-up point wires settings and database (configure); the import itself does neither."""
    code = ("import moderation.store.database as d\n"
            "def refuse(*_a, **_k): raise SystemExit('a database was opened at import')\n"
            "d.Database.__init__ = refuse\n"
            "import moderation.worker.tasks as t\n"
            "assert not hasattr(t, 'runtime') and not hasattr(t, 'deep_score')\n"
            "try:\n"
            "    t.enqueue_deliveries([1])\n"
            "except RuntimeError as e:\n"
            "    print('refused:', e)\n")
    # Settings that cannot be read: the import would fail if it read them.
    env = {**os.environ, "MODERATION_API_RATE_LIMIT": "not-a-number", "PYTHONPATH": str(ROOT),
           "MODERATION_DATABASE_URL": f"sqlite:///{tmp_path / 'absent' / 'x.db'}"}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "refused: moderation.worker.tasks.deliver_webhook: not configured" in done.stdout
    assert not (tmp_path / "absent").exists() and not (tmp_path / "instance").exists()


def test_each_forked_worker_process_opens_its_own_database(db, tmp_path):
    """Celery's worker_process_init: a prefork child drops the parent's pool and opens its own on first use."""
    from celery.signals import worker_process_init  # noqa: PLC0415

    tasks.configure(config(db, tmp_path))
    try:
        parent = tasks.runtime.db
        worker_process_init.send(sender=None)
        child = tasks.runtime.db
        assert child is not parent and child.url == parent.url
        parent.dispose()
    finally:
        tasks.runtime.db.dispose()
        tasks.configure(config(db, tmp_path))
