"""Export rows with provenance: every score with its model and version, rule hits with the rule-set version,
decisions with reason codes; written as CSV or Parquet."""
from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import aliased

from moderation.research import require

Pseudonym = Callable[[str | None], str | None]


def _keep(name: str | None) -> str | None:
    return name


def decisions_by_comment(session, pseudonym: Pseudonym) -> dict[int, list[dict]]:  # noqa: ANN001
    """The whole decision log, per comment, oldest first (undo rows included: the log is the record)."""
    from moderation.store import Decision  # noqa: PLC0415

    out: dict[int, list[dict]] = defaultdict(list)
    for d in session.scalars(select(Decision).order_by(Decision.id)):
        out[d.comment_id].append({"action": d.action, "reason_code": d.reason_code, "origin": d.origin,
                                  "actor": pseudonym(d.actor) if d.origin == "moderator" else d.actor,
                                  "at": d.created_at.isoformat() if d.created_at else None,
                                  **({"undoes": d.undoes_id} if d.undoes_id else {})})
    return out


def _hit(hit: dict, shadow: bool, ruleset_version: str) -> dict:
    """A stored rule hit with the rule-set version that produced it (shadow: experimental, recorded only)."""
    return {"rule_id": hit.get("rule"), "action": hit.get("action"), "reason": hit.get("reason"),
            "score": hit.get("score"), "threshold": hit.get("threshold"), "shadow": shadow,
            "ruleset_version": ruleset_version}


def provenance_rows(db, pseudonym: Pseudonym = _keep) -> list[dict]:  # noqa: ANN001 - moderation.store.Database
    """One row per stored comment with its thread position, newest assessment, decision log and sentiment."""
    from moderation.research.frame import roots  # noqa: PLC0415
    from moderation.research.sentimentmodel import default  # noqa: PLC0415
    from moderation.store import Article, Comment, TriageResult  # noqa: PLC0415

    parent = aliased(Comment)
    query = (select(Comment, Article.external_id, Article.title, parent.external_id, TriageResult)
             .join(Article, Comment.article_id == Article.id)
             .outerjoin(parent, Comment.parent_id == parent.id)
             .outerjoin(TriageResult, TriageResult.id == Comment.triage_id)
             .order_by(Comment.id).execution_options(yield_per=5000))
    rows, ids = [], []
    with db.session() as session:
        decisions = decisions_by_comment(session, pseudonym)
        for c, art_ext, title, parent_ext, t in session.execute(query):
            ids.append((c.id, c.parent_id))
            row = {"source": c.source, "id": c.external_id, "article_id": art_ext, "article_title": title,
                   "parent_id": parent_ext or c.parent_external_id, "depth": c.depth,
                   "author": pseudonym(c.author), "created_at": c.created_at.isoformat() if c.created_at else None,
                   "language": c.language, "status": c.status, "text": c.text}
            if t is not None:
                row.update(model_decision=t.decision, priority=t.priority, risk=t.risk,
                           ruleset_version=t.ruleset_version, assessed_at=t.created_at.isoformat())
                for scorer, labels in sorted((t.scores or {}).items()):
                    row[f"scorer.{scorer}.version"] = (t.scorer_versions or {}).get(scorer)
                    for label_name, value in sorted((labels or {}).items()):
                        row[f"score.{scorer}.{label_name}"] = value
                hits = [_hit(h, False, t.ruleset_version) for h in t.hits or ()]
                hits += [_hit(h, True, t.ruleset_version) for h in t.shadow_hits or ()]
                row["rule_hits"] = json.dumps(hits, ensure_ascii=False)
                row["failures"] = json.dumps(t.failures or [], ensure_ascii=False)
            log = decisions.get(c.id, [])
            effective = [d for d in log if d["action"] != "undo"]
            row["decision"] = effective[-1]["action"] if effective else None
            row["reason_code"] = effective[-1]["reason_code"] if effective else None
            row["decisions"] = json.dumps(log, ensure_ascii=False)
            rows.append(row)
    if rows:
        import numpy as np  # noqa: PLC0415

        index = {cid: k for k, (cid, _) in enumerate(ids)}
        parent_rows = np.array([index.get(p, -1) if p else -1 for _, p in ids], dtype=np.int64)
        root = roots(parent_rows)
        scorer = default()
        scores = scorer.score([r["text"] for r in rows], [r["language"] for r in rows])
        for k, row in enumerate(rows):
            row["conversation_id"] = rows[root[k]]["id"]
            row["sentiment"] = None if scores[k] != scores[k] else round(float(scores[k]), 4)
            row["sentiment_model"] = scorer.versions.get(row["language"] or "de") if row["sentiment"] is not None \
                else None
    return rows


def columns(rows: list[dict]) -> list[str]:
    """All keys in first-seen order (rows differ when scorers changed between assessments)."""
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row))
    return list(seen)


def write_csv(rows: list[dict], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns(rows), restval="")
        writer.writeheader()
        writer.writerows(rows)


def write_parquet(rows: list[dict], out: Path) -> None:
    pa, pq = require("pyarrow", "Parquet export"), require("pyarrow.parquet", "Parquet export")

    out.parent.mkdir(parents=True, exist_ok=True)
    names = columns(rows)
    table = pa.Table.from_pylist([{k: row.get(k) for k in names} for row in rows]) if rows else pa.table({})
    pq.write_table(table, out)
