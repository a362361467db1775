"""Chart specifications (JSON) for the interactive charts that web/static/charts.js draws with the vendored uPlot."""
from __future__ import annotations

from datetime import date, datetime, time, timezone

from flask_babel import gettext as _

RED, BLUE, PURPLE, ORANGE, GREY, GREEN = "#c0392b", "#2f6db5", "#8e44ad", "#e67e22", "#7f8c8d", "#1e7d32"


def _series(rows: list[dict], key: str, label: str, color: str, scale: str = "share") -> dict:
    return {"label": label, "values": [r.get(key) for r in rows], "color": color, "scale": scale}


def timeseries(rows: list[dict]) -> dict | None:
    """Volume and rates per day or week; x in seconds since 1970 (UTC), so the chart zooms on time."""
    if len(rows) < 2:
        return None
    x = [datetime.combine(date.fromisoformat(r["period"]), time.min, timezone.utc).timestamp() for r in rows]
    unit = _("comments per week") if rows[0].get("unit") == "week" else _("comments per day")
    return {"time": True, "x": x, "x_label": _("period"), "scales": {"n": unit, "share": _("share / mean")},
            "series": [_series(rows, "comments", unit, GREY, "n"),
                       _series(rows, "mean_toxicity", _("mean toxicity"), RED),
                       _series(rows, "mean_sentiment", _("mean sentiment"), BLUE),
                       _series(rows, "rejected_share", _("rejected share"), PURPLE)]}


def by_depth(rows: list[dict]) -> dict | None:
    if not rows:
        return None
    return {"time": False, "x": [r["depth"] for r in rows], "x_label": _("reply depth"),
            "scales": {"n": _("comments"), "share": _("share / mean")},
            "series": [_series(rows, "comments", _("comments"), GREY, "n"),
                       _series(rows, "mean_toxicity", _("mean toxicity"), RED),
                       _series(rows, "mean_sentiment", _("mean sentiment"), BLUE),
                       _series(rows, "escalation_rate", _("escalation rate"), ORANGE)]}


def learning_curve(curve: dict) -> dict | None:
    """ROC-AUC and official F1 of a site model after n decisions, per published corpus."""
    corpora = curve.get("corpora") or {}
    sizes = sorted({r["decisions"] for c in corpora.values() for r in c.get("curve", [])})
    if not sizes:
        return None
    series = []
    for (name, c), color in zip(corpora.items(), (RED, BLUE, GREEN, PURPLE)):
        by_size = {r["decisions"]: r.get("site_model") or {} for r in c.get("curve", [])}
        short = c.get("title", name).split(" (")[0]  # "RP-Mod", not its licence note
        series.append({"label": f"ROC-AUC · {short}", "color": color, "scale": "share",
                       "values": [by_size.get(n, {}).get("roc_auc") for n in sizes]})
        series.append({"label": f"{_('official F1')} · {short}", "color": color, "scale": "share", "dash": True,
                       "values": [by_size.get(n, {}).get("f1_official") for n in sizes]})
    return {"time": False, "log": True, "x": sizes, "x_label": _("decisions"), "scales": {"share": _("score")},
            "series": series}
