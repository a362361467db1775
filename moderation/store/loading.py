"""Writing an ImportBatch: idempotent on (source, external id), threads rebuilt, orphans kept and counted."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from functools import lru_cache
from operator import attrgetter
from typing import Iterable, Iterator, NamedTuple, Sequence

from sqlalchemy import Row, Select, and_, bindparam, false, insert, literal, select, update
from sqlalchemy.orm import Session, aliased

from moderation.domain.comments import HISTORIC_DECISIONS, CommentRecord, ImportBatch, ThreadError, resolve_depths
from moderation.store.authors import AuthorState
from moderation.store.bulk import insert_rows
from moderation.store.models import Article, Comment, Decision, utcnow

CHUNK = 2000  # ids per IN (...) query; SQLite allows 32,766 parameters
REMOVED_AT_SOURCE = {"spam", "trash", "post-trashed", "deleted"}


@dataclass
class ImportReport:
    articles: int = 0
    comments: int = 0
    replies: int = 0
    orphans: int = 0
    skipped: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    def add(self, other: "ImportReport") -> None:
        for key, value in asdict(other).items():
            setattr(self, key, getattr(self, key) + value)


class ImportConflict(ValueError):
    """The batch cannot be written (e.g. reply chains that loop); nothing was written."""


def _chunks(items: Sequence, size: int = CHUNK) -> Iterator[Sequence]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _existing(session: Session, model: type, source: str, ids: Iterable[str], *cols) -> dict:
    ids = list(dict.fromkeys(ids))
    found = {}
    # One statement, its list bound as a whole: in_(part) would coerce every id into a literal first.
    statement = select(model.external_id, *cols).where(model.source == source,
                                                       model.external_id.in_(bindparam("ids", expanding=True)))
    for part in _chunks(ids):
        for row in session.execute(statement, {"ids": part}):
            found[row[0]] = tuple(row[1:])
    return found


def _load_articles(session: Session, batch: ImportBatch, report: ImportReport) -> dict[str, tuple[int, bool]]:
    """External id -> (id, placeholder) for every article the batch mentions; new ones are inserted."""
    for record in batch.comments:
        if record.article_id not in batch.articles and (record.article_title or record.article_url):
            batch.article(record)
    wanted = set(batch.articles) | {c.article_id for c in batch.comments}
    known = {k: (v[0], v[1]) for k, v in _existing(session, Article, batch.source, wanted,
                                                      Article.id, Article.placeholder).items()}
    for ext, (art_id, placeholder) in list(known.items()):
        record = batch.articles.get(ext)
        if placeholder and record is not None:  # the article a reply pointed to has arrived
            session.execute(update(Article).where(Article.id == art_id).values(
                title=record.title, url=record.url, created_at=record.created_at, placeholder=False))
            session.execute(update(Comment).where(
                Comment.article_id == art_id,
                Comment.parent_external_id.is_(None) | Comment.parent_id.is_not(None)).values(orphan=False))
            known[ext] = (art_id, False)
    rows = []
    for ext in sorted(wanted - set(known)):
        record = batch.articles.get(ext)
        rows.append({"source": batch.source, "external_id": ext, "placeholder": record is None,
                     "title": record.title if record else None, "url": record.url if record else None,
                     "created_at": record.created_at if record else None,
                     "language": record.language if record else None})
    if rows:
        result = insert_rows(session, Article.__table__, rows, ("id", "external_id"))
        placeholders = {row["external_id"]: row["placeholder"] for row in rows}
        known.update({ext: (art_id, placeholders[ext]) for art_id, ext in result})
        report.articles += len(rows)
    return known


def _row(record: CommentRecord, source: str, article_id: int, depth: int, orphan: bool) -> dict:
    removed = (record.source_status or "") in REMOVED_AT_SOURCE
    decided = HISTORIC_DECISIONS.get(record.decision or "")
    status = decided.status.value if decided else "rejected" if removed else "new"
    return {"source": source, "external_id": record.external_id, "article_id": article_id,
            "parent_external_id": record.parent_id, "depth": depth, "orphan": orphan, "author": record.author,
            "text": record.text, "created_at": record.created_at, "language": record.language,
            "kind": record.kind.value, "source_status": record.source_status, "meta": record.meta,
            # Removed at the source (spam, trash) counts as the site's own decision: rules never overturn it.
            "imported_at": utcnow(), "status": status, "decided_by_human": decided is not None or removed,
            "version": int(decided is not None)}  # the historic decision written beside it


_STORED_TEXT = attrgetter("external_id", "article_id", "parent_id", "text", "author", "article_title", "article_url",
                          "language", "source_status")


def check_storable(record: CommentRecord, path: str) -> None:
    """Refuse what no backend can store; callers check before any query that would carry the value."""
    # PostgreSQL cannot store NUL in text or JSON; refusing it everywhere keeps the backends interchangeable.
    if "\x00" in "".join([v for v in _STORED_TEXT(record) if isinstance(v, str)]) or (
            record.meta and _has_nul(record.meta)):
        raise ImportConflict(f"{record.location or path}: comment {record.external_id!r} contains a NUL "
                             f"character, which no comment can hold")


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_has_nul(v) for v in value)
    return False


def load_batch(session: Session, batch: ImportBatch) -> ImportReport:
    """Write a parsed file in the caller's transaction; raises ImportConflict before writing anything odd."""
    report = ImportReport()
    for record in batch.comments:
        check_storable(record, batch.path)
    _keep_plain_ids(session, batch)
    present = _existing(session, Comment, batch.source, (c.external_id for c in batch.comments))
    new = [c for c in batch.comments if c.external_id not in present]
    report.skipped = len(batch.comments) - len(new)
    by_ext = {c.external_id: c for c in new}
    known_parents = _existing(session, Comment, batch.source,
                              {c.parent_id for c in new if c.parent_id and c.parent_id not in by_ext},
                              Comment.id, Comment.depth)
    try:
        depths, orphans = resolve_depths({c.external_id: c.parent_id for c in new},
                                         {ext: row[1] for ext, row in known_parents.items()})
    except ThreadError as exc:
        where = by_ext.get(str(exc).rsplit(" ", 1)[-1].strip("'\""))
        raise ImportConflict(f"{where.location if where else batch.path}: {exc}") from None
    articles = _load_articles(session, batch, report)

    ids: dict[str, int] = {ext: row[0] for ext, row in known_parents.items()}
    by_depth: dict[int, list[CommentRecord]] = defaultdict(list)
    for record in new:
        by_depth[depths[record.external_id]].append(record)
    decisions = []
    for depth in sorted(by_depth):  # parents before replies, so every parent id is known
        rows = []
        for record in by_depth[depth]:
            art_id, placeholder = articles[record.article_id]
            orphan = record.external_id in orphans or placeholder
            row = _row(record, batch.source, art_id, depth, orphan)
            row["parent_id"] = ids.get(record.parent_id) if record.parent_id else None
            rows.append(row)
            report.replies += record.parent_id is not None
            report.orphans += orphan
        for comment_id, ext in insert_rows(session, Comment.__table__, rows, ("id", "external_id")):
            ids[ext] = comment_id
        for record in by_depth[depth]:
            action = HISTORIC_DECISIONS.get(record.decision or "")
            if action is not None:
                decisions.append({"comment_id": ids[record.external_id], "action": action.value,
                                  "actor": f"import:{batch.source}", "origin": "import", "created_at": utcnow()})
    insert_rows(session, Decision.__table__, decisions)
    report.comments = len(new)
    try:
        _adopt(session, batch.source, ids, {c.external_id for c in new})
    except ThreadError as exc:
        where = by_ext.get(str(exc).rsplit(" ", 1)[-1].strip("'\""))
        raise ImportConflict(f"{where.location if where else batch.path}: {exc}") from None
    return report


