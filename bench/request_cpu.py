"""CPU per live submission in this process: the Flask test client posts generated comments to the API.

    PYTHONPATH=. MODERATION_DATA=/work/shared/data python -m bench.request_cpu [--n 400] [--warm 100] [--profile]

A fresh PostgreSQL database (dropped afterwards; admin URL from MODERATION_TEST_POSTGRES_URL), Redis rate limits
(MODERATION_TEST_REDIS_URL), the default scorers (lexicon + sklearn) with their timeout, no deep scorer:
`--warm` posts, then `time.process_time()` over `--n` posts (Flask, the app, SQLAlchemy and the psycopg client
side; the server's CPU is not counted). `--profile` adds a cProfile of the timed posts (top functions by own and
cumulative time; BENCH_PROFILE_OUT=path also keeps the raw stats).
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import event

from bench.generate import import_rows
from bench.load import drop_database, scratch_database

ADMIN_URL = os.environ.get("MODERATION_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("MODERATION_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def measure(n: int = 400, warm: int = 100, profile: bool = False) -> dict:
    """Post `warm` + `n` comments; CPU per timed post, statements per post, load average around the run."""
    from moderation.config import Config  # noqa: PLC0415
    from moderation.store import Database  # noqa: PLC0415
    from moderation.store.apikeys import create  # noqa: PLC0415
    from web import create_app  # noqa: PLC0415

    admin, name, url = scratch_database(ADMIN_URL, "liveapi_bench")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = Config(database_url=url, instance_path=Path(tmp), redis_url=REDIS_URL,
                            task_queue=f"bench-{uuid.uuid4().hex[:6]}", secret_key="bench")
            app = create_app(config)
            db: Database = app.extensions["desk"].db
            with db.session() as s:
                key = create(s, "example-news", rate_limit=10**6)[1]
            client, headers = app.test_client(), {"Authorization": f"Bearer {key}"}
            rows = list(import_rows(warm + n, seed=11, per_article=100))
            statements = [0]
            event.listen(db.engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))

            def post(row: dict) -> None:
                r = client.post("/api/v1/comments", json=row, headers=headers)
                assert r.status_code in (200, 201), (r.status_code, r.get_data()[:300])
            for row in rows[:warm]:
                post(row)
            load_before, statements[0] = os.getloadavg(), 0
            profiler = cProfile.Profile(time.process_time) if profile else None
            if profiler:
                profiler.enable()
            cpu = time.process_time()
            for row in rows[warm:]:
                post(row)
            cpu = time.process_time() - cpu
            if profiler:
                profiler.disable()
                if os.environ.get("BENCH_PROFILE_OUT"):
                    profiler.dump_stats(os.environ["BENCH_PROFILE_OUT"])
                pstats.Stats(profiler).sort_stats("tottime").print_stats(35)
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(60)
            db.dispose()
            return {"posts": n, "cpu_ms_per_post": round(cpu / n * 1000, 2), "statements_per_post": statements[0] / n,
                    "load_before": load_before, "load_after": os.getloadavg()}
    finally:
        drop_database(admin, name)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--warm", type=int, default=100)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    print(measure(args.n, args.warm, args.profile))
