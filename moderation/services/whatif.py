"""What-if replay: a draft rule set over stored comments, compared with the active one and with moderators.

Each comment is judged as a fresh assessment would judge it now: the context triage builds (parent, thread,
author's history, article settings) and the draft pipeline's own scorers. Stored model scores stand in where the
scorer version is identical, so a rule or threshold change replays without running any model; a word-list edit
or another model is scored again.
"""
from __future__ import annotations

import itertools
import json
import os
import multiprocessing
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterator

from sqlalchemy import Text, cast, select

from moderation.assess.pipeline import Item, Pipeline
from moderation.scoring import Scorer
from moderation.store import Comment, Database, TriageResult
from moderation.assess.persist import items_for

FLAGGING = ("hold", "reject")  # what counts as "the rules want a human to look / refuse"


@dataclass
class Agreement:
    """Rules versus moderators: positive = flagged by the rules; truth = rejected by a human."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, flagged: bool, rejected: bool) -> None:
        if flagged:
            if rejected:
                self.tp += 1
            else:
                self.fp += 1
        elif rejected:
            self.fn += 1
        else:
            self.tn += 1

    def to_dict(self) -> dict:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else None
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else None
        f1 = 2 * p * r / (p + r) if p and r else (0.0 if p is not None and r is not None else None)
        return {"decided": self.tp + self.fp + self.fn + self.tn, "flagged_and_rejected": self.tp,
                "flagged_but_approved": self.fp, "missed_rejections": self.fn, "precision": _round(p),
                "recall": _round(r), "f1": _round(f1)}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


@dataclass
class Change:
    comment_id: int
    before: str
    after: str
    human: str | None  # the moderators' decision, if any: approved | rejected
    rules_before: list[str]
    rules_after: list[str]


@dataclass
class Replay:
    draft_version: str
    active_version: str
    compared: int = 0
    changes: Counter = field(default_factory=Counter)
    changed: list[Change] = field(default_factory=list)
    agreement: dict[str, Agreement] = field(default_factory=lambda: {"draft": Agreement(), "active": Agreement()})
    # rule -> side -> [hits on comments moderators rejected, hits on comments they approved]
    rule_hits: dict[str, dict[str, list[int]]] = field(default_factory=lambda: defaultdict(
        lambda: {"draft": [0, 0], "active": [0, 0]}))
    hits: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    decided: Counter = field(default_factory=Counter)  # human decisions seen: approved / rejected
    # Readers' reports as evidence: reported comments compared, and how many of them each side flags
    reported: Counter = field(default_factory=Counter)  # "comments", "draft", "active"
    rule_reported: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))  # rule -> side -> hits
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # this process and its worker processes: what the replay costs on a busy machine

    def rule_agreement(self, rule: str, side: str) -> Agreement:
        """One rule as a classifier of what moderators reject: hits are its positives."""
        on_rejected, on_approved = self.rule_hits[rule][side]
        return Agreement(on_rejected, on_approved, self.decided["rejected"] - on_rejected,
                         self.decided["approved"] - on_approved)

    def to_dict(self, with_changes: int = 100) -> dict:
        return {
            "draft": self.draft_version, "active": self.active_version, "compared": self.compared,
            "changed": sum(self.changes.values()), "changes": dict(sorted(self.changes.items())),
            "agreement": {k: v.to_dict() for k, v in self.agreement.items()},
            "rules": {rule: {"hits": dict(self.hits[rule]),
                             **{side: self.rule_agreement(rule, side).to_dict() for side in ("draft", "active")},
                             "reported": {side: self.rule_reported[rule][side] for side in ("draft", "active")}}
                      for rule in sorted(set(self.hits) | set(self.rule_hits) | set(self.rule_reported))},
            "reports": {"reported": self.reported["comments"],
                        "flagged": {side: self.reported[side] for side in ("draft", "active")}},
            "changed_comments": [c.__dict__ for c in self.changed[:with_changes]],
            "seconds": round(self.seconds, 2), "cpu_seconds": round(self.cpu_seconds, 2),
        }


@dataclass
class _Row:
    comment_id: int
    human: str | None  # the moderators' decision, if any
    item: Item  # the comment with its context, exactly as triage builds it
    stored_scores: str | None  # JSON as stored: decoded in the worker processes, which share the load
    stored_versions: str | None  # JSON, likewise: which scorer version gave each stored score


def _rows(db: Database, since: datetime | None, until: datetime | None, batch: int) -> Iterator[list[_Row]]:
    query = (select(Comment.id, Comment.source, Comment.text, Comment.language, Comment.status, Comment.author, Comment.parent_id,
                    Comment.parent_external_id, Comment.article_id, Comment.decided_by_human,
                    cast(TriageResult.scores, Text).label("stored_scores"),
                    cast(TriageResult.scorer_versions, Text).label("stored_versions"))
             .outerjoin(TriageResult, TriageResult.id == Comment.triage_id)
             .where(Comment.kind == "comment").order_by(Comment.id))
    if since is not None:
        query = query.where(Comment.created_at >= since)
    if until is not None:
        query = query.where(Comment.created_at < until)
    with db.session() as session:
        chunk: list = []
        for row in session.execute(query.execution_options(yield_per=batch)):
            chunk.append(row)
            if len(chunk) >= batch:
                yield _convert(session, chunk)
                chunk = []
        if chunk:
            yield _convert(session, chunk)


def _convert(session, rows: list) -> list[_Row]:  # noqa: ANN001
    return [_Row(r.id, r.status if r.decided_by_human and r.status in ("approved", "rejected") else None, item,
                 r.stored_scores, r.stored_versions) for r, item in zip(rows, items_for(session, rows))]


def _known(row: _Row) -> dict[str, tuple[str | None, dict[str, float]]] | None:
    """Stored scores with the version of the scorer that gave each: reused only by that very version."""
    if not row.stored_scores:
        return None
    versions = json.loads(row.stored_versions or "{}")
    return {name: (versions.get(name), scores) for name, scores in json.loads(row.stored_scores).items()}


_WORKER: tuple[Pipeline, Pipeline, bool] | None = None


def _judge_chunk(chunk: list[_Row]) -> list[tuple]:
    """Both verdicts for a chunk of rows; runs in a worker process when replaying in parallel."""
    draft, active, same_reading = _WORKER
    items = [row.item for row in chunk]
    known = [_known(row) for row in chunk]
    before = active.assess(items, known)
    # What the active pipeline's models just scored, the draft's same models need not score again.
    versions = active.scorer_versions
    known = [{**(k or {}), **{n: (versions[n], v) for n, v in b.scores.items()}} for k, b in zip(known, before)]
    after = draft.assess(items, known, before if same_reading else None)
    return [(b.decision.value, [h.rule_id for h in b.hits], a.decision.value, [h.rule_id for h in a.hits],
             [h.rule_id for h in a.shadow_hits]) for b, a in zip(before, after)]


def with_model(pipeline: Pipeline, candidate: Scorer) -> Pipeline:
    """The pipeline with the trained model swapped for `candidate`: replaying a model, not only rules."""
    swapped = [candidate if s.name == candidate.name else s for s in pipeline.scorers]
    scorers = swapped if candidate in swapped else [*swapped, candidate]
    return Pipeline(pipeline.ruleset, scorers, pipeline.detector, pipeline.load_problems)


def judged(db: Database, draft: Pipeline, active: Pipeline, *, since: datetime | None = None,
           until: datetime | None = None, batch: int = 2000, workers: int = 1) -> Iterator[tuple[_Row, tuple]]:
    """Each stored comment with (active decision, its rules, draft decision, its rules, draft's shadow rules).

    Each verdict is the one a fresh assessment of the comment with that pipeline gives: the same context as
    triage (assess.persist.items_for), stored model scores reused only from the identical scorer version.
    """
    global _WORKER
    _WORKER = (draft, active, draft.reads_like(active))  # most drafts keep the lists: read each comment once
    pool = multiprocessing.get_context("fork").Pool(workers) if workers > 1 else None
    try:
        chunks = _rows(db, since, until, batch)
        # Workers judge one group while this process reads the next; without workers, judging waits for tallying.
        start = (lambda jobs: pool.map_async(_judge_chunk, jobs).get) if pool else \
            (lambda jobs: lambda: [_judge_chunk(job) for job in jobs])
        pending = None
        while True:
            jobs = list(itertools.islice(chunks, max(1, workers)))
            judging = start(jobs) if jobs else None
            if pending is not None:
                for chunk, verdicts in zip(pending[0], pending[1]()):
                    yield from zip(chunk, verdicts)
            if not jobs:
                break
            pending = (jobs, judging)
    finally:
        if pool:
            pool.close()
            pool.join()


def replay(db: Database, draft: Pipeline, active: Pipeline, *, since: datetime | None = None,
           until: datetime | None = None, batch: int = 2000, workers: int = 1) -> Replay:
    """Judge stored comments with the `draft` and `active` pipelines and tally what changes."""
    started, cpu = time.perf_counter(), _cpu()
    result = Replay(draft.ruleset.version, active.ruleset.version)
    for row, verdict in judged(db, draft, active, since=since, until=until, batch=batch, workers=workers):
        _tally(result, row, *verdict)
    result.seconds, result.cpu_seconds = time.perf_counter() - started, _cpu() - cpu
    return result


def _cpu() -> float:
    # Worker processes count once they have been joined, which replay() does before it reads this.
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _tally(result: Replay, row: _Row, before: str, before_rules: list[str], after: str, after_rules: list[str],
           shadow: list[str]) -> None:
    result.compared += 1
    if before != after:
        result.changes[f"{before}->{after}"] += 1
        result.changed.append(Change(row.comment_id, before, after, row.human, before_rules, after_rules))
    for rule in after_rules:
        result.hits[rule][after] += 1
    for rule in shadow:
        result.hits[rule]["shadow"] += 1
    if row.item.reports > 0:  # readers reported it: a rule that hits it has evidence, decided or not
        result.reported["comments"] += 1
        result.reported["draft"] += after in FLAGGING
        result.reported["active"] += before in FLAGGING
        for rule in set(after_rules) | set(shadow):
            result.rule_reported[rule]["draft"] += 1
        for rule in set(before_rules):
            result.rule_reported[rule]["active"] += 1
    if row.human is None:
        return
    rejected = row.human == "rejected"
    result.decided[row.human] += 1
    result.agreement["draft"].add(after in FLAGGING, rejected)
    result.agreement["active"].add(before in FLAGGING, rejected)
    slot = 0 if rejected else 1
    for rule in set(after_rules) | set(shadow):
        result.rule_hits[rule]["draft"][slot] += 1
    for rule in set(before_rules):
        result.rule_hits[rule]["active"][slot] += 1
