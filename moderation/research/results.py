"""Every analysis of one frame, computed in order, with progress: the content of a report and of the research page."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from moderation.research import outcomes, overview, people, threadmetrics as threads, topics
from moderation.research.frame import Frame, add_sentiment

STEPS = ("sentiment", "threads", "escalation", "network", "authors", "moderation", "topics", "time series")


@dataclass
class Results:
    """Named tables (lists of rows) plus the headline figures and where the data came from."""

    summary: dict
    tables: dict[str, list[dict]]
    agreement: dict
    network: dict
    provenance: dict
    topic_of: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))


def compute(frame: Frame, topics_k: int = 8, step: Callable[[str], None] | None = None, workers: int = 1) -> Results:
    """Run every analysis; `step(name)` is called as each one starts (for progress bars)."""
    def begin(name: str) -> None:
        if step:
            step(name)

    begin("sentiment")
    add_sentiment(frame, workers=workers)
    tables: dict[str, list[dict]] = {}
    begin("threads")
    tables["threads"] = threads.per_thread(frame)
    tables["by_depth"] = threads.by_depth(frame)
    tables["reply_latency"] = threads.latency_summary(frame)
    begin("escalation")
    tables["escalating_chains"] = threads.chains(frame)
    begin("network")
    tables["reply_network"] = people.network(frame)
    begin("authors")
    tables["authors"] = people.profiles(frame)
    begin("moderation")
    tables["rules"] = outcomes.rule_frequencies(frame)
    tables["decisions"] = outcomes.decision_rates(frame)
    tables["agreement"], agreement = outcomes.agreement(frame)
    tables["languages"] = overview.languages(frame)
    tables["time_to_decision"] = outcomes.time_to_decision(frame)
    begin("topics")
    tables["topics"], topic_of = topics.by_language(frame, topics_k)
    begin("time series")
    tables["timeseries"] = overview.timeseries(frame)
    summary = overview.summary(frame)
    summary["escalating_chains"] = len(tables["escalating_chains"])
    summary["median_hours_to_decision"] = tables["time_to_decision"][0]["median_hours"] \
        if tables["time_to_decision"] else None
    return Results(summary, tables, agreement, people.network_summary(tables["reply_network"]),
                   dict(frame.provenance), topic_of)
