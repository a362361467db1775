"""Corpus-wide figures: the summary, the language mix and the time series."""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np

from moderation.research.frame import Frame
from moderation.research.outcomes import rejected_share
from moderation.research.threadmetrics import TOXIC, _r, escalated, latency, nanmean_by


def summary(frame: Frame) -> dict:
    """Headline numbers of the corpus."""
    n = len(frame)
    tox = frame["toxicity"]
    lat = latency(frame)
    rep = frame["parent"] >= 0
    with np.errstate(invalid="ignore"):
        authors = frame.codes("author")[0]
        return {"comments": n, "articles": len(frame.codes("article")[0]), "threads": len(np.unique(frame["root"])),
                "authors": int((authors != "").sum()),
                "reply_share": _r(rep.mean()) if n else None, "max_depth": int(frame["depth"].max(initial=0)),
                "median_reply_latency_minutes": _r(np.nanmedian(lat) / 60) if (~np.isnan(lat)).any() else None,
                "mean_toxicity": _r(np.nanmean(tox)) if (~np.isnan(tox)).any() else None,
                "toxic_share": _r((tox[~np.isnan(tox)] >= TOXIC).mean()) if (~np.isnan(tox)).any() else None,
                "mean_sentiment": _r(np.nanmean(frame["sentiment"])) if (~np.isnan(frame["sentiment"])).any()
                else None,
                "escalation_rate": _r(escalated(frame)[rep].mean()) if rep.any() else None,
                "human_decisions": int((frame["human_decision"] != "").sum()),
                "human_rejected": int((frame["human_decision"] == "rejected").sum())}


def languages(frame: Frame) -> list[dict]:
    """Comments, toxicity and sentiment per language."""
    names, idx = frame.codes("language")
    count = np.bincount(idx, minlength=len(names))
    tox = nanmean_by(idx, frame["toxicity"], len(names))
    sent = nanmean_by(idx, frame["sentiment"], len(names))
    rej = nanmean_by(idx, rejected_share(frame), len(names))
    return [{"language": names[i] or "unknown", "comments": int(count[i]), "share": _r(count[i] / len(frame)),
             "mean_toxicity": _r(tox[i]), "mean_sentiment": _r(sent[i]), "rejected_share": _r(rej[i])}
            for i in np.argsort(-count, kind="stable")]


def timeseries(frame: Frame) -> list[dict]:
    """Per day (per week when the corpus spans more than 120 days): volume, toxicity, sentiment, rejections."""
    created = frame["created"]
    ok = ~np.isnan(created)
    if not ok.any():
        return []
    span_days = (created[ok].max() - created[ok].min()) / 86400
    step = 7 * 86400 if span_days > 120 else 86400
    origin = created[ok].min() - (created[ok].min() % 86400)
    bins = ((created[ok] - origin) // step).astype(np.int64)
    k = int(bins.max()) + 1
    count = np.bincount(bins, minlength=k)
    tox = nanmean_by(bins, frame["toxicity"][ok], k)
    sent = nanmean_by(bins, frame["sentiment"][ok], k)
    rej = nanmean_by(bins, rejected_share(frame)[ok], k)
    return [{"period": datetime.fromtimestamp(origin + b * step, timezone.utc).date().isoformat(),
             "unit": "week" if step > 86400 else "day", "comments": int(count[b]), "mean_toxicity": _r(tox[b]),
             "mean_sentiment": _r(sent[b]), "rejected_share": _r(rej[b])} for b in range(k) if count[b]]
