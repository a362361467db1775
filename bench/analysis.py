"""`python -m bench.run analysis --n 1000000`: the whole `moderation analyze` path on generated threads, per stage."""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from bench.generate import write_jsonl
from moderation.research.frame import from_records, triage_records
from moderation.research.report import write_report
from moderation.research.results import compute
from moderation.research.sources import file_records
from moderation.config import PROJECT_ROOT, Config
from moderation.assess.pipeline import Pipeline

RULES = Path(os.environ.get("BENCH_RULES", PROJECT_ROOT / "rules"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))


def run(n: int, folder: Path) -> dict[str, float]:
    """Seconds per stage: read the import file, score (rules + lexicon scorer), analyse, write the report."""
    path = write_jsonl(folder / "comments.jsonl", n)
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    records, provenance = file_records(path)
    seconds["read and validate the file"] = time.perf_counter() - start
    pipeline = Pipeline.from_config(Config(rules_path=RULES))
    start = time.perf_counter()
    triage_records(records, pipeline, workers=WORKERS)
    seconds[f"score: language, lexicon scorer, rules ({WORKERS} processes)"] = time.perf_counter() - start
    start = time.perf_counter()
    frame = from_records(records, provenance)
    del records
    seconds["build the table (threads, depths)"] = time.perf_counter() - start
    stages: dict[str, float] = {}
    last = [time.perf_counter(), None]

    def step(name: str) -> None:
        now = time.perf_counter()
        if last[1]:
            stages[last[1]] = now - last[0]
        last[:] = [now, name]

    results = compute(frame, step=step, workers=WORKERS)
    step("")
    seconds.update({f"analyse: {k}": v for k, v in stages.items()})
    start = time.perf_counter()
    write_report(results, folder / "report")
    seconds["write the report (HTML, charts, CSV)"] = time.perf_counter() - start
    return seconds


def main(n: int, postgres_url: str | None = None) -> None:  # noqa: ARG001 - the suite signature
    print(f"load before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        seconds = run(n, Path(tmp))
    for name, value in seconds.items():
        print(f"{name}: {value:,.1f} s")
    total = sum(seconds.values())
    scoring = sum(v for k, v in seconds.items() if k.startswith("score"))
    print(f"total: {total:,.1f} s for {n:,} comments ({n / total:,.0f} comments/s); "
          f"without scoring: {total - scoring:,.1f} s; load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main(int(os.environ.get("BENCH_N", "100000")))
