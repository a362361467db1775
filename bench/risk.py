"""Risk against moderators' decisions: the ranking AUC of the graded risk (assess/risk.py) and of the old
risk (the highest hit confidence or risk-label score), on the samples and on RP-Mod (Rheinische Post moderators'
decisions; CC BY-NC-SA, evaluation only).

    PYTHONPATH=. python -m bench.risk [--rows 3000]
"""
from __future__ import annotations

import argparse
import gzip
import json
import random
import tempfile
import time
from pathlib import Path

from sklearn.metrics import roc_auc_score
from sqlalchemy import select

from moderation.assess.pipeline import RISK_LABELS, Pipeline
from moderation.assess.risk import ranking_auc
from moderation.config import Config
from moderation.importers import parse_batches
from moderation.rules import load_ruleset
from moderation.services.jobs import triage_stored
from moderation.store import Comment, Database, TriageResult
from moderation.store.loading import load_batch

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"


def _old_risk(hits: list[dict], scores: dict) -> float:
    """The risk before grading: the strongest single piece of evidence."""
    values = [h["confidence"] for h in hits if h["action"] != "approve"]
    values += [v for s in scores.values() for k, v in s.items() if k in RISK_LABELS]
    return max(values, default=0.0)


def measure(paths: list[Path]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/risk.db")
        for path in paths:
            with db.session() as session:
                for batch in parse_batches(path):
                    load_batch(session, batch)
        started = time.perf_counter()
        triage_stored(db, Pipeline.from_config(Config(database_url=db.url, rules_path=ROOT / "rules"),
                                               load_ruleset(ROOT / "rules")))
        seconds = time.perf_counter() - started
        with db.session() as s:
            graded = ranking_auc(s)
            rows = s.execute(select(Comment.status, Comment.risk, TriageResult.hits, TriageResult.scores,
                                    TriageResult.decision).join(TriageResult, TriageResult.id == Comment.triage_id)
                             .where(Comment.decided_by_human.is_(True))).all()
        db.dispose()
    labels = [r.status == "rejected" for r in rows]
    old = [_old_risk(r.hits, r.scores) for r in rows]
    flagged = [r for r in rows if r.decision != "approve"]
    return {"decided": graded["decided"], "rejected": graded["rejected"], "auc_graded": round(graded["auc"], 4),
            "auc_old": round(float(roc_auc_score(labels, old)), 4),
            "held_or_rejected_by_rules": len(flagged),
            "distinct_risks_among_them": len({round(r.risk, 6) for r in flagged}),
            "distinct_old_risks_among_them": len({round(_old_risk(r.hits, r.scores), 6) for r in flagged}),
            "triage_seconds": round(seconds, 1)}


def rp_mod(rows: int, out: Path) -> Path:
    """A sample of RP-Mod as import rows: each comment its own article (RP-Mod has no threads or authors)."""
    with gzip.open(DATA / "rp-mod-crowd" / "RP-Mod-train.csv.gz", "rt", encoding="utf-8") as fh:
        import csv  # noqa: PLC0415

        data = [r for r in csv.DictReader(fh) if r["text"].strip()]
    picked = random.Random(14).sample(data, rows)
    with out.open("w", encoding="utf-8") as fh:
        for i, r in enumerate(picked):
            fh.write(json.dumps({"id": f"rp-{i}", "article_id": f"rp-a-{i}", "text": r["text"], "language": "de",
                                 "decision": "rejected" if float(r["label"]) >= 0.5 else "approved"}) + "\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=3000)
    args = parser.parse_args()
    print("samples", json.dumps(measure(sorted((ROOT / "samples").glob("*.jsonl")))))
    with tempfile.TemporaryDirectory() as tmp:
        print(f"rp-mod ({args.rows} rows, seed 14)", json.dumps(measure([rp_mod(args.rows, Path(tmp) / "rp.jsonl")])))


if __name__ == "__main__":
    main()
