"""Charts of the results as PNG images (matplotlib, no display), base64-encoded for self-contained HTML."""
from __future__ import annotations

import base64
import io
from types import ModuleType

from moderation.research import require
from moderation.research.results import Results

BLUE, RED, GREY = "#2f6db5", "#c0392b", "#7f8c8d"


def _pyplot() -> ModuleType:
    """matplotlib's pyplot, imported on first use: web and CLI start without the research extra."""
    require("matplotlib", "Charts").use("Agg")  # no display on servers; must precede pyplot (cheap when set)
    return require("matplotlib.pyplot", "Charts")


def _png(fig) -> str:  # noqa: ANN001
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    _pyplot().close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _num(rows: list[dict], key: str) -> list[float]:
    return [float("nan") if r.get(key) is None else r[key] for r in rows]


def by_depth(results: Results) -> str | None:
    rows = results.tables["by_depth"]
    if not rows:
        return None
    fig, (top, bottom) = _pyplot().subplots(2, 1, figsize=(7, 4.6), sharex=True)
    labels = [r["depth"] for r in rows]
    top.bar(labels, [r["comments"] for r in rows], color=GREY)
    top.set_ylabel("comments")
    bottom.plot(labels, _num(rows, "mean_toxicity"), marker="o", color=RED, label="mean toxicity")
    bottom.plot(labels, _num(rows, "mean_sentiment"), marker="s", color=BLUE, label="mean sentiment")
    bottom.plot(labels, _num(rows, "escalation_rate"), marker="^", color="#e67e22", label="escalation rate")
    bottom.axhline(0, color="#bbb", lw=0.8)
    bottom.set_xlabel("reply depth (0 = comment on the article)")
    bottom.legend(fontsize=8, loc="best")
    fig.suptitle("Toxicity, sentiment and escalation by depth")
    return _png(fig)


def timeseries(results: Results) -> str | None:
    rows = results.tables["timeseries"]
    if len(rows) < 2:
        return None
    fig, (top, bottom) = _pyplot().subplots(2, 1, figsize=(7, 4.6), sharex=True)
    x = list(range(len(rows)))
    top.bar(x, [r["comments"] for r in rows], color=GREY)
    top.set_ylabel(f"comments per {rows[0]['unit']}")
    bottom.plot(x, _num(rows, "mean_toxicity"), color=RED, label="mean toxicity")
    bottom.plot(x, _num(rows, "mean_sentiment"), color=BLUE, label="mean sentiment")
    bottom.plot(x, _num(rows, "rejected_share"), color="#8e44ad", label="rejected share", ls="--")
    step = max(1, len(rows) // 8)
    bottom.set_xticks(x[::step], [r["period"] for r in rows][::step], rotation=30, fontsize=8)
    bottom.legend(fontsize=8)
    fig.suptitle("Time series")
    return _png(fig)


def topics(results: Results) -> str | None:
    rows = results.tables["topics"]
    if not rows:
        return None
    fig, ax = _pyplot().subplots(figsize=(7, 0.45 * len(rows) + 1.2))
    labels = [f"{r['topic']}: {', '.join(r['top_words'].split(', ')[:3])}" for r in rows]
    y = list(range(len(rows)))
    ax.barh([v - 0.2 for v in y], _num(rows, "mean_toxicity"), height=0.4, color=RED, label="mean toxicity")
    ax.barh([v + 0.2 for v in y], _num(rows, "mean_sentiment"), height=0.4, color=BLUE, label="mean sentiment")
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0, color="#bbb", lw=0.8)
    ax.legend(fontsize=8)
    ax.set_title("Topics: toxicity and sentiment")
    return _png(fig)


def network(results: Results, top: int = 15) -> str | None:
    """Who replies to whom among the most active repliers, as a matrix."""
    edges = results.tables["reply_network"]
    if not edges:
        return None
    volume: dict[str, int] = {}
    for e in edges:
        for name in (e["source"], e["target"]):
            volume[name] = volume.get(name, 0) + e["replies"]
    names = sorted(volume, key=lambda n: -volume[n])[:top]
    pos = {n: i for i, n in enumerate(names)}
    matrix = [[0] * len(names) for _ in names]
    for e in edges:
        if e["source"] in pos and e["target"] in pos:
            matrix[pos[e["source"]]][pos[e["target"]]] = e["replies"]
    fig, ax = _pyplot().subplots(figsize=(6.5, 5.5))
    image = ax.imshow(matrix, cmap="Blues")
    short = [n if len(n) <= 16 else n[:15] + "…" for n in names]
    ax.set_xticks(range(len(names)), short, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(names)), short, fontsize=7)
    ax.set_xlabel("replied to")
    ax.set_ylabel("replier")
    fig.colorbar(image, ax=ax, shrink=0.7, label="replies")
    ax.set_title(f"Reply network: the {len(names)} most active authors")
    return _png(fig)


def moderation(results: Results) -> str | None:
    rows = results.tables["rules"][:12]
    agreement = results.tables["agreement"]
    if not rows and not any(r["approved"] + r["rejected"] for r in agreement):
        return None
    fig, (left, right) = _pyplot().subplots(1, 2, figsize=(8, 3.4), gridspec_kw={"width_ratios": [3, 2]})
    left.barh([r["rule"] for r in rows], [r["hits"] for r in rows], color=RED)
    left.invert_yaxis()
    left.tick_params(axis="y", labelsize=8)
    left.set_title("Rule hits", fontsize=10)
    models = [r["model"] for r in agreement]
    left_pos = range(len(models))
    right.bar([p - 0.2 for p in left_pos], [r["approved"] for r in agreement], width=0.4, color=BLUE,
              label="moderator approved")
    right.bar([p + 0.2 for p in left_pos], [r["rejected"] for r in agreement], width=0.4, color=RED,
              label="moderator rejected")
    right.set_xticks(list(left_pos), [f"model\n{m}" for m in models], fontsize=8)
    right.legend(fontsize=7)
    right.set_title("Moderator vs model", fontsize=10)
    return _png(fig)


ALL = {"by_depth": by_depth, "timeseries": timeseries, "topics": topics, "network": network,
       "moderation": moderation}


def render(results: Results) -> dict[str, str]:
    """Every chart that has data: name -> base64 PNG."""
    _pyplot()  # missing matplotlib is reported before any work
    out = {}
    for name, draw in ALL.items():
        image = draw(results)
        if image:
            out[name] = image
    return out
