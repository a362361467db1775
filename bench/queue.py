"""Review queue latency with many stored comments: queue page p50/p95 and a decision's round trip, through the
Flask test client, on SQLite (and PostgreSQL when a URL is given).

Comments come from bench/generate.py (85 % German, threads of 200, a third replies). Their assessments are real:
the pipeline (language + lexicon + rules + policy) assesses DISTINCT generated texts, and the stored comments
cycle through those texts and assessments, so statuses, risks, rule hits and evidence have the real mix.
Rows are written with bulk INSERTs (the importer and triage at this size would take hours on this machine).
"""
from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert, text

from bench.generate import texts
from moderation.config import PROJECT_ROOT, Config
from moderation.assess.pipeline import Item, Pipeline
from moderation.rules import load_ruleset
from moderation.scoring.lexicon import LexiconScorer
from moderation.store import Article, Comment, Database, Decision, RuleHit, TriageResult
from moderation.store.accounts import add_user, find

RULES = Path(os.environ.get("BENCH_RULES", PROJECT_ROOT / "rules"))
DISTINCT = int(os.environ.get("BENCH_DISTINCT", "20000"))
PER_ARTICLE = 200
CHUNK = 20_000
HUMAN = 0.05  # share of comments a moderator has decided already


def _assessments(n: int) -> tuple[list[tuple[str, str]], list]:
    rs = load_ruleset(RULES)
    pipeline = Pipeline(rs, [LexiconScorer(rs)])
    data = texts(n, seed=11)
    out = []
    for i in range(0, n, 1000):
        out.extend(pipeline.assess([Item(t, language=lang) for t, lang in data[i:i + 1000]]))
    return data, out


