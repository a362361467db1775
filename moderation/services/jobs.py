"""Triage work, free of Celery: deep scores after the live verdict, triage batches, and all stored comments.

Each job reads, assesses outside any transaction (models are slow; locks must be short), then writes in
one transaction that also records the job's key: a job delivered twice writes its results once.
"""
from __future__ import annotations

import hashlib
import multiprocessing
from collections import Counter
from typing import TYPE_CHECKING, Callable, Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from moderation.services.ingest import record_ruleset
from moderation.store import taskruns
from moderation.assess import persist as repo
from moderation.store.models import Comment, TriageResult

if TYPE_CHECKING:
    from moderation.assess.pipeline import Assessment, Item, Pipeline
    from moderation.store import Database


class Incomplete(RuntimeError):
    """A deep scorer produced nothing (not loaded, or failed); the task retries before giving up."""


def fingerprint(pipeline: "Pipeline") -> str:
    """Rule set and scorer versions: a job's result is written once per comment and fingerprint."""
    parts = [pipeline.ruleset.version, *sorted(f"{k}={v}" for k, v in pipeline.scorer_versions.items())]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _once(db: "Database", key: str) -> dict | None:
    with db.session() as session:
        done = taskruns.done(session, key)
    return None if done is None else {**done, "repeated": True}


def _twin(db: "Database", key: str) -> dict:
    """The result of the twin that wrote first; re-raises when there was none (another conflict)."""
    done = _once(db, key)
    if done is None:
        raise
    return done


def deep_assess(db: "Database", pipeline: "Pipeline", comment_id: int, deep: Sequence[str], *,
                accept_incomplete: bool = False) -> dict:
    """Assess a stored comment with every scorer, keeping the verdict the site was told (see assess.persist.save).

    `deep` names the slow scorers; when one of them produced nothing, Incomplete is raised unless
    accept_incomplete, when the result is written anyway and, its evidence incomplete, holds or flags.
    """
    key = f"deep:{comment_id}:{fingerprint(pipeline)}"
    if (done := _once(db, key)) is not None:
        return done
    with db.session() as session:
        comment = session.get(Comment, comment_id)
        if comment is None:
            return {"comment": comment_id, "missing": True}
        items = repo.items_for(session, [comment])
    assessment = pipeline.assess(items)[0]
    missing = [name for name in deep if name not in assessment.scores]
    if missing and not accept_incomplete:
        raise Incomplete(f"no scores from {', '.join(missing)}: {'; '.join(assessment.failures)}")
    try:
        with db.session() as session:
            comment = session.get(Comment, comment_id)
            record_ruleset(session, pipeline)
            changed = repo.save(session, [comment], [assessment], keep_verdict=True)
            result = {"comment": comment_id, "decision": assessment.decision.value, "changed": bool(changed),
                      "scorers": pipeline.scorer_versions}
            taskruns.mark(session, key, result)
    except IntegrityError:  # a twin of this job finished first, or a real conflict
        return _twin(db, key)
    return result


def deep_backlog(db: "Database", deep: Sequence[str]) -> list[int]:
    """Triaged comments whose current assessment lacks a score from one of the deep scorers."""
    query = (select(Comment.id, TriageResult.scores).join(TriageResult, Comment.triage_id == TriageResult.id)
             .order_by(Comment.id).execution_options(yield_per=5000))
    with db.session() as session:
        return [cid for cid, scores in session.execute(query) if any(n not in (scores or {}) for n in deep)]


def catch_up(db: "Database", pipeline: "Pipeline", deep: Sequence[str]) -> dict:
    """Deep-score every comment that missed it (a worker was down, a task gave up); verdicts already sent stay."""
    counts: Counter = Counter()
    errors: list[str] = []
    for comment_id in deep_backlog(db, deep):
        try:
            counts["changed" if deep_assess(db, pipeline, comment_id, deep).get("changed") else "unchanged"] += 1
        except Incomplete as exc:
            counts["incomplete"] += 1
            errors = errors[:4] + [f"comment {comment_id}: {exc}"]
    return {"deep_scored": counts["changed"] + counts["unchanged"], "changed": counts["changed"],
            "incomplete": counts["incomplete"], "errors": errors}


