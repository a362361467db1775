"""Threads around a comment (ancestors, siblings, replies) and an article's thread as readers see it."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from moderation.domain.messages import N_
from moderation.store.models import Article, Comment

MAX_ANCESTORS = 50
MAX_SIBLINGS = 20
MAX_REPLIES = 50
MAX_DESCENDANTS = 5000  # "reject with replies" stops here rather than walk a runaway thread
MAX_PUBLIC = 5000


@dataclass
class Node:
    """A comment in a thread."""

    id: int
    parent_id: int | None
    author: str | None
    text: str
    created_at: datetime | None
    status: str
    depth: int
    version: int = 0  # read with the status: the view a moderator's decision on this node is based on
    children: list["Node"] = field(default_factory=list)


COLUMNS = (Comment.id, Comment.parent_id, Comment.author, Comment.text, Comment.created_at, Comment.status,
           Comment.depth, Comment.version)


def _node(row) -> Node:  # noqa: ANN001
    return Node(row.id, row.parent_id, row.author, row.text, row.created_at, row.status, row.depth, row.version)


@dataclass
class Context:
    """What surrounds one comment: the chain above it, its siblings, its direct replies."""

    ancestors: list[Node]
    siblings: list[Node]
    replies: list[Node]
    more_replies: int


def context(session: Session, comment: Comment) -> Context:
    """The thread around a comment, each part bounded so a huge thread stays quick."""
    ancestors: list[Node] = []
    parent_id = comment.parent_id
    while parent_id is not None and len(ancestors) < MAX_ANCESTORS:
        row = session.execute(select(*COLUMNS).where(Comment.id == parent_id)).first()
        if row is None:
            break
        ancestors.insert(0, _node(row))
        parent_id = row.parent_id
    sibling_query = select(*COLUMNS).where(Comment.id != comment.id)
    sibling_query = (sibling_query.where(Comment.parent_id == comment.parent_id) if comment.parent_id is not None
                     # coalesce: "parent_id IS NULL" would tempt SQLite into the parent index, which holds
                     # every top-level comment of every article; the article's own index is the narrow one.
                     else sibling_query.where(Comment.article_id == comment.article_id,
                                              func.coalesce(Comment.parent_id, 0) == 0))
    siblings = [_node(r) for r in session.execute(
        sibling_query.order_by(Comment.created_at, Comment.id).limit(MAX_SIBLINGS))]
    replies = [_node(r) for r in session.execute(select(*COLUMNS).where(Comment.parent_id == comment.id).order_by(
        Comment.created_at, Comment.id).limit(MAX_REPLIES + 1))]
    return Context(ancestors, siblings, replies[:MAX_REPLIES], max(0, len(replies) - MAX_REPLIES))


def descendants(session: Session, comment_id: int, limit: int = MAX_DESCENDANTS) -> list[int]:
    """Ids of every reply below a comment, level by level (breadth first)."""
    out: list[int] = []
    level = [comment_id]
    while level and len(out) < limit:
        level = list(session.scalars(select(Comment.id).where(Comment.parent_id.in_(level)).order_by(Comment.id)))
        out.extend(level)
    return out[:limit]


@dataclass
class PublicComment:
    """A comment as readers see it: the text when published, otherwise a placeholder without author or text."""

    id: int
    author: str | None
    text: str | None
    created_at: datetime | None
    placeholder: str | None  # why the text is not shown
    children: list["PublicComment"] = field(default_factory=list)


PLACEHOLDERS = {"rejected": N_("This comment was removed by the moderators."),
                "held": N_("This comment is awaiting moderation."), "new": N_("This comment is awaiting moderation.")}


def public_thread(session: Session, article_id: int) -> list[PublicComment]:
    """The article's thread for readers: rejected comments stay as placeholders so replies keep their context;
    unpublished ones appear only when a published reply hangs below them."""
    rows = session.execute(select(*COLUMNS).where(Comment.article_id == article_id).order_by(
        Comment.created_at, Comment.id).limit(MAX_PUBLIC)).all()
    nodes = {r.id: _node(r) for r in rows}
    roots: list[Node] = []
    for node in nodes.values():
        parent = nodes.get(node.parent_id) if node.parent_id is not None else None
        (parent.children if parent is not None else roots).append(node)

    def visible(node: Node) -> PublicComment | None:
        children = [c for c in (visible(child) for child in node.children) if c is not None]
        if node.status == "approved":
            return PublicComment(node.id, node.author, node.text, node.created_at, None, children)
        if node.status == "rejected" or children:
            return PublicComment(node.id, None, None, node.created_at, PLACEHOLDERS.get(node.status), children)
        return None

    return [c for c in (visible(root) for root in roots) if c is not None]


def find_article(session: Session, key: str) -> Article | None:
    """An article by its id, or by its external id in the source system."""
    if key.isdigit():
        found = session.get(Article, int(key))
        if found is not None:
            return found
    return session.scalars(select(Article).where(Article.external_id == key).order_by(Article.id).limit(1)).first()


def article_language(session: Session, article: Article) -> str | None:
    """The article's language as the source gave it, else the language most of its comments were detected in."""
    if article.language:
        return article.language
    return session.scalars(select(Comment.language).where(Comment.article_id == article.id,
                                                          Comment.language.is_not(None))
                           .group_by(Comment.language).order_by(func.count().desc(), Comment.language).limit(1)).first()
