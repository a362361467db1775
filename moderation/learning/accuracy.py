"""How good the desk's judgement is on this site: each model version's held-out accuracy, and the risk order's AUC."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from sklearn.metrics import roc_auc_score
from sqlalchemy import select

from moderation.learning import training as learning
from moderation.learning.registry import version_scorer
from moderation.scoring.sklearn import PACKAGE_MODEL, SklearnScorer, model_version
from moderation.store import Comment, TriageResult
from moderation.store import models_registry as registry

if TYPE_CHECKING:
    from moderation.store import Database

MIN_HELDOUT = 10  # fewer held-out decisions (or one class only) give no figure, not a misleading one


def risk_order(db: "Database") -> dict:
    """ROC-AUC of the stored triage risk against moderators' rejections (1: each rejection above each approval).

    Each human-decided comment counts once, with the risk of its newest triage result and its final status.
    """
    query = (select(TriageResult.risk, Comment.status)
             .join(TriageResult, TriageResult.id == Comment.triage_id)
             .where(Comment.decided_by_human.is_(True), Comment.status.in_(("approved", "rejected"))))
    with db.session() as session:
        rows = session.execute(query).all()
    risk = np.array([r for r, _ in rows], dtype=np.float64)
    rejected = np.array([s == "rejected" for _, s in rows], dtype=np.int8)
    n, k = len(rows), int(rejected.sum())
    auc = float(roc_auc_score(rejected, risk)) if 0 < k < n else None
    distinct = len(np.unique(risk)) if n else 0
    return {"decided": n, "rejected": k, "auc": round(auc, 4) if auc is not None else None,
            "distinct_risks": distinct}


def _card_metrics(card: dict) -> dict | None:
    """The toxicity label's held-out figures from a model card (None when the card has none)."""
    m = (card.get("metrics_heldout") or {}).get("toxicity")
    return {k: m.get(k) for k in ("n", "roc_auc", "f1_official", "f1_macro")} if m else None


def _site_metrics(scorer: SklearnScorer, held: learning.Dataset) -> dict | None:
    truth = held.column("toxicity")
    if len(held) < MIN_HELDOUT or len(set(truth.tolist())) < 2:
        return None
    m = learning.evaluate(scorer.model, held, float(scorer.card.get("threshold", 0.5)))
    return {k: m.get(k) for k in ("n", "roc_auc", "f1_official", "f1_macro")}


def versions(db: "Database") -> list[dict]:
    """Shipped model and every registered version: name as scores record it, card figures, this site's figures.

    This site's figures are measured on the held-out fifth of its decisions, which no site version trained on.
    """
    held = learning.from_decisions(db, heldout=True)
    rows = []
    if PACKAGE_MODEL.is_file():
        shipped = SklearnScorer.from_file(PACKAGE_MODEL)
        rows.append({"version": shipped.version, "registry": None, "card": _card_metrics(shipped.card),
                     "site": _site_metrics(shipped, held), "created_at": shipped.card.get("created_at")})
    with db.session() as session:
        for row in registry.all_versions(session):
            entry = {"version": model_version(row.card or {}, row.sha256), "registry": row.version,
                     "card": _card_metrics(row.card or {}), "site": None,
                     "created_at": row.created_at.isoformat() if row.created_at else None}
            try:
                scorer = version_scorer(session, row.version)
            except (OSError, ValueError, KeyError) as exc:
                entry["error"] = type(exc).__name__  # the message may name a file; the type says enough here
            else:
                if scorer:
                    entry.update(version=scorer.version, site=_site_metrics(scorer, held))
            rows.append(entry)
    return rows


def heldout_size(db: "Database") -> dict:
    """Held-out decisions and how many of them moderators rejected."""
    held = learning.from_decisions(db, heldout=True)
    return {"n": len(held), "rejected": int(np.nansum(held.column("toxicity"))) if len(held) else 0}
