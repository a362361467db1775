"""Moderation outcomes: rule-violation frequencies, moderator decision rates, moderator-vs-model agreement."""
from __future__ import annotations

from collections import Counter

import numpy as np
from sklearn.metrics import cohen_kappa_score

from moderation.research.frame import Frame
from moderation.research.threadmetrics import _r

MODEL_DECISIONS = ("approve", "hold", "reject")
HUMAN_DECISIONS = ("approved", "rejected")


def rule_frequencies(frame: Frame) -> list[dict]:
    """Per rule: hits, share of all comments, and how moderators decided the comments it hit."""
    hits: Counter = Counter()
    rejected: Counter = Counter()
    decided: Counter = Counter()
    for rules, human in zip(frame["rules"], frame["human_decision"]):
        for rule in set(rules):
            hits[rule] += 1
            if human:
                decided[rule] += 1
                rejected[rule] += human == "rejected"
    n = max(len(frame), 1)
    return [{"rule": rule, "hits": count, "share_of_comments": _r(count / n), "human_decided": decided[rule],
             "human_rejected_share": _r(rejected[rule] / decided[rule]) if decided[rule] else None}
            for rule, count in hits.most_common()]


def decision_rates(frame: Frame) -> list[dict]:
    """Counts and shares of moderator decisions (with reason codes) and of the model's verdicts."""
    rows = []
    human = frame["human_decision"]
    decided = int((human != "").sum())
    for action in HUMAN_DECISIONS:
        count = int((human == action).sum())
        rows.append({"who": "moderator", "decision": action, "reason_code": "", "comments": count,
                     "share": _r(count / decided) if decided else None})
    reasons = Counter(zip(human[human != ""], frame["reason_code"][human != ""]))
    for (action, reason), count in sorted(reasons.items(), key=lambda kv: -kv[1]):
        if reason:
            rows.append({"who": "moderator", "decision": action, "reason_code": reason, "comments": count,
                         "share": _r(count / decided)})
    model = frame["model_decision"]
    assessed = int((model != "").sum())
    for action in MODEL_DECISIONS:
        count = int((model == action).sum())
        rows.append({"who": "model", "decision": action, "reason_code": "", "comments": count,
                     "share": _r(count / assessed) if assessed else None})
    return rows


def agreement(frame: Frame) -> tuple[list[dict], dict]:
    """Confusion of the model's verdict against the moderator's decision, and agreement with Cohen's kappa.

    The model agrees when it approved what the moderator approved, or held or rejected what the moderator
    rejected (a hold sends the comment to a human, which is the right call for a comment that goes offline).
    """
    both = (frame["human_decision"] != "") & (frame["model_decision"] != "")
    human, model = frame["human_decision"][both], frame["model_decision"][both]
    table = [{"model": m, **{h: int(((model == m) & (human == h)).sum()) for h in HUMAN_DECISIONS}}
             for m in MODEL_DECISIONS]
    n = int(both.sum())
    if not n:
        return table, {"compared": 0, "agreement": None, "kappa": None, "recall_of_rejections": None}
    model_stop = model != "approve"
    human_stop = human == "rejected"
    observed = float((model_stop == human_stop).mean())
    # Both sides all one class: chance agreement is 1 and kappa undefined (scikit-learn would return NaN).
    undefined = len(set(model_stop.tolist()) | set(human_stop.tolist())) < 2
    kappa = None if undefined else float(cohen_kappa_score(model_stop, human_stop))
    recall = float(model_stop[human_stop].mean()) if human_stop.any() else None
    precision = float(human_stop[model_stop].mean()) if model_stop.any() else None
    return table, {"compared": n, "agreement": _r(observed), "kappa": _r(kappa) if kappa is not None else None,
                   "recall_of_rejections": _r(recall) if recall is not None else None,
                   "precision_of_stops": _r(precision) if precision is not None else None}


def rejected_share(frame: Frame) -> np.ndarray:
    """Per row 1.0 rejected, 0.0 approved, NaN undecided: averages of it are rejection rates."""
    human = frame["human_decision"]
    return np.where(human == "rejected", 1.0, np.where(human == "approved", 0.0, np.nan))


def time_to_decision(frame: Frame) -> list[dict]:
    """Hours from arrival on the desk to a moderator's first decision: all comments, then per language."""
    waited = frame["decision_seconds"] / 3600
    names, idx = frame.codes("language")
    groups = [("all", np.ones(len(frame), dtype=bool))] + [(names[i] or "unknown", idx == i)
                                                           for i in range(len(names))]
    rows = []
    for name, mask in groups:
        hours = waited[mask & ~np.isnan(waited)]
        if not len(hours):
            continue
        p50, p90 = np.percentile(hours, [50, 90])
        rows.append({"language": name, "decided_here": int(len(hours)), "median_hours": _r(p50),
                     "p90_hours": _r(p90), "max_hours": _r(hours.max())})
    return rows
