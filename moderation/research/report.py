"""The research report: one self-contained HTML file (charts embedded) plus every table as CSV."""
from __future__ import annotations

import csv
import json
from datetime import datetime, timezone
from pathlib import Path

import jinja2

from moderation.domain.messages import N_
from moderation.research import charts
from moderation.research.results import Results
from moderation.research.threadmetrics import ESCALATION_MARGIN, TOXIC
from moderation.research.topics import FIT_SAMPLE

CARDS = (("comments", N_("comments")), ("threads", N_("threads")), ("articles", N_("articles")),
         ("authors", N_("authors")),
         ("reply_share", N_("share of replies")), ("max_depth", N_("deepest reply")),
         ("median_reply_latency_minutes", N_("median reply latency (min)")), ("mean_toxicity", N_("mean toxicity")),
         ("toxic_share", N_("toxic share")), ("mean_sentiment", N_("mean sentiment")),
         ("escalation_rate", N_("escalation rate")),
         ("escalating_chains", N_("escalating chains")), ("human_decisions", N_("moderator decisions")),
         ("human_rejected", N_("rejected by moderators")),
         ("median_hours_to_decision", N_("median hours to decision")))
CHART_CAPTIONS = (("by_depth", N_("Comments, toxicity, sentiment and escalation by reply depth")),
                  ("timeseries", N_("Volume, toxicity, sentiment and rejections over time")),
                  ("topics", N_("Topics (TF-IDF + NMF) with their mean toxicity and sentiment")),
                  ("network", N_("Who replies to whom (most active authors)")),
                  ("moderation", N_("Rule hits, and the model's verdicts against moderator decisions")))
SECTIONS = (("by_depth", N_("By depth"), N_("Per reply depth.")),
            ("threads", N_("Threads"), N_("Largest threads first.")),
            ("escalating_chains", N_("Escalating chains"), N_("Longest first.")),
            ("reply_latency", N_("Reply latency"), N_("Quantiles over all replies.")),
            ("topics", N_("Topics"), N_("Found per language, links removed; each comment in its strongest topic.")),
            ("reply_network", N_("Reply network"), N_("Directed pairs replier → author replied to.")),
            ("authors", N_("Authors"), N_("Most active first.")),
            ("rules", N_("Rule violations"), N_("Comments per rule hit.")),
            ("decisions", N_("Decisions"), N_("Moderator decisions (with reason codes) and model verdicts.")),
            ("agreement", N_("Moderator vs model"), N_("Model verdict (rows) against moderator decision (columns).")),
            ("time_to_decision", N_("Time to decision"),
             N_("Hours from arrival on the desk to a moderator's first decision (decisions imported with the comments have none).")),
            ("languages", N_("Language mix"), ""),
            ("timeseries", N_("Time series"), ""))
ROW_LIMIT = 25
# Columns of each table, so that an empty table still has its header for the scripts reading the CSV files.
HEADERS = {
    "agreement": "model approved rejected", "decisions": "who decision reason_code comments share",
    "authors": "author comments replies_written replies_received articles mean_toxicity toxic_comments "
               "mean_sentiment human_decisions rejected active_days",
    "by_depth": "depth comments mean_toxicity toxic_share mean_sentiment escalation_rate median_latency_minutes",
    "escalating_chains": "article comments ids toxicity",
    "languages": "language comments share mean_toxicity mean_sentiment rejected_share",
    "reply_latency": "quantile minutes",
    "reply_network": "source target replies reciprocated mean_toxicity mean_sentiment",
    "rules": "rule hits share_of_comments human_decided human_rejected_share",
    "threads": "thread article size depth breadth duration_hours mean_toxicity max_toxicity mean_sentiment "
               "escalations",
    "timeseries": "period unit comments mean_toxicity mean_sentiment rejected_share",
    "topics": "language topic top_words comments share mean_toxicity mean_sentiment rejected_share share_of_language",
    "time_to_decision": "language decided_here median_hours p90_hours max_hours",
}


def fmt(value: object) -> str:
    """Numbers for people: thousands separators, at most three decimals."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("moderation.research", "templates"),
                              autoescape=True, trim_blocks=True, lstrip_blocks=True)


def context(results: Results, title: str, filters: str = "") -> dict:
    """Everything the report template (and the research page) shows."""
    return {"title": title, "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "provenance": results.provenance, "summary": results.summary, "cards": CARDS,
            "charts": charts.render(results), "chart_captions": CHART_CAPTIONS, "agreement": results.agreement,
            "network": results.network, "tables": results.tables, "sections": SECTIONS, "limit": ROW_LIMIT,
            "fmt": fmt, "toxic": TOXIC, "margin": ESCALATION_MARGIN, "sample": f"{FIT_SAMPLE:,}", "filters": filters}


def write_table(rows: list[dict], name: str, fh) -> None:  # noqa: ANN001 - a text file
    """One table as CSV with its header, also when it has no rows."""
    writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else HEADERS.get(name, "").split())
    writer.writeheader()
    writer.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in rows)


def write_csvs(results: Results, out: Path) -> list[Path]:
    """Every table as `<name>.csv`, plus summary.csv and provenance.json."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows in results.tables.items():
        path = out / f"{name}.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            write_table(rows, name, fh)
        written.append(path)
    summary = {**results.summary, **{f"agreement_{k}": v for k, v in results.agreement.items()},
               **{f"network_{k}": v for k, v in results.network.items()}}
    with (out / "summary.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["figure", "value"])
        writer.writerows([k, "" if v is None else v] for k, v in summary.items())
    (out / "provenance.json").write_text(json.dumps(results.provenance, indent=2, ensure_ascii=False, default=str),
                                         encoding="utf-8")
    return written + [out / "summary.csv", out / "provenance.json"]


def write_report(results: Results, out: Path, title: str = "Discourse analysis") -> Path:
    """Write index.html and the CSVs into `out`; returns the HTML path."""
    html = environment().get_template("report.html.j2").render(**context(results, title))  # may lack an extra
    write_csvs(results, out)
    path = out / "index.html"
    path.write_text(html, encoding="utf-8")
    return path
