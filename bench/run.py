"""`python -m bench.run [stages] [core] [tuning] [load] [queue] [--n N] [--postgres URL]`: run benchmarks and print their figures."""
from __future__ import annotations

import argparse

from bench import analysis, core, load, models, queue, sentiment, stages, tuning

SUITES = {"stages": stages.main, "core": core.main, "tuning": tuning.main, "load": load.main, "queue": queue.main,
          "analysis": analysis.main, "sentiment": sentiment.main, "models": models.main}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("suites", nargs="*", default=["stages"], choices=sorted(SUITES))
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--postgres", help="also measure against this PostgreSQL URL")
    args = parser.parse_args()
    for name in args.suites:
        SUITES[name](args.n, args.postgres)


if __name__ == "__main__":
    main()
