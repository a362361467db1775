"""Triage read as rows and written through store/bulk.py against the ORM reads and writes they replaced, on SQLite
and PostgreSQL.

Oracle: the same comments triaged as before (ORM objects read, SQLAlchemy's ORM INSERT … RETURNING written); every
stored field of the results, their rule hits and the comments must come out the same.
"""
from __future__ import annotations

import json

from sqlalchemy import delete, insert, select, update

from bench.generate import import_rows
from moderation.assess import persist
from moderation.assess.pipeline import Pipeline
from moderation.config import Config
from moderation.importers import parse_batches
from moderation.services.jobs import triage_stored
from moderation.store import Comment, RuleHit, TriageResult
from moderation.store.loading import load_batch

MODELS = {TriageResult.__table__: TriageResult, RuleHit.__table__: RuleHit}


def orm_insert_rows(session, table, rows, returning=()):
    """The writes as they were: SQLAlchemy's ORM bulk INSERT (… RETURNING)."""
    model = MODELS[table]
    if not rows:
        return []
    if returning:
        return session.execute(insert(model).returning(*(getattr(model, c) for c in returning)), rows).all()
    session.execute(insert(model), rows)
    return []


def orm_pending(session, *, after_id=0, limit=500, rescore=False):
    """The read as it was: whole ORM objects."""
    query = select(Comment).where(Comment.id > after_id).order_by(Comment.id).limit(limit)
    if not rescore:
        query = query.where(Comment.triage_id.is_(None))
    return list(session.scalars(query))


def _stored(db) -> tuple:
    """Each comment's current result and its hits, and the comments' triage fields, without ids and times."""
    with db.session() as session:
        comments = session.execute(select(Comment.id, Comment.status, Comment.priority, Comment.risk,
                                          Comment.language, Comment.flagged, Comment.triage_id)
                                   .order_by(Comment.id)).all()
        results = {r.id: r for r in session.scalars(select(TriageResult))}
        hits = {}
        for h in session.scalars(select(RuleHit).order_by(RuleHit.id)):
            hits.setdefault(h.triage_id, []).append((h.comment_id, h.rule_id, h.action, h.shadow))
        out = []
        for cid, status, priority, risk, language, flagged, triage_id in comments:
            r = results[triage_id]
            assert r.comment_id == cid
            out.append((cid, status, priority, risk, language, flagged, r.decision, r.priority, r.risk, r.language,
                        r.explanation, r.ruleset_version, json.dumps([r.scorer_versions, r.scores, r.hits,
                                                                      r.shadow_hits, r.failures, r.evidence]),
                        r.applied, hits.get(triage_id, [])))
        return out


def test_bulk_written_results_equal_the_orm_writes(db, ruleset, tmp_path, monkeypatch):
    path = tmp_path / "comments.jsonl"
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in import_rows(600, per_article=60)),
                    encoding="utf-8")
    with db.session() as session:
        for batch in parse_batches(path):
            load_batch(session, batch)
    columns = (Comment.id, Comment.status, Comment.priority, Comment.risk, Comment.language, Comment.flagged,
               Comment.triage_id)
    with db.session() as session:
        untriaged = [row._asdict() for row in session.execute(select(*columns))]
    pipeline = Pipeline.from_config(Config(), ruleset)
    with monkeypatch.context() as m:
        m.setattr(persist, "insert_rows", orm_insert_rows)
        m.setattr(persist, "pending", orm_pending)
        first = triage_stored(db, pipeline, batch_size=128)
    before = _stored(db)
    assert sum(len(row[-1]) for row in before) > 20  # rule hits were written
    with db.session() as session:  # back to untriaged, as imported
        session.execute(update(Comment), untriaged)
        session.execute(delete(RuleHit))
        session.execute(delete(TriageResult))
    assert triage_stored(db, pipeline, batch_size=128) == first
    assert _stored(db) == before
