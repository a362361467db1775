"""`python -m bench.learning_curve [--write]`: site-model ROC-AUC and official F1 after 100 ... 5,000 decisions.

On RP-Mod (moderators' rejections) and One Million Posts (moderators' deletions): each size is a prefix of one
seeded shuffle of the corpus' rows to fit (bench/corpora.HELDOUT), measured on its held-out rows beside a plain
TF-IDF + LR trained on the same prefix and the shipped model. `--write` stores the figures as package data
(moderation/models/learning_curve.json), which the model page of the desk shows.
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
from moderation.learning.curve import PUBLISHED, SIZES, learning_curve
from moderation.rules import load_ruleset
from moderation.scoring.estimator import load_model
from moderation.scoring.sklearn import PACKAGE_MODEL, lexicon_from_ruleset

ROOT = Path(__file__).resolve().parent.parent
CORPORA = {"rp-mod-crowd": "RP-Mod (Rheinische Post, moderators' rejections; CC BY-NC-SA: evaluation only)",
           "one-million-posts": "One Million Posts (Der Standard, moderators' deletions; CC BY-NC-SA: evaluation only)"}


def pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("corpora", nargs="*", metavar="CORPUS", help="default: both")
    parser.add_argument("--data", type=Path, default=corpora.default_root())
    parser.add_argument("--write", action="store_true", help=f"store the figures in {PUBLISHED.name}")
    args = parser.parse_args()
    if set(args.corpora) - set(list(CORPORA)):  # argparse's choices refuse an empty list with nargs="*"
        parser.error(f"unknown corpus; choose from {', '.join(list(CORPORA))}")
    lexicon = lexicon_from_ruleset(load_ruleset(ROOT / "rules"))
    started, load_avg = time.perf_counter(), os.getloadavg()
    out = {"command": "python -m bench.learning_curve --write", "measured_at": datetime.now(timezone.utc)
           .isoformat(timespec="minutes"), "shipped_model": load_model(PACKAGE_MODEL)[1].get("version"),
           "sizes": list(SIZES), "corpora": {}}
    print(f"<!-- load average at start: {load_avg} -->")
    for name in args.corpora or list(CORPORA):
        fit, held = corpora.split(name, args.data)
        ship = shipped(held)
        curve = learning_curve(fit, held, lexicon=lexicon, baseline=tfidf)
        out["corpora"][name] = {"title": CORPORA[name], "held_out": corpora.HELDOUT[name][0], "n_heldout": len(held),
                                "shipped": ship, "curve": curve}
        print(f"\n**{CORPORA[name]}**, measured on {len(held):,} held-out rows ({corpora.HELDOUT[name][0]})\n")
        print("| decisions | site model ROC-AUC | site model official F1 | TF-IDF + LR ROC-AUC | TF-IDF + LR official F1 |")
        print("| --- | --- | --- | --- | --- |")
        for r in curve:
            m, b = r.get("site_model", {}), r.get("baseline", {})
            print(f"| {r['decisions']:,} | {pct(m.get('roc_auc'))} | {pct(m.get('f1_official'))} | "
                  f"{pct(b.get('roc_auc'))} | {pct(b.get('f1_official'))} |" + (f" {r['error']}" if "error" in r else ""))
        print(f"| shipped model (no decisions) | {pct(ship['roc_auc'])} | {pct(ship['f1_official'])} | | |", flush=True)
    out["seconds"] = round(time.perf_counter() - started)
    print(f"\n({out['seconds']} s)")
    if args.write:
        PUBLISHED.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