def fill(db: Database, n: int) -> dict[str, float]:
    """Write n comments with their triage results, rule hits and some human decisions; returns timings."""
    t0 = time.perf_counter()
    data, assessed = _assessments(min(n, DISTINCT))
    t1 = time.perf_counter()
    rng = random.Random(5)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    articles = [{"id": a + 1, "source": "bench", "external_id": f"a{a}", "title": f"Artikel {a}", "language": "de",
                 "placeholder": False} for a in range((n + PER_ARTICLE - 1) // PER_ARTICLE)]
    depth: list[int] = [0] * n
    with db.engine.begin() as conn:
        for i in range(0, len(articles), CHUNK):
            conn.execute(insert(Article), articles[i:i + CHUNK])
        decision_id = 0
        for lo in range(0, n, CHUNK):
            comments, results, hits, decisions = [], [], [], []
            for i in range(lo, min(n, lo + CHUNK)):
                k = i % len(assessed)
                a, (body, lang) = assessed[k], data[k]
                first = (i // PER_ARTICLE) * PER_ARTICLE
                parent = rng.randrange(first, i) if i > first and rng.random() < 0.35 else None
                depth[i] = depth[parent] + 1 if parent is not None else 0
                status = a.decision.status.value
                human = rng.random() < HUMAN
                if human:
                    final = "rejected" if a.decision.value != "approve" and rng.random() < 0.6 else "approved"
                    decision_id += 1
                    decisions.append({"id": decision_id, "comment_id": i + 1, "action": "approve" if final == "approved" else "reject", "reason_code": None if final == "approved"
                                      else "personal-attack", "actor": "bench-moderator", "origin": "moderator",
                                      "previous_status": status, "created_at": start + timedelta(seconds=i * 7 + 60)})
                    status = final
                comments.append({
                    "id": i + 1, "source": "bench", "external_id": f"c{i}", "article_id": i // PER_ARTICLE + 1,
                    "parent_id": parent + 1 if parent is not None else None, "depth": depth[i], "orphan": False,
                    "author": f"user{rng.randrange(n // 10 + 1)}", "text": body,
                    "created_at": start + timedelta(seconds=i * 7), "language": a.language.language or lang,
                    "kind": "comment", "meta": {}, "imported_at": start, "status": status, "decided_by_human": human,
                    "flagged": int(a.flagged or (status == "approved" and not human and rng.random() < 0.01)),
                    "priority": a.priority, "risk": a.risk, "triage_id": i + 1})
                results.append({
                    "id": i + 1, "comment_id": i + 1, "created_at": start + timedelta(seconds=i * 7 + 1),
                    "decision": a.decision.value, "priority": a.priority, "risk": a.risk,
                    "language": a.language.language, "explanation": a.explanation,
                    "ruleset_version": a.ruleset_version, "scorer_versions": a.scorer_versions, "scores": a.scores,
                    "hits": [h.to_dict() for h in a.hits], "shadow_hits": [h.to_dict() for h in a.shadow_hits],
                    "failures": a.failures, "applied": not human})
                hits.extend({"triage_id": i + 1, "comment_id": i + 1, "rule_id": h.rule_id, "action": h.action,
                             "shadow": h.experimental, "created_at": start} for h in a.hits + a.shadow_hits)
            conn.execute(insert(Comment), comments)
            conn.execute(insert(TriageResult), results)
            if hits:
                conn.execute(insert(RuleHit), hits)
            if decisions:
                conn.execute(insert(Decision), decisions)
        if db.dialect == "postgresql":
            for table in ("articles", "comments", "triage_results", "rule_hits", "decisions"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT coalesce(max(id), 1) FROM {table}))"))
            conn.execute(text("ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))
    return {"assess": t1 - t0, "write": time.perf_counter() - t1}


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _fmt(label: str, ms: list[float]) -> str:
    return (f"{label}: p50 {statistics.median(ms):.1f} ms, p95 {_pct(ms, 95):.1f} ms, max {max(ms):.1f} ms "
            f"({len(ms)} requests)")


def measure(db: Database, tmp: Path, n: int, requests: int = 200) -> list[str]:
    """Queue pages (several orders, scopes and filters) and decision round trips, timed in the test client."""
    import re  # noqa: PLC0415

    from web import create_app  # noqa: PLC0415

    with db.session() as session:
        if find(session, "bench") is None:
            add_user(session, "bench", "bench-password", "moderator")
    app = create_app(Config(database_url=db.url, instance_path=tmp, rules_path=RULES), TESTING=True)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/login", data={"username": "bench", "password": "bench-password", "csrf_token": token})
    first = client.get("/queue")
    assert first.status_code == 200, first.status_code
    csrf = re.search(r'"X-CSRFToken": "([^"]+)"', first.get_data(as_text=True)).group(1)
    from moderation.store.queue import QUEUES, counts  # noqa: PLC0415

    count_ms = {}
    with db.session() as session:
        for name in QUEUES:
            t = time.perf_counter()
            counts(session, None, (name,))
            count_ms[name] = (time.perf_counter() - t) * 1000
        totals = counts(session)
    variants = ["/queue", "/queue?order=newest", "/queue?order=oldest", f"/queue?article={n // PER_ARTICLE // 2}",
                "/queue?rule=personal-attack", "/queue?language=en", "/queue?page=3", "/queue?queue=reported",
                "/queue?queue=approved", "/queue?queue=auto-rejected"]
    for url in variants:  # warm caches and the pipeline once
        assert client.get(url).status_code == 200, url
    pages: list[float] = []
    by_variant: dict[str, list[float]] = {v: [] for v in variants}
    for i in range(requests):
        url = variants[i % len(variants)]
        t = time.perf_counter()
        response = client.get(url)
        ms = (time.perf_counter() - t) * 1000
        assert response.status_code == 200
        pages.append(ms)
        by_variant[url].append(ms)
    body = client.get("/queue").get_data(as_text=True)
    listed = [(int(a), int(b)) for a, b in re.findall(r'data-id="(\d+)" data-seen="(\d+)"', body)]
    cards: list[float] = []
    decisions: list[float] = []
    undos: list[float] = []
    offset = 0
    while len(decisions) < min(requests, 100):
        if not listed:
            offset += 1
            body = client.get(f"/queue?page={offset}").get_data(as_text=True)
            listed = [(int(a), int(b)) for a, b in re.findall(r'data-id="(\d+)" data-seen="(\d+)"', body)]
        comment_id, seen = listed.pop(0)
        t = time.perf_counter()
        assert client.get(f"/queue/comments/{comment_id}?fragment=1").status_code == 200
        cards.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        response = client.post(f"/queue/comments/{comment_id}/decide", headers={"X-CSRFToken": csrf,
                               "Accept": "application/json"}, data={"action": "approve", "seen": seen})
        decisions.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200, response.get_data(as_text=True)
        if len(decisions) % 5 == 0:
            t = time.perf_counter()
            undone = client.post("/queue/undo", headers={"X-CSRFToken": csrf, "Accept": "application/json"},
                                 data={"decisions": ",".join(map(str, response.json["decisions"]))})
            undos.append((time.perf_counter() - t) * 1000)
            assert undone.status_code == 200
    lines = [f"queue sizes {totals}; one count each (cached, refreshed in the background): "
             + ", ".join(f"{name} {ms:.0f} ms" for name, ms in count_ms.items()),
             _fmt("queue page, all variants", pages)]
    lines += [_fmt(f"  {url}", ms) for url, ms in by_variant.items()]
    lines += [_fmt("card (fragment)", cards), _fmt("decision round trip (approve)", decisions),
              _fmt("undo round trip", undos)]
    return lines


def run(url: str | None, n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(url or f"sqlite:///{tmp}/queue.db")
        stored = db.engine.connect().execute(text("SELECT count(*) FROM comments")).scalar()
        if os.environ.get("BENCH_REUSE") and stored >= n:
            # Measure again on what an earlier run wrote (PostgreSQL only: SQLite's file was temporary).
            print(f"## {db.dialect}, {stored:,} comments (written by an earlier run; BENCH_REUSE)")
        else:
            if stored:
                with db.engine.begin() as conn:
                    tables = [r for r in conn.execute(text(
                        "select tablename from pg_tables where schemaname='public' and tablename<>'alembic_version'"
                    )).scalars()]
                    conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            timings = fill(db, n)
            print(f"## {db.dialect}, {n:,} comments (assessed {min(n, DISTINCT):,} distinct texts in "
                  f"{timings['assess']:.0f} s, wrote in {timings['write']:.0f} s)")
        for line in measure(db, Path(tmp), n):
            print(line, flush=True)
        db.dispose()


def main(n: int = 1_000_000, postgres: str | None = None) -> None:
    print(f"# review queue, n={n:,}, {os.cpu_count()} cpus, load {os.getloadavg()[0]:.2f}", flush=True)
    if "sqlite" in os.environ.get("BENCH_QUEUE_BACKENDS", "sqlite,postgresql"):
        run(None, n)
    if postgres:
        run(postgres, n)
    print(f"load afterwards {os.getloadavg()[0]:.2f}")