def _keep_plain_ids(session: Session, batch: ImportBatch) -> None:
    """A comment the file scopes by post ("POST/ID") keeps the plain id it was stored under from that post."""
    if not batch.scoped:
        return
    stored = set()
    for part in _chunks(sorted(set(batch.scoped.values()))):
        stored.update(session.execute(select(Comment.external_id, Article.external_id).join(
            Article, Comment.article_id == Article.id).where(Comment.source == batch.source,
                                                             Comment.external_id.in_(part))).all())
    plain = {c.external_id: batch.scoped[c.external_id] for c in batch.comments
             if c.external_id in batch.scoped and (batch.scoped[c.external_id], c.article_id) in stored}
    for record in batch.comments:
        record.external_id = plain.get(record.external_id, record.external_id)
        record.parent_id = plain.get(record.parent_id, record.parent_id) if record.parent_id else None


_INSERT_ONE = insert(Comment.__table__).returning(Comment.__table__.c.id)


class ArticleRow(NamedTuple):
    id: int
    placeholder: bool
    language: str | None
    premoderation: str | None


class ParentRow(NamedTuple):
    id: int
    depth: int
    text: str
    author: str | None
    language: str | None


def look_up(session: Session, record: CommentRecord, source: str) -> Row:
    """The live API's one read before writing: the comment's id if stored already (`existing`), its article and
    parent (None when unknown), the author's state row (`state`, `until`, `actor`, `reason`; None without one), and
    whether earlier orphans wait for this comment (`waiting`)."""
    return session.execute(_look_up(record.parent_id is not None, bool(record.author)),
                           {"source": source, "external_id": record.external_id, "article": record.article_id,
                            "parent": record.parent_id, "author": record.author}).one()


