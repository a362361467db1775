"""Thread metrics: size, depth, breadth, reply latency, escalation, and toxicity and sentiment by depth."""
from __future__ import annotations

import numpy as np

from moderation.research.frame import Frame

ESCALATION_MARGIN = 0.1  # a reply escalates when its toxicity exceeds its parent's by more than this
TOXIC = 0.5  # toxicity from which a comment counts as toxic
MAX_DEPTH_BUCKET = 10  # depths from here are pooled into one row


def nanmean_by(keys: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Mean of the non-NaN values per key 0..size-1 (NaN where a key has none)."""
    ok = ~np.isnan(values)
    total = np.bincount(keys[ok], values[ok], minlength=size)
    count = np.bincount(keys[ok], minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def latency(frame: Frame) -> np.ndarray:
    """Seconds from the parent to each reply (NaN for roots, unknown times, and clock skew below zero)."""
    parent = frame["parent"]
    out = np.full(len(frame), np.nan)
    rep = parent >= 0
    out[rep] = frame["created"][rep] - frame["created"][parent[rep]]
    out[out < 0] = np.nan
    return out


def escalated(frame: Frame) -> np.ndarray:
    """True for a reply more toxic than its parent by more than the margin."""
    parent = frame["parent"]
    tox = frame["toxicity"]
    out = np.zeros(len(frame), dtype=bool)
    rep = parent >= 0
    with np.errstate(invalid="ignore"):
        out[rep] = tox[rep] > tox[parent[rep]] + ESCALATION_MARGIN
    return out


def escalation_runs(frame: Frame) -> np.ndarray:
    """Per comment: how many escalating steps in a row lead to it (0 when it does not escalate)."""
    esc = escalated(frame)
    run = np.zeros(len(frame), dtype=np.int32)
    depth = frame["depth"] - frame["depth"][frame["root"]]  # depth within the (possibly filtered) thread
    parent = frame["parent"]
    for d in range(1, int(depth.max(initial=0)) + 1):  # parents are settled one level before their replies
        rows = np.flatnonzero((depth == d) & esc)
        run[rows] = run[parent[rows]] + 1
    return run


def chains(frame: Frame, min_comments: int = 3) -> list[dict]:
    """Escalating chains: paths of at least `min_comments` comments, each more toxic than the one it answers."""
    run = escalation_runs(frame)
    parent = frame["parent"]
    extends = np.zeros(len(frame), dtype=bool)  # some reply continues this comment's run
    rep = np.flatnonzero(run > 0)
    extends[parent[rep]] = True
    ends = np.flatnonzero((run >= min_comments - 1) & ~(extends & (run > 0)))
    out = []
    for end in ends[np.argsort(-run[ends], kind="stable")]:
        path = [int(end)]
        for _ in range(int(run[end])):
            path.append(int(parent[path[-1]]))
        path.reverse()
        out.append({"article": frame["article"][end], "comments": len(path),
                    "ids": " > ".join(frame["id"][path]),
                    "toxicity": " > ".join(f"{frame['toxicity'][k]:.2f}" for k in path)})
    return out


def per_thread(frame: Frame) -> list[dict]:
    """One row per thread (a comment on the article and all replies below it)."""
    root = frame["root"]
    threads, inverse = np.unique(root, return_inverse=True)
    k = len(threads)
    rel_depth = frame["depth"] - frame["depth"][root]
    size = np.bincount(inverse, minlength=k)
    depth = np.zeros(k, dtype=np.int64)
    np.maximum.at(depth, inverse, rel_depth)
    level_keys, level_counts = np.unique(inverse.astype(np.int64) * 100_000 + rel_depth, return_counts=True)
    breadth = np.zeros(k, dtype=np.int64)
    np.maximum.at(breadth, level_keys // 100_000, level_counts)
    created = frame["created"]
    first = np.full(k, np.inf)
    last = np.full(k, -np.inf)
    ok = ~np.isnan(created)
    np.minimum.at(first, inverse[ok], created[ok])
    np.maximum.at(last, inverse[ok], created[ok])
    tox_max = np.full(k, np.nan)
    has_tox = ~np.isnan(frame["toxicity"])
    tox_max_fill = np.full(k, -np.inf)
    np.maximum.at(tox_max_fill, inverse[has_tox], frame["toxicity"][has_tox])
    tox_max[np.isfinite(tox_max_fill)] = tox_max_fill[np.isfinite(tox_max_fill)]
    tox = nanmean_by(inverse, frame["toxicity"], k)
    sent = nanmean_by(inverse, frame["sentiment"], k)
    esc = np.bincount(inverse, escalated(frame).astype(np.int64), minlength=k)
    duration = np.where(np.isfinite(first) & np.isfinite(last), last - first, np.nan)
    return [{"thread": frame["id"][threads[i]], "article": frame["article"][threads[i]], "size": int(size[i]),
             "depth": int(depth[i]), "breadth": int(breadth[i]), "duration_hours": _r(duration[i] / 3600),
             "mean_toxicity": _r(tox[i]), "max_toxicity": _r(tox_max[i]), "mean_sentiment": _r(sent[i]),
             "escalations": int(esc[i])} for i in np.argsort(-size, kind="stable")]


def by_depth(frame: Frame) -> list[dict]:
    """Comments, toxicity, sentiment, toxic share, escalation rate and reply latency per depth."""
    depth = np.minimum(frame["depth"], MAX_DEPTH_BUCKET)
    k = MAX_DEPTH_BUCKET + 1
    count = np.bincount(depth, minlength=k)
    tox = nanmean_by(depth, frame["toxicity"], k)
    with np.errstate(invalid="ignore"):
        toxic = nanmean_by(depth, np.where(np.isnan(frame["toxicity"]), np.nan, frame["toxicity"] >= TOXIC), k)
    sent = nanmean_by(depth, frame["sentiment"], k)
    esc = nanmean_by(depth, np.where(frame["parent"] >= 0, escalated(frame), np.nan), k)
    lat = latency(frame)
    rows = []
    for d in range(k):
        if not count[d]:
            continue
        lat_d = lat[(depth == d) & ~np.isnan(lat)]
        rows.append({"depth": f"{d}+" if d == MAX_DEPTH_BUCKET else str(d), "comments": int(count[d]),
                     "mean_toxicity": _r(tox[d]), "toxic_share": _r(toxic[d]), "mean_sentiment": _r(sent[d]),
                     "escalation_rate": _r(esc[d]),
                     "median_latency_minutes": _r(np.median(lat_d) / 60) if len(lat_d) else None})
    return rows


def latency_summary(frame: Frame) -> list[dict]:
    """Quantiles of the reply latency in minutes."""
    lat = latency(frame)
    lat = lat[~np.isnan(lat)] / 60
    if not len(lat):
        return []
    return [{"quantile": q, "minutes": _r(float(np.quantile(lat, q)))} for q in (0.1, 0.25, 0.5, 0.75, 0.9, 0.99)]


def _r(value: float | None, digits: int = 4) -> float | None:
    """Rounded for tables; NaN and infinities become empty."""
    if value is None or not np.isfinite(value):
        return None
    return round(float(value), digits)
