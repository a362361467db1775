"""`python -m bench.run [stages] [import] [core] [tuning] [load] [queue] [langid] [--n N] [--postgres URL]`: run benchmarks and print their figures."""
from __future__ import annotations

import argparse

from bench import analysis, core, langid, load, models, queue, research, sentiment, stages, tuning

SUITES = {"stages": stages.main, "core": core.main, "tuning": tuning.main, "load": load.main, "queue": queue.main,
          "analysis": analysis.main, "sentiment": sentiment.main, "models": models.main, "research": research.main,
          "langid": langid.main, "import": stages.import_main}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("suites", nargs="*", help=f"any of {', '.join(sorted(SUITES))} (default: stages)")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--postgres", help="also measure against this PostgreSQL URL")
    args = parser.parse_args()
    unknown = set(args.suites) - set(SUITES)
    if unknown:  # checked here: argparse rejects an empty list when choices are given with nargs="*"
        parser.error(f"unknown suites: {', '.join(sorted(unknown))}")
    for name in args.suites or ["stages"]:
        SUITES[name](args.n, args.postgres)


if __name__ == "__main__":
    main()
