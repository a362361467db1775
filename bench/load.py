"""The live API under load, on loopback: gunicorn serving the app on PostgreSQL, a Celery worker on Redis
delivering webhooks, an ingest client posting comments at a fixed rate, and moderators deciding held comments
meanwhile (through the store's decide() with expected_status; the review queue's HTTP endpoints are not used).

Afterwards it checks that every acknowledged comment is stored exactly once, that no comment has two
effective decisions, and that every decision reached the webhook receiver; then prints latency percentiles.
"""
from __future__ import annotations

import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import Engine, create_engine, func, select, text

from bench.generate import import_rows
from moderation.worker import tasks
from moderation.config import PROJECT_ROOT, Config
from moderation.store import Database
from moderation.store.apikeys import create
from moderation.store.decisions import AlreadyDecided, decide
from moderation.store.events import Event
from moderation.store.models import Comment, Decision, TriageResult
from moderation.store.webhooks import WebhookDelivery, add_endpoint

ADMIN_URL = os.environ.get("MODERATION_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("MODERATION_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SITE = "bench-site"
BIN = Path(sys.executable).parent


def _pct(values: list[float], q: float, scale: float = 1.0) -> float | None:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * scale, 1) if ordered else None


def _cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (FileNotFoundError, ProcessLookupError, IndexError):
            pass
    return total


