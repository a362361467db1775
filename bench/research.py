"""Research page with many stored comments: the aggregate refresh's duration and the page's first load.

`python -m bench.run research --n 1000000 [--postgres URL]`. Comments are written with bench/queue.py's bulk
INSERTs (threads of 200, 5 % decided by a moderator, real assessments of the texts). With BENCH_TEXTS=omp the
texts are the One Million Posts corpus's labelled posts (real German news comments, cycled), else bench/generate.py's.
Then: `research refresh` as the workers run it, and the first request of a fresh web app for /research/, the
German part, and /admin/model/ (each timed in the Flask test client, logged in).
"""
from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from bench import queue
from moderation.config import Config
from moderation.research import aggregates
from moderation.research.pseudonyms import Pseudonymizer
from moderation.store import Database
from moderation.store.accounts import add_user, find

OMP = Path(os.environ.get("MODERATION_DATA", "/work/shared/data")) / "one-million-posts" / "posts_labeled.csv.xz"


def _omp_texts(n: int, seed: int = 0) -> list[tuple[str, str]]:
    from moderation.research.omp import read_posts  # noqa: PLC0415

    posts = [(p.text, "de") for p in read_posts(OMP) if (p.text or "").strip()]
    return posts[:n]


def _login(app, user: str, password: str):  # noqa: ANN001, ANN202
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/login", data={"username": user, "password": password, "csrf_token": token})
    return client


def _timed(client, url: str) -> tuple[float, int]:  # noqa: ANN001
    start = time.perf_counter()
    response = client.get(url)
    return time.perf_counter() - start, response.status_code


def measure(db: Database, tmp: Path) -> list[str]:
    from web import create_app  # noqa: PLC0415

    start = time.perf_counter()
    summary = aggregates.refresh(db, Pseudonymizer(b"bench-pseudonym-key"), force=True)
    lines = [f"aggregate refresh (all, per language, model versions, risk order): {time.perf_counter() - start:.1f} s "
             f"(load {os.getloadavg()[0]:.2f}; {len(summary['keys'])} aggregates)"]
    print(lines[0], flush=True)
    with db.session() as session:
        for user, role in (("bench-re", "researcher"), ("bench-ad", "admin")):
            if find(session, user) is None:
                add_user(session, user, "bench-password", role)
    app = create_app(Config(database_url=db.url, instance_path=tmp, rules_path=queue.RULES), TESTING=True)
    researcher, admin = _login(app, "bench-re", "bench-password"), _login(app, "bench-ad", "bench-password")
    for label, client, url in (("research page, first load", researcher, "/research/"),
                               ("research page, again", researcher, "/research/"),
                               ("research page, German only", researcher, "/research/?language=de"),
                               ("research page, one article (computed on request)", researcher,
                                "/research/?article=a7"),
                               ("model page, first load", admin, "/admin/model/")):
        seconds, status = _timed(client, url)
        assert status == 200, (url, status)
        lines.append(f"{label}: {seconds * 1000:.0f} ms (load {os.getloadavg()[0]:.2f})")
    return lines


def run(url: str | None, n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(url or f"sqlite:///{tmp}/research.db")
        stored = db.engine.connect().execute(text("SELECT count(*) FROM comments")).scalar()
        if not (os.environ.get("BENCH_REUSE") and stored >= n):
            if stored:
                raise SystemExit(f"{db.url}: not empty; use a fresh database (or BENCH_REUSE=1)")
            start = time.perf_counter()
            queue.fill(db, n)
            print(f"## {db.dialect}: wrote {n:,} comments in {time.perf_counter() - start:.0f} s", flush=True)
        for line in measure(db, Path(tmp)):
            print(line, flush=True)
        db.dispose()


def main(n: int = 1_000_000, postgres: str | None = None) -> None:
    if os.environ.get("BENCH_TEXTS") == "omp":
        queue.texts = _omp_texts  # real comments instead of generated ones
    print(f"# research page, n={n:,}, {os.cpu_count()} cpus, load {os.getloadavg()[0]:.2f}, texts "
          f"{os.environ.get('BENCH_TEXTS', 'generated')}", flush=True)
    if "sqlite" in os.environ.get("BENCH_BACKENDS", "sqlite,postgresql"):
        run(None, n)
    if postgres:
        run(postgres, n)
    print(f"load afterwards {os.getloadavg()[0]:.2f}")
