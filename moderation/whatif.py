"""What-if replay: a draft rule set over stored comments, compared with the active one and with moderators.

Stored evidence is reused: each comment's language and model scores come from its newest triage result, so a
rule or threshold change replays without running any model. Only when a different scorer is given are texts
scored again.
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
from pathlib import Path
from typing import Iterator, Sequence

from sqlalchemy import Text, cast, select
from sqlalchemy.orm import aliased

from moderation.rules import CommentContext, RuleSet
from moderation.scoring import Scorer, merged, run_scorers
from moderation.store import Comment, Database, TriageResult
from moderation.store.triage import author_history
from moderation.triage import decide

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
                             **{side: self.rule_agreement(rule, side).to_dict() for side in ("draft", "active")}}
                      for rule in sorted(set(self.hits) | set(self.rule_hits))},
            "changed_comments": [c.__dict__ for c in self.changed[:with_changes]],
            "seconds": round(self.seconds, 2), "cpu_seconds": round(self.cpu_seconds, 2),
        }


@dataclass
class _Row:
    comment_id: int
    text: str
    language: str | None
    is_reply: bool
    parent_author: str | None
    author: str | None
    human: str | None
    author_approved: int
    author_rejected: int
    stored_scores: str | None  # JSON as stored: decoded in the worker processes, which share the load
    stored_decision: str | None
    stored_version: str | None
    stored_hits: str | None  # JSON, likewise


def _rows(db: Database, since: datetime | None, until: datetime | None, batch: int) -> Iterator[list[_Row]]:
    parent = aliased(Comment)
    query = (select(Comment.id, Comment.text, Comment.language, Comment.parent_id, Comment.parent_external_id,
                    Comment.author, Comment.status, Comment.decided_by_human, parent.author,
                    cast(TriageResult.scores, Text), TriageResult.decision, TriageResult.ruleset_version,
                    cast(TriageResult.hits, Text), TriageResult.language)
             .outerjoin(TriageResult, TriageResult.id == Comment.triage_id)
             .outerjoin(parent, parent.id == Comment.parent_id)
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
    history = author_history(session, [r.author for r in rows])
    out = []
    for r in rows:
        human = r.status if r.decided_by_human and r.status in ("approved", "rejected") else None
        stats = history.get(r.author or "", {})
        out.append(_Row(r.id, r.text, r[13] or r.language, r.parent_id is not None or r.parent_external_id is not None,
                        r[8], r.author, human, stats.get("approved", 0), stats.get("rejected", 0), r[9],
                        r.decision, r.ruleset_version, r[12]))
    return out


def _label_scores(raw: str | None) -> dict[str, float] | None:
    """Per scorer -> label -> score, as stored; the rules read the highest per label, as in triage."""
    if not raw:
        return None
    scores: dict[str, float] = {}
    for by_label in json.loads(raw).values():
        for label, value in by_label.items():
            scores[label] = max(value, scores.get(label, 0.0))
    return scores


def _rule_ids(raw: str | None) -> list[str]:
    return [h["rule"] for h in json.loads(raw)] if raw else []


def _judge(ruleset: RuleSet, row: _Row, scores: dict[str, float] | None) -> tuple[str, list[str], list[str]]:
    ctx = CommentContext(row.text, language=row.language, is_reply=row.is_reply, parent_author=row.parent_author,
                         author=row.author, scores=scores, author_approved=row.author_approved,
                         author_rejected=row.author_rejected)
    ev = ruleset.evaluate(ctx)
    verdict = decide(ev, ruleset.policy, author_approved=row.author_approved)
    return verdict.decision.value, [h.rule_id for h in ev.hits], [h.rule_id for h in ev.shadow_hits]


_WORKER: tuple[RuleSet, RuleSet] | None = None


def _judge_chunk(args: tuple[list[_Row], list | None]) -> list[tuple]:
    """Both verdicts for a chunk of rows; runs in a worker process when replaying in parallel."""
    draft, active = _WORKER
    chunk, rescored = args
    out = []
    for i, row in enumerate(chunk):
        stored = _label_scores(row.stored_scores)
        scores = rescored[i] if rescored is not None else stored
        if row.stored_version == active.version and rescored is None:
            before = (row.stored_decision, _rule_ids(row.stored_hits))
        else:
            before = _judge(active, row, stored)[:2]
        out.append((*before, *_judge(draft, row, scores)))
    return out


def with_model(scorers: Sequence[Scorer], path: Path) -> list[Scorer]:
    """The scorers with the trained model swapped for the one at `path`: replaying a model, not only rules."""
    from moderation.scoring.sklearn import SklearnScorer  # noqa: PLC0415 - scikit-learn only when asked

    candidate = SklearnScorer.from_file(path)
    swapped = [candidate if s.name == candidate.name else s for s in scorers]
    return swapped if candidate in swapped else [*swapped, candidate]


def replay(db: Database, draft: RuleSet, active: RuleSet, *, since: datetime | None = None,
           until: datetime | None = None, scorers: Sequence[Scorer] | None = None, batch: int = 2000,
           workers: int = 1) -> Replay:
    """Judge stored comments with `draft` and `active`; stored scores are reused unless `scorers` is given."""
    global _WORKER
    started, cpu = time.perf_counter(), _cpu()
    result = Replay(draft.version, active.version)
    _WORKER = (draft, active)
    pool = multiprocessing.get_context("fork").Pool(workers) if workers > 1 else None
    try:
        chunks = _rows(db, since, until, batch)
        # Workers judge one group while this process reads the next; without workers, judging waits for tallying.
        start = (lambda jobs: pool.map_async(_judge_chunk, jobs).get) if pool else \
            (lambda jobs: lambda: [_judge_chunk(job) for job in jobs])
        pending = None
        while True:
            jobs = [(chunk, _rescored(scorers, chunk)) for chunk in itertools.islice(chunks, max(1, workers))]
            judging = start(jobs) if jobs else None
            if pending is not None:
                _tally_group(result, *pending)
            if not jobs:
                break
            pending = (jobs, judging)
    finally:
        if pool:
            pool.close()
            pool.join()
    result.seconds, result.cpu_seconds = time.perf_counter() - started, _cpu() - cpu
    return result


def _rescored(scorers: Sequence[Scorer] | None, chunk: list[_Row]) -> list | None:
    if not scorers:
        return None
    runs = run_scorers(scorers, [CommentContext(r.text, language=r.language) for r in chunk])
    return [merged(runs, i) for i in range(len(chunk))]


def _tally_group(result: Replay, jobs: list, verdicts) -> None:  # noqa: ANN001 - a callable giving the verdicts
    for (chunk, _), judged in zip(jobs, verdicts()):
        for row, (before, before_rules, after, after_rules, shadow) in zip(chunk, judged):
            _tally(result, row, before, before_rules, after, after_rules, shadow)


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
