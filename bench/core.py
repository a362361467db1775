"""Throughput of the core: rule engine alone, full triage, import; each prints comments per second."""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from bench.generate import texts, write_jsonl
from moderation.config import PROJECT_ROOT
from moderation.assess.pipeline import Item, Pipeline
from moderation.services.jobs import triage_stored
from moderation.rules import CommentContext, load_ruleset
from moderation.scoring.lexicon import LexiconScorer

RULES = Path(os.environ.get("BENCH_RULES", PROJECT_ROOT / "rules"))


def _rate(n: int, seconds: float, cpu: float | None = None) -> str:
    # CPU time too: on a shared machine it shows what one core does, whatever else runs beside it.
    on_cpu = f", {n / cpu:,.0f}/s of CPU time" if cpu else ""
    return f"{n / seconds:,.0f} comments/s ({n:,} in {seconds:.2f} s{on_cpu})"


def rule_engine(n: int) -> str:
    """Rules alone on one core: tokenising, word lists, links, addressing; model scores given as inputs."""
    rs = load_ruleset(RULES)
    data = texts(n)
    zeros = {label: 0.0 for label in rs.model_labels}
    start, cpu = time.perf_counter(), time.process_time()
    hits = 0
    for text, lang in data:
        hits += bool(rs.evaluate(CommentContext(text, language=lang, scores=zeros)).hits)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    return f"rule engine: {_rate(n, elapsed, cpu)}; {hits / n:.1%} with a hit"


def triage(n: int, batch: int = 1000) -> str:
    """Language detection + lexicon scorer + rules + triage policy, in memory, one process."""
    rs = load_ruleset(RULES)
    pipeline = Pipeline(rs, [LexiconScorer(rs)])
    data = [Item(text) for text, _ in texts(n)]
    start, cpu = time.perf_counter(), time.process_time()
    decisions: dict[str, int] = {}
    for i in range(0, n, batch):
        for a in pipeline.assess(data[i:i + batch]):
            decisions[a.decision.value] = decisions.get(a.decision.value, 0) + 1
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    return f"triage (language + lexicon + rules + policy): {_rate(n, elapsed, cpu)}; {decisions}"


def import_and_store(n: int, url: str | None = None) -> list[str]:
    """Parse a JSONL file and write it (threads rebuilt); then triage everything stored, end to end."""
    from moderation.importers import parse  # noqa: PLC0415
    from moderation.store import Database  # noqa: PLC0415
    from moderation.store.loading import load_batch  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        path = write_jsonl(Path(tmp) / "bench.jsonl", n)
        db = Database(url or f"sqlite:///{tmp}/bench.db")
        label = db.dialect
        start, cpu = time.perf_counter(), time.process_time()
        batch = parse(path)
        parsed = time.perf_counter()
        with db.session() as session:
            report = load_batch(session, batch)
        loaded, load_cpu = time.perf_counter(), time.process_time() - cpu
        rs = load_ruleset(RULES)
        cpu = time.process_time()
        summary = triage_stored(db, Pipeline(rs, [LexiconScorer(rs)]), batch_size=1000)
        triaged, triage_cpu = time.perf_counter(), time.process_time() - cpu
        db.dispose()
    # CPU time is this process's only: for PostgreSQL the server's share is not in it.
    return [f"import into {label}: {_rate(n, loaded - start, load_cpu)} (parse {parsed - start:.2f} s, write "
            f"{loaded - parsed:.2f} s; {report.replies:,} replies)",
            f"triage stored in {label} (read, assess, write results): "
            f"{_rate(summary['triaged'], triaged - loaded, triage_cpu)}"]


def main(n: int = 100_000, postgres: str | None = None) -> None:
    print(f"# core benchmarks, n={n:,}, python {os.sys.version.split()[0]}, {os.cpu_count()} cpus")
    print(rule_engine(n))
    print(triage(n))
    for line in import_and_store(n):
        print(line)
    if postgres:
        for line in import_and_store(n, postgres):
            print(line)
