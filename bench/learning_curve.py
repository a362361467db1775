"""`python -m bench.learning_curve [--write]`: site-model ROC-AUC and official F1 after 100 ... 5,000 decisions.

On RP-Mod (moderators' rejections) and One Million Posts (moderators' deletions): each size is a prefix of a
seeded shuffle of the corpus' rows to fit (bench/corpora.HELDOUT), measured on its held-out rows beside a plain
TF-IDF + LR trained on the same prefix, the site model trained from scratch (`--no-prior`) and the shipped model;
each figure is the mean over `--seeds` shuffles, with the lowest and highest beside it. `--write` stores the
figures as package data (moderation/models/learning_curve.json), which the model page of the desk shows.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path

from bench import corpora
from bench.accuracy import shipped, tfidf
from moderation.learning.curve import PUBLISHED, SIZES, averaged, learning_curve
from moderation.rules import load_ruleset
from moderation.scoring.estimator import load_model
from moderation.scoring.sklearn import PACKAGE_MODEL, lexicon_from_ruleset

ROOT = Path(__file__).resolve().parent.parent
CORPORA = {"rp-mod-crowd": "RP-Mod (Rheinische Post, moderators' rejections; CC BY-NC-SA: evaluation only)",
           "one-million-posts": "One Million Posts (Der Standard, moderators' deletions; CC BY-NC-SA: evaluation only)"}


def pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}"


def cell(metrics: dict, key: str) -> str:
    """Mean, and the range over the shuffles when there are several."""
    low, high = metrics.get(f"{key}_min"), metrics.get(f"{key}_max")
    return pct(metrics.get(key)) + (f" ({pct(low)}–{pct(high)})" if low is not None and low != high else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("corpora", nargs="*", metavar="CORPUS", help="default: both")
    parser.add_argument("--data", type=Path, default=corpora.default_root())
    parser.add_argument("--write", action="store_true", help=f"store the figures in {PUBLISHED.name}")
    parser.add_argument("--seeds", type=int, default=3, help="shuffles to average over (default 3)")
    args = parser.parse_args()
    if set(args.corpora) - set(list(CORPORA)):  # argparse's choices refuse an empty list with nargs="*"
        parser.error(f"unknown corpus; choose from {', '.join(list(CORPORA))}")
    lexicon = lexicon_from_ruleset(load_ruleset(ROOT / "rules"))
    started, load_avg = time.perf_counter(), os.getloadavg()
    out = {"command": "python -m bench.learning_curve --write", "measured_at": datetime.now(timezone.utc)
           .isoformat(timespec="minutes"), "shipped_model": load_model(PACKAGE_MODEL)[1].get("version"),
           "sizes": list(SIZES), "seeds": args.seeds, "corpora": {}}
    print(f"<!-- load average at start: {load_avg} -->")
    prior = load_model(PACKAGE_MODEL)[0]
    for name in args.corpora or list(CORPORA):
        fit, held = corpora.split(name, args.data)
        ship = shipped(held)
        runs = [learning_curve(fit, held, lexicon=lexicon, baseline=tfidf, seed=seed, prior=prior)
                for seed in range(args.seeds)]
        plain = [learning_curve(fit, held, lexicon=lexicon, seed=seed) for seed in range(args.seeds)]
        curve = [{**row, "from_scratch": scratch.get("site_model", {})}
                 for row, scratch in zip(averaged(runs), averaged(plain))]
        out["corpora"][name] = {"title": CORPORA[name], "held_out": corpora.HELDOUT[name][0], "n_heldout": len(held),
                                "shipped": ship, "curve": curve}
        print(f"\n**{CORPORA[name]}**, measured on {len(held):,} held-out rows ({corpora.HELDOUT[name][0]})\n")
        print("| decisions | site model ROC-AUC | site model official F1 | from scratch ROC-AUC "
              "| from scratch official F1 | TF-IDF + LR ROC-AUC | TF-IDF + LR official F1 |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for r in curve:
            m, s, b = r.get("site_model", {}), r["from_scratch"], r.get("baseline", {})
            cells = " | ".join(cell(x, k) for x in (m, s, b) for k in ("roc_auc", "f1_official"))
            print(f"| {r['decisions']:,} | {cells} |" + (f" {r['error']}" if "error" in r else ""))
        print(f"| shipped model (no decisions) | {pct(ship['roc_auc'])} | {pct(ship['f1_official'])} | | | | |",
              flush=True)
    out["seconds"] = round(time.perf_counter() - started)
    print(f"\n({out['seconds']} s)")
    if args.write:
        PUBLISHED.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