def _children(parent: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == parent:
                out.append(int(stat.parent.name))
        except (FileNotFoundError, ValueError, IndexError):
            pass
    return out


def _postgres_pids(db: Database) -> list[int]:
    """The PostgreSQL backends serving the bench's own database (other databases' work on the machine left out)."""
    with db.session() as s:
        return list(s.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")))


class Receiver:
    """The CMS's webhook endpoint: counts deliveries per cursor and when they arrived."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[int, float, str]] = []  # cursor, arrival, event time
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):  # noqa: ANN001, ANN204
        body = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        with self.lock:
            self.arrivals.append((body["cursor"], time.time(), body["at"]))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]


class Ingest:
    """An open-loop client: request i is due at start + i/rate, latency counts from then (no coordinated
    omission), sent by a pool of threads with keep-alive connections."""

    def __init__(self, port: int | list[int], key: str, threads: int = 48) -> None:
        self.ports, self.key = port if isinstance(port, list) else [port], key
        self.cpu_ms: list[float] = []  # each answer's Server-Timing: the request's CPU in its web worker thread
        self.app_ms: list[float] = []  # and its wall time inside the app (before_request to after_request)
        self.local = threading.local()
        self.pool = ThreadPoolExecutor(threads)
        self.results: list[tuple[str, float, float, int, str]] = []  # id, latency, service, status, decision
        self.lock = threading.Lock()

    def _connection(self) -> http.client.HTTPConnection:
        if getattr(self.local, "conn", None) is None:  # threads spread over the instances, as a balancer would
            port = self.ports[threading.get_ident() % len(self.ports)]
            self.local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        return self.local.conn

    def _send(self, row: dict, due: float) -> None:
        body = json.dumps(row).encode()
        start = time.perf_counter()
        status, decision = 0, ""
        for attempt in (1, 2):  # a keep-alive connection the server closed is reopened once
            try:
                conn = self._connection()
                conn.request("POST", "/api/v1/comments", body, {"Authorization": f"Bearer {self.key}",
                                                                "Content-Type": "application/json"})
                response = conn.getresponse()
                payload = response.read()
                status = response.status
                timing = dict(part.strip().split(";dur=") for part in
                              response.getheader("Server-Timing", "").split(",") if ";dur=" in part)
                if "cpu" in timing:
                    with self.lock:
                        self.cpu_ms.append(float(timing["cpu"]))
                        if "app" in timing:
                            self.app_ms.append(float(timing["app"]))
                decision = json.loads(payload).get("decision", "") if status < 300 else payload.decode()[:200]
                break
            except (http.client.HTTPException, OSError) as exc:
                self.local.conn = None
                status, decision = -1, f"{type(exc).__name__}: {exc}"
                if attempt == 2:
                    break
        end = time.perf_counter()
        with self.lock:
            self.results.append((row["id"], end - due, end - start, status, decision))

    def run(self, rows: list[dict], rate: float) -> float:
        start = time.perf_counter()
        for i, row in enumerate(rows):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            self.pool.submit(self._send, row, due)
        self.pool.shutdown(wait=True)
        return time.perf_counter() - start


def moderate(db: Database, n: int, stop: threading.Event, tally: dict, think: float) -> None:
    """A moderator: picks one of the oldest held comments (colleagues pick from the same few) and decides."""
    rng = random.Random(n)
    while not stop.is_set():
        with db.session() as s:
            candidates = list(s.scalars(select(Comment.id).where(Comment.status == "held")
                                        .order_by(Comment.id).limit(8)))
        if not candidates:
            time.sleep(0.05)
            continue
        action = rng.choice(["approve", "reject"])
        try:
            with db.session() as s:
                decide(s, rng.choice(candidates), action, f"mod{n}", expected_status="held",
                       reason_code="personal-attack" if action == "reject" else None)
            tally["decided"] += 1
        except AlreadyDecided:
            tally["conflicts"] += 1
        time.sleep(think)


def _wait_http(port: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/openapi.json")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the app did not come up")


def scratch_database(admin_url: str, prefix: str) -> tuple[Engine, str, str]:
    """A new, empty PostgreSQL database: the admin engine, its name and its URL (drop_database removes it)."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return admin, name, admin.url.set(database=name).render_as_string(hide_password=False)


def drop_database(admin: Engine, name: str) -> None:
    """Drop a scratch database, its sessions closed first."""
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def run(rate: float = 200, seconds: float = 30, moderators: int = 4, web_workers: int = 3, web_threads: int = 4,
        admin_url: str = ADMIN_URL, instances: int = 1) -> dict:
    from werkzeug.serving import make_server  # noqa: PLC0415

    admin, name, url = scratch_database(admin_url, "moderation_bench")
    db = Database(url, pool_size=moderators + 4)
    receiver = Receiver()
    hook = make_server("127.0.0.1", 0, receiver, threaded=True)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    with db.session() as s:
        key = create(s, SITE, rate_limit=int(rate * 60 * 2))[1]
        add_endpoint(s, SITE, f"http://127.0.0.1:{hook.server_port}/hook")
    queue = f"bench-{uuid.uuid4().hex[:6]}"
    processes: list[subprocess.Popen] = []
    tmp = tempfile.TemporaryDirectory()
    ports = [18000 + random.randrange(1000) * 2 + i for i in range(instances)]
    env = {**os.environ, "MODERATION_DATABASE_URL": url, "MODERATION_BROKER_URL": REDIS_URL,
           "MODERATION_TASK_QUEUE": queue, "MODERATION_INSTANCE_PATH": tmp.name,
           "MODERATION_SECRET_KEY": "bench", "MODERATION_WEB_WORKERS": str(web_workers),
           "MODERATION_WEB_THREADS": str(web_threads), "MODERATION_WEBHOOK_RETRY_SECONDS": "1"}
    try:
        logs = Path(tmp.name)
        for i, port in enumerate(ports):  # instances share the database, Redis and the worker, as machines would
            processes.append(subprocess.Popen(
                [str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "web:create_app()"], cwd=PROJECT_ROOT,
                env={**env, "MODERATION_BIND": f"127.0.0.1:{port}"}, stderr=open(logs / f"web{i}.log", "w")))  # noqa: SIM115
        processes.append(subprocess.Popen([sys.executable, "-m", "moderation", "worker", "--pool", "threads",
                                           "--concurrency", "4", "--beat", "--loglevel", "warning"],
                                          cwd=PROJECT_ROOT, env=env, stderr=open(logs / "worker.log", "w"),  # noqa: SIM115
                                          stdout=subprocess.DEVNULL))
        for port in ports:
            _wait_http(port)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and sum(
                (logs / f"web{i}.log").read_text().count("warmed up") for i in range(instances)) < web_workers * instances:
            time.sleep(0.5)  # every gunicorn worker warmed up (post_worker_init)
        run_id = uuid.uuid4().hex[:6]
        rows = [{**row, "id": f"{run_id}-{row['id']}", "parent_id": f"{run_id}-{row['parent_id']}"}
                if "parent_id" in row else {**row, "id": f"{run_id}-{row['id']}"}
                for row in import_rows(int(rate * seconds), seed=11, per_article=100)]
        warm = Ingest(ports, key)
        warm.run([{**r, "id": f"warm-{r['id']}"} for r in rows[:100]], rate / 4)
        load_before = os.getloadavg()
        web_pids = [pid for p in processes[:instances] for pid in _children(p.pid)]
        worker = processes[instances]
        cpu_before = {"web": _cpu_seconds(web_pids), "worker": _cpu_seconds([worker.pid]),
                      "postgres": _cpu_seconds(pg_pids := _postgres_pids(db)), "bench": time.process_time()}
        # Moderators' decisions are committed here: their webhooks go out through the same broker.
        # (wired as every start-up point wires it: the database hands committed deliveries to the broker).
        config = Config(database_url=url, broker_url=REDIS_URL, task_queue=queue, instance_path=Path(tmp.name))
        tasks.configure(config)
        tasks.bind_webhooks(db, config)
        stop, tally = threading.Event(), {"decided": 0, "conflicts": 0}
        mods = [threading.Thread(target=moderate, args=(db, n, stop, tally, 0.2)) for n in range(moderators)]
        for m in mods:
            m.start()
        ingest = Ingest(ports, key)
        elapsed = ingest.run(rows, rate)
        stop.set()
        for m in mods:
            m.join()
        cpu = {"web": _cpu_seconds(web_pids) - cpu_before["web"],
               "worker": _cpu_seconds([worker.pid]) - cpu_before["worker"],
               # Backends opened during the run (pools growing under load) count whole: they began in it.
               "postgres": _cpu_seconds(sorted(set(pg_pids) | set(_postgres_pids(db)))) - cpu_before["postgres"],
               "bench": time.process_time() - cpu_before["bench"]}
        load_after = os.getloadavg()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # the worker drains the webhook outbox
            with db.session() as s:
                pending = s.scalar(select(func.count()).select_from(WebhookDelivery)
                                   .where(WebhookDelivery.state == "pending"))
            if not pending:
                break
            time.sleep(0.5)
        result = _verify(db, ingest, warm, receiver, tally, rate, seconds, elapsed, moderators, web_workers,
                         web_threads, load_before, load_after, cpu)
        result["web"] = f"{instances} x {result['web']}"
        if result["errors"]:
            for name in [f"web{i}.log" for i in range(instances)] + ["worker.log"]:
                print(f"--- {name} (last lines)", *(logs / name).read_text().splitlines()[-15:], sep="\n",
                      file=sys.stderr)
        return result
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        hook.shutdown()
        db.dispose()
        import redis  # noqa: PLC0415

        redis.Redis.from_url(REDIS_URL).delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
        drop_database(admin, name)
        tmp.cleanup()


def _verify(db: Database, ingest: Ingest, warm: Ingest, receiver: Receiver, tally: dict, rate: float,
            seconds: float, elapsed: float, moderators: int, web_workers: int, web_threads: int,
            load_before: tuple, load_after: tuple, cpu: dict) -> dict:
    acked = {i for i, _, _, status, _ in ingest.results + warm.results if 200 <= status < 300}
    errors = [(status, detail) for _, _, _, status, detail in ingest.results if not 200 <= status < 300]
    with db.session() as s:
        stored = list(s.scalars(select(Comment.external_id)))
        twice = s.scalar(select(func.count()).select_from(
            select(Decision.comment_id).where(Decision.action != "undo").group_by(Decision.comment_id)
            .having(func.count() > 1).subquery()))
        decisions = s.scalar(select(func.count()).select_from(Decision))
        results_per_comment = s.scalar(select(func.count(TriageResult.id)).group_by(TriageResult.comment_id)
                                       .order_by(func.count(TriageResult.id).desc()).limit(1))
        events = s.scalar(select(func.count()).select_from(Event))
        states = dict(s.execute(select(WebhookDelivery.state, func.count()).group_by(WebhookDelivery.state)).all())
    cursors = [c for c, _, _ in receiver.arrivals]
    from datetime import datetime  # noqa: PLC0415

    lags = [arrived - datetime.fromisoformat(at).timestamp() for _, arrived, at in receiver.arrivals]
    latency = [lat * 1000 for _, lat, _, status, _ in ingest.results if 200 <= status < 300]
    service = [srv * 1000 for _, _, srv, status, _ in ingest.results if 200 <= status < 300]
    decided = [d for *_, status, d in ingest.results if 200 <= status < 300]
    n = len(ingest.results)
    return {
        "rate_target": rate, "seconds": seconds, "requests": n, "achieved_rate": round(n / elapsed, 1),
        "ok": len(latency), "errors": len(errors), "error_samples": errors[:5],
        "verdicts": {d: decided.count(d) for d in ("approve", "hold", "reject")},
        "latency_ms": {"p50": _pct(latency, .5), "p95": _pct(latency, .95), "p99": _pct(latency, .99),
                       "max": round(max(latency, default=0), 1),
                       "mean": round(statistics.fmean(latency), 1) if latency else None},
        "service_ms": {"p50": _pct(service, .5), "p95": _pct(service, .95), "p99": _pct(service, .99)},
        "stored_exactly_once": sorted(stored) == sorted(acked) and len(stored) == len(set(stored)),
        "lost": len(acked - set(stored)), "stored": len(stored),
        "moderators": moderators, "decisions": decisions, "decided": tally["decided"],
        "lost_races": tally["conflicts"], "comments_decided_twice": twice,
        "max_triage_results_per_comment": results_per_comment,
        "events": events, "webhooks": states, "webhook_cursors_received": len(set(cursors)),
        "webhook_duplicates": len(cursors) - len(set(cursors)),
        "webhook_lag_ms": {"p50": _pct(lags, .5, 1000), "p95": _pct(lags, .95, 1000)},
        "web": f"gunicorn gthread {web_workers} workers x {web_threads} threads",
        "cpu_seconds": {k: round(v, 1) for k, v in cpu.items()},
        # The load-independent figure: CPU of the served path (web, PostgreSQL, worker) per comment, client left out.
        "cpu_ms_per_comment_served": round(sum(v for k, v in cpu.items() if k != "bench") * 1000 / max(n, 1), 2),
        "web_thread_cpu_ms": {"p50": _pct(ingest.cpu_ms, .5), "p95": _pct(ingest.cpu_ms, .95),
                              "mean": round(statistics.fmean(ingest.cpu_ms), 2) if ingest.cpu_ms else None},
        # Wall time inside the app: service time minus this is waiting outside it (accept queue, client).
        "app_wall_ms": {"p50": _pct(ingest.app_ms, .5), "p95": _pct(ingest.app_ms, .95),
                        "p99": _pct(ingest.app_ms, .99)},
        "cpu_ms_per_request": {k: round(v * 1000 / max(n, 1), 2) for k, v in cpu.items()},
        "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in load_after],
    }


def main(n: int = 0, postgres: str | None = None) -> dict:
    """Settings from BENCH_RATE (comments/s, 200), BENCH_SECONDS (30), BENCH_MODERATORS (4),
    BENCH_WEB_WORKERS (3), BENCH_WEB_THREADS (4) and BENCH_INSTANCES (1: gunicorn instances, each with that many
    workers, sharing the database, Redis and the Celery worker); n is not used."""
    rate, seconds = float(os.environ.get("BENCH_RATE", 200)), float(os.environ.get("BENCH_SECONDS", 30))
    moderators = int(os.environ.get("BENCH_MODERATORS", 4))
    workers, threads = int(os.environ.get("BENCH_WEB_WORKERS", 3)), int(os.environ.get("BENCH_WEB_THREADS", 4))
    instances = int(os.environ.get("BENCH_INSTANCES", 1))
    print(f"# live API load: {rate:g} comments/s for {seconds:g} s, {moderators} moderators, "
          f"{os.cpu_count()} cpus, load {os.getloadavg()}")
    result = run(rate, seconds, moderators, workers, threads, postgres or ADMIN_URL, instances)
    print(json.dumps(result, indent=2))
    return result
