"""Model speed: shipped model batch/single/load on one core; Detoxify scorer overhead over Detoxify itself."""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from bench.generate import texts

SIZES = {"tiny": dict(hidden=32, layers=2, heads=2, positions=128),
         "full-size": dict(hidden=768, layers=12, heads=12, positions=512)}


def _one_core() -> None:
    # Throughput is per core: keep BLAS/torch from spreading over the machine.
    try:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    except (AttributeError, OSError):
        pass


def sklearn_speed(n: int) -> list[str]:
    start = time.perf_counter()
    from moderation.scoring.sklearn import PACKAGE_MODEL, SklearnScorer  # numpy and mmh3 only

    imports = time.perf_counter() - start
    start = time.perf_counter()
    scorer = SklearnScorer.from_file(PACKAGE_MODEL)
    load = time.perf_counter() - start
    data = [t for t, _ in texts(n)]
    scorer.score(data[:1000])  # warm the lexicon's token cache as a running process would have it
    start = time.perf_counter()
    for i in range(0, n, 1000):
        scorer.score(data[i:i + 1000])
    batch = time.perf_counter() - start
    singles = data[:2000]
    start = time.perf_counter()
    for t in singles:
        scorer.score([t])
    single = (time.perf_counter() - start) / len(singles)
    size = PACKAGE_MODEL.stat().st_size / 2 ** 20
    return [f"shipped model ({size:.1f} MB, {scorer.version}): load {load * 1000:.0f} ms "
            f"(+ {imports * 1000:.0f} ms importing the scorer's modules)",
            f"  batch of 1000: {n / batch:,.0f} comments/s ({n:,} in {batch:.2f} s); single comment {single * 1000:.2f} ms"]


def detoxify_overhead(n: int) -> list[str]:
    import torch
    from detoxify import Detoxify

    from bench.detoxify_model import build
    from moderation.scoring.detoxify import load

    torch.set_num_threads(1)
    out = []
    data = [t for t, _ in texts(n)]
    os.environ["HF_HUB_OFFLINE"] = "1"
    for name, size in SIZES.items():
        with tempfile.TemporaryDirectory() as folder:
            checkpoint, config_dir = build(Path(folder), **size)
            direct = Detoxify(checkpoint=str(checkpoint), huggingface_config_path=str(config_dir))
            scorer = load("", str(checkpoint), str(config_dir), "cpu", 1)
            sample = data[: (n if name == "tiny" else max(64, n // 20))]
            timings = {}
            for label, fn in (("direct", lambda b: direct.predict(b)), ("scorer", scorer.score)):
                fn(sample[:32])
                start = time.perf_counter()
                for i in range(0, len(sample), 32):  # the same batches of 32, in input order for both
                    fn(sample[i:i + 32])
                timings[label] = time.perf_counter() - start
            over = timings["scorer"] / timings["direct"] - 1
            out.append(f"detoxify {name} random model ({checkpoint.stat().st_size / 2**20:.1f} MB), {len(sample)} "
                       f"comments, batches of 32: Detoxify.predict {len(sample) / timings['direct']:,.0f}/s, "
                       f"scorer {len(sample) / timings['scorer']:,.0f}/s, overhead {over:+.1%}")
    return out


def main(n: int, postgres_url: str | None = None) -> None:
    _one_core()
    n = min(n, 20_000)
    print(f"load average: {os.getloadavg()}")
    for line in sklearn_speed(n):
        print(line, flush=True)
    for line in detoxify_overhead(min(n, 2000)):
        print(line, flush=True)