@lru_cache(maxsize=4)
def _look_up(parent_known: bool, author_known: bool) -> Select:
    """look_up's statement, built once (building a statement costs more than running it; bound per call)."""
    parent = aliased(Comment)
    source, external_id = bindparam("source"), bindparam("external_id")
    existing = select(Comment.id).where(Comment.source == source, Comment.external_id == external_id)
    waiting = select(Comment.id).where(Comment.source == source, Comment.orphan.is_(True), Comment.parent_id.is_(None),
                                       Comment.parent_external_id == external_id).exists()
    one = select(literal(1).label("one")).subquery()
    return (select(existing.scalar_subquery().label("existing"), waiting.label("waiting"),
                   Article.id.label("article_id"), Article.placeholder, Article.language.label("article_language"),
                   Article.premoderation, parent.id.label("parent_id"), parent.depth.label("parent_depth"),
                   parent.text.label("parent_text"), parent.author.label("parent_author"),
                   parent.language.label("parent_language"),
                   AuthorState.state, AuthorState.until, AuthorState.actor, AuthorState.reason)
            .select_from(one)
            .outerjoin(Article, and_(Article.source == source, Article.external_id == bindparam("article")))
            .outerjoin(parent, and_(parent.source == source, parent.external_id == bindparam("parent"))
                       if parent_known else false())
            .outerjoin(AuthorState, and_(AuthorState.source == source, AuthorState.author == bindparam("author"))
                       if author_known else false()))


def insert_one(session: Session, record: CommentRecord, source: str,
               found: Row) -> tuple[Comment, ArticleRow, ParentRow | None] | None:
    """A new comment on a known article in one statement (the live API's path), `found` being its look_up().

    Returns a transient Comment carrying its new id, with the article and parent rows the assessment needs;
    None when load_batch must write it: a new or placeholder article, an unknown parent, or a comment that
    arrives decided or removed at its source. The caller has checked that the comment is new.
    """
    if record.decision or (record.source_status or "") in REMOVED_AT_SOURCE:
        return None
    if found.article_id is None or found.placeholder:
        return None
    article = ArticleRow(found.article_id, found.placeholder, found.article_language, found.premoderation)
    parent = None
    if record.parent_id is not None:
        if found.parent_id is None:
            return None
        parent = ParentRow(found.parent_id, found.parent_depth, found.parent_text, found.parent_author,
                           found.parent_language)
    check_storable(record, record.location)
    row = _row(record, source, article.id, parent.depth + 1 if parent else 0, False)
    row["parent_id"] = parent.id if parent else None
    comment_id = session.connection().execute(_INSERT_ONE, row).scalar_one()  # Core: no ORM bulk machinery
    if found.waiting:
        try:
            _adopt(session, source, {record.external_id: comment_id}, {record.external_id})
        except ThreadError as exc:
            raise ImportConflict(f"{record.location}: {exc}") from None
    return Comment(id=comment_id, **row), article, parent


def _adopt(session: Session, source: str, ids: dict[str, int], arrived: set[str]) -> None:
    """Earlier orphans whose parent arrived in this batch get linked, and their subtrees re-depthed."""
    waiting = []
    statement = select(Comment.id, Comment.parent_external_id).where(
        Comment.source == source, Comment.orphan.is_(True), Comment.parent_id.is_(None),
        Comment.parent_external_id.in_(bindparam("ids", expanding=True)))
    for part in _chunks(sorted(arrived)):
        waiting += session.execute(statement, {"ids": part}).all()
    for comment_id, parent_ext in waiting:
        parent_depth = session.execute(select(Comment.depth).where(Comment.id == ids[parent_ext])).scalar_one()
        session.execute(update(Comment).where(Comment.id == comment_id).values(
            parent_id=ids[parent_ext], orphan=False, depth=parent_depth + 1))
        frontier = [(comment_id, parent_depth + 1)]
        while frontier:
            node, depth = frontier.pop()
            children = session.execute(select(Comment.id).where(Comment.parent_id == node)).scalars().all()
            # The new parent below the orphan it adopts: a stored reply chain now loops (the file before
            # said c1 answers c2, this one that c2 answers c1); walking on would never end.
            if ids[parent_ext] in children:
                raise ThreadError(f"reply chain loops back on itself at {parent_ext!r}")
            if children:
                session.execute(update(Comment).where(Comment.id.in_(children)).values(depth=depth + 1))
                frontier += [(child, depth + 1) for child in children]