def triage_batch(db: "Database", pipeline: "Pipeline", ids: Sequence[int], run: str, *,
                 rescore: bool = True) -> dict:
    """Triage these comments (only the untriaged ones unless rescore), as `moderation triage` does."""
    key = f"triage:{run}:{ids[0]}-{ids[-1]}:{len(ids)}" if ids else f"triage:{run}:empty"
    if (done := _once(db, key)) is not None:
        return done
    query = select(Comment).where(Comment.id.in_(ids)).order_by(Comment.id)
    with db.session() as session:
        comments = list(session.scalars(query if rescore else query.where(Comment.triage_id.is_(None))))
        items = repo.items_for(session, comments)
    assessments = pipeline.assess(items) if comments else []
    counts: Counter = Counter()
    try:
        with db.session() as session:
            comments = list(session.scalars(select(Comment).where(Comment.id.in_([c.id for c in comments]))
                                            .order_by(Comment.id)))
            record_ruleset(session, pipeline)
            repo.save(session, comments, assessments)
            human = set(session.scalars(select(Comment.id).where(Comment.id.in_([c.id for c in comments]),
                                                                 Comment.decided_by_human.is_(True))))
            for comment, a in zip(comments, assessments):
                counts["kept_human_decision" if comment.id in human else a.decision.value] += 1
                counts["flagged"] += a.flagged
                counts["with_failures"] += bool(a.failures)
            result = {"triaged": len(comments), **counts, "ruleset_version": pipeline.ruleset.version,
                      "scorers": pipeline.scorer_versions, "scorer_problems": pipeline.load_problems}
            taskruns.mark(session, key, result)
    except IntegrityError:
        return _twin(db, key)
    return result


_WORKER_PIPELINE: "Pipeline | None" = None


def _assess_detached(items: list["Item"]) -> list["Assessment"]:
    """In a worker process: assess with the pipeline inherited at fork; contexts stay behind."""
    out = _WORKER_PIPELINE.assess(items)
    for a in out:
        a.context = None
    return out


def triage_stored(db: "Database", pipeline: "Pipeline", *, rescore: bool = False, batch_size: int = 500,
                  workers: int = 1, progress: Callable[[int], None] | None = None) -> dict:
    """Assess stored comments not yet triaged (all with rescore); each batch is written in one transaction.

    With workers > 1 the assessing runs in that many forked processes; reading and writing stay here.
    """
    global _WORKER_PIPELINE
    counts: Counter = Counter()
    flagged = failed = 0
    last_id = 0
    with db.session() as session:
        repo.record_ruleset(session, pipeline.ruleset)
    pool = None
    if workers > 1:
        _WORKER_PIPELINE = pipeline
        pool = multiprocessing.get_context("fork").Pool(workers)
    try:
        while True:
            with db.session() as session:
                batches = []
                for _ in range(max(1, workers) * 2):  # enough work in flight to keep every worker busy
                    batch = repo.pending(session, after_id=last_id, limit=batch_size, rescore=rescore)
                    if not batch:
                        break
                    batches.append((batch, repo.items_for(session, batch)))
                    last_id = batch[-1].id
                if not batches:
                    break
                # imap: the workers assess the later batches while this process saves the earlier ones.
                results = (pool.imap(_assess_detached, [items for _, items in batches]) if pool
                           else (pipeline.assess(items) for _, items in batches))
                for (batch, _), assessments in zip(batches, results):
                    repo.save(session, batch, assessments)
                    for comment, a in zip(batch, assessments):
                        counts[a.decision.value if not comment.decided_by_human else "kept_human_decision"] += 1
                        flagged += a.flagged
                        failed += bool(a.failures)
            if progress:
                progress(sum(len(b) for b, _ in batches))
    finally:
        if pool:
            pool.close()
            pool.join()
    return {"triaged": sum(counts.values()), "approve": counts["approve"], "hold": counts["hold"],
            "reject": counts["reject"], "kept_human_decision": counts["kept_human_decision"],
            "flagged": flagged, "with_failures": failed, "ruleset_version": pipeline.ruleset.version,
            "scorers": pipeline.scorer_versions, "scorer_problems": pipeline.load_problems}
