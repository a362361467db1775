"""Where a frame comes from: an import file, the One Million Posts CSV, or the stored comments with their evidence."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from moderation.research.frame import Frame, from_records, top_score, triage_records
from moderation.research.omp import is_omp, read_posts

OMP_DECISIONS = {"deleted": "rejected", "online": "approved"}


def file_records(path: Path) -> tuple[list[dict], dict]:
    """Records of an import file (any import format) or of the One Million Posts CSV; bad input raises."""
    if is_omp(path):
        posts = read_posts(path)
        records = [{"id": p.id, "parent_id": p.parent_id, "article_id": p.article_id, "article_title": None,
                    "author": p.author, "created_at": p.created_at, "text": p.text, "language": "de",
                    "human_decision": OMP_DECISIONS.get(p.status)} for p in posts]
        return records, {"input": str(path), "format": "one-million-posts"}
    from moderation.importers import parse_batches  # noqa: PLC0415

    records = []
    for batch in parse_batches(path):
        for c in batch.comments:
            records.append({"id": c.external_id, "parent_id": c.parent_id, "article_id": c.article_id,
                            "article_title": c.article_title, "author": c.author, "created_at": c.created_at,
                            "text": c.text, "language": c.language, "human_decision": c.decision})
    return records, {"input": str(path), "format": "import"}


def load_file(path: Path, pipeline=None, progress: Callable[[int], None] | None = None) -> Frame:  # noqa: ANN001
    """A frame from a file; with a pipeline, every text is assessed for toxicity, rule hits and a model decision."""
    records, provenance = file_records(path)
    if pipeline is not None:
        triage_records(records, pipeline, progress)
        provenance.update(scorers=pipeline.scorer_versions, ruleset_version=pipeline.ruleset.version)
    return from_records(records, provenance)


DESK_ORIGINS = ("moderator",)  # decisions taken on this desk; imported ones have no waiting time here


def first_decisions():  # noqa: ANN201 - a SQLAlchemy subquery
    """Per comment, when a moderator on this desk first approved or rejected it (time to decision starts at arrival)."""
    from moderation.store import Decision  # noqa: PLC0415

    return (select(Decision.comment_id, func.min(Decision.created_at).label("decided_at"))
            .where(Decision.action.in_(("approve", "reject")), Decision.origin.in_(DESK_ORIGINS))
            .group_by(Decision.comment_id).subquery())


def waited(arrived, decided) -> float | None:  # noqa: ANN001 - datetimes or None
    """Seconds from a comment's arrival on the desk to its first moderator decision (None: not decided here)."""
    if arrived is None or decided is None:
        return None
    return max(0.0, (decided - arrived).total_seconds())


def load_db(db, where: Sequence = ()) -> Frame:  # noqa: ANN001 - moderation.store.Database
    """Stored comments (those matching `where`, SQL conditions) with their newest triage result and decision."""
    from moderation.store import Article, Comment, Decision, TriageResult  # noqa: PLC0415
    from moderation.store.aggregates import CommentSentiment  # noqa: PLC0415

    last = select(Decision.comment_id, func.max(Decision.id).label("decision_id")) \
        .where(Decision.action.in_(("approve", "reject"))).group_by(Decision.comment_id).subquery()
    parent = aliased(Comment)
    first = first_decisions()
    query = (select(Comment.external_id, Comment.source, parent.external_id, Article.external_id, Article.title,
                    Comment.author, Comment.created_at, Comment.text, Comment.language, TriageResult.scores,
                    TriageResult.decision, TriageResult.hits, TriageResult.scorer_versions,
                    TriageResult.ruleset_version, Decision.action, Decision.reason_code, Comment.imported_at,
                    first.c.decided_at, CommentSentiment.value)
             .join(Article, Comment.article_id == Article.id)
             .outerjoin(parent, Comment.parent_id == parent.id)
             .outerjoin(TriageResult, TriageResult.id == Comment.triage_id)
             .outerjoin(last, last.c.comment_id == Comment.id)
             .outerjoin(Decision, Decision.id == last.c.decision_id)
             .outerjoin(first, first.c.comment_id == Comment.id)
             .outerjoin(CommentSentiment, CommentSentiment.comment_id == Comment.id)
             .where(*where)
             .order_by(Comment.id).execution_options(yield_per=5000))
    records, scorers, rulesets = [], {}, set()
    with db.session() as session:
        for (ext, source, parent_ext, art, title, author, created, text, lang, scores, model, hits, versions,
             ruleset, action, reason, arrived, decided, mood) in session.execute(query):
            # Ids are unique per source: keep the source in the key so two sources never collide.
            records.append({"id": f"{source}/{ext}", "parent_id": f"{source}/{parent_ext}" if parent_ext else None,
                            "article_id": art, "article_title": title, "author": author, "created_at": created,
                            "text": text, "language": lang, "toxicity": top_score(scores), "model_decision": model,
                            "rules": tuple(h.get("rule", "") for h in hits or ()),
                            "human_decision": {"approve": "approved", "reject": "rejected"}.get(action or ""),
                            "reason_code": reason, "decision_seconds": waited(arrived, decided),
                            "sentiment": mood})
            scorers.update(versions or {})
            if ruleset:
                rulesets.add(ruleset)
    return from_records(records, {"input": "database", "format": "store", "scorers": scorers,
                                  "ruleset_version": ", ".join(sorted(rulesets))})
