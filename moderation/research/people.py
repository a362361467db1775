"""Who talks to whom: the reply network between authors and a profile per author."""
from __future__ import annotations

import numpy as np

from moderation.research.frame import Frame
from moderation.research.threadmetrics import TOXIC, _r, nanmean_by


def _authors(frame: Frame) -> tuple[np.ndarray, np.ndarray]:
    """Distinct authors and each row's author index (anonymous rows are author '')."""
    return frame.codes("author")


def network(frame: Frame) -> list[dict]:
    """Edges replier -> author replied to, with the number of replies and their mean toxicity; self-replies kept."""
    names, who = _authors(frame)
    parent = frame["parent"]
    named = (names != "")[who] if len(names) else np.zeros(len(frame), dtype=bool)
    rep = np.flatnonzero((parent >= 0) & named & named[np.maximum(parent, 0)])
    if not len(rep):
        return []
    src, dst = who[rep], who[parent[rep]]
    key = src.astype(np.int64) * len(names) + dst
    pairs, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    tox = nanmean_by(inverse, frame["toxicity"][rep], len(pairs))
    sent = nanmean_by(inverse, frame["sentiment"][rep], len(pairs))
    pair_set = set(pairs.tolist())
    rows = []
    for i in np.argsort(-counts, kind="stable"):
        s, d = divmod(int(pairs[i]), len(names))
        rows.append({"source": names[s], "target": names[d], "replies": int(counts[i]),
                     "reciprocated": (d * len(names) + s) in pair_set, "mean_toxicity": _r(tox[i]),
                     "mean_sentiment": _r(sent[i])})
    return rows


def network_summary(edges: list[dict]) -> dict:
    """Nodes, edges, the share of edges answered in the other direction, and the share of self-replies."""
    if not edges:
        return {"authors_in_network": 0, "edges": 0, "reciprocity": None, "self_reply_share": None}
    nodes = {e["source"] for e in edges} | {e["target"] for e in edges}
    other = [e for e in edges if e["source"] != e["target"]]
    return {"authors_in_network": len(nodes), "edges": len(edges),
            "reciprocity": _r(sum(e["reciprocated"] for e in other) / len(other)) if other else None,
            "self_reply_share": _r(sum(e["replies"] for e in edges if e["source"] == e["target"])
                                   / sum(e["replies"] for e in edges))}


def profiles(frame: Frame) -> list[dict]:
    """Per author: comments, replies written and received, articles, toxicity, sentiment, decisions, active span."""
    names, who = _authors(frame)
    k = len(names)
    parent = frame["parent"]
    rep = parent >= 0
    comments = np.bincount(who, minlength=k)
    replies = np.bincount(who[rep], minlength=k)
    received = np.bincount(who[parent[rep]], minlength=k)
    tox = nanmean_by(who, frame["toxicity"], k)
    with np.errstate(invalid="ignore"):
        toxic = np.bincount(who, (frame["toxicity"] >= TOXIC).astype(np.int64), minlength=k)
    sent = nanmean_by(who, frame["sentiment"], k)
    rejected = np.bincount(who, (frame["human_decision"] == "rejected").astype(np.int64), minlength=k)
    decided = np.bincount(who, (frame["human_decision"] != "").astype(np.int64), minlength=k)
    pairs = np.unique(who.astype(np.int64) * (1 << 32) + frame.codes("article")[1])
    articles = np.bincount((pairs >> 32).astype(np.int64), minlength=k)
    created = frame["created"]
    ok = ~np.isnan(created)
    first, last = np.full(k, np.inf), np.full(k, -np.inf)
    np.minimum.at(first, who[ok], created[ok])
    np.maximum.at(last, who[ok], created[ok])
    rows = []
    for i in np.argsort(-comments, kind="stable"):
        if names[i] == "":
            continue
        rows.append({"author": names[i], "comments": int(comments[i]), "replies_written": int(replies[i]),
                     "replies_received": int(received[i]), "articles": int(articles[i]),
                     "mean_toxicity": _r(tox[i]), "toxic_comments": int(toxic[i]), "mean_sentiment": _r(sent[i]),
                     "human_decisions": int(decided[i]), "rejected": int(rejected[i]),
                     "active_days": _r((last[i] - first[i]) / 86400, 2) if np.isfinite(first[i]) else None})
    return rows
