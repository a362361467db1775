"""Exports of stored comments; JSONL in the import schema round-trips through `moderation import`."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from moderation.store import Article, Comment, Database, Decision

HUMAN_WORDS = {"approve": "approved", "reject": "rejected"}


def import_schema_rows(session: Session, batch: int = 5000) -> Iterator[dict]:
    """Every stored comment as an import-schema record, in article then time order, streamed."""
    last = select(Decision.comment_id, func.max(Decision.id).label("decision_id")) \
        .group_by(Decision.comment_id).subquery()
    parent = aliased(Comment)
    query = (select(Comment, Article.external_id, Article.title, Article.url, parent.external_id, Decision.action)
             .join(Article, Comment.article_id == Article.id)
             .outerjoin(parent, Comment.parent_id == parent.id)
             .outerjoin(last, last.c.comment_id == Comment.id)
             .outerjoin(Decision, Decision.id == last.c.decision_id)
             .order_by(Comment.id)
             .execution_options(yield_per=batch))
    for c, art_ext, title, url, parent_ext, last_action in session.execute(query):
        row = {"id": c.external_id, "article_id": art_ext, "text": c.text,
               "parent_id": parent_ext or c.parent_external_id, "author": c.author,
               "created_at": c.created_at.isoformat() if c.created_at else None,
               "article_title": title, "article_url": url,
               "decision": HUMAN_WORDS.get(last_action or ""), "source": c.source, "kind": c.kind,
               "status": c.source_status, "language": c.language, "meta": c.meta or None}
        yield {k: v for k, v in row.items() if v is not None}


def export_jsonl(db: Database, out: Path, pseudonym: Callable[[str], str] | None = None) -> int:
    """Write all comments as JSON Lines in the import schema (authors pseudonymised if given); returns the count."""
    out.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with db.session() as session, out.open("w", encoding="utf-8") as fh:
        for row in import_schema_rows(session):
            if pseudonym and row.get("author"):
                row["author"] = pseudonym(row["author"])
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count
