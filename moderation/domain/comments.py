"""Domain types: articles, comments, decisions and thread-tree helpers."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Hashable, Iterable, Iterator, Mapping

from moderation.domain.messages import N_


class Kind(StrEnum):
    COMMENT = "comment"
    PINGBACK = "pingback"
    TRACKBACK = "trackback"


class Status(StrEnum):
    """Where a comment stands now: untriaged, published, waiting for a human, or refused."""

    NEW = "new"
    APPROVED = "approved"
    HELD = "held"
    REJECTED = "rejected"


class Action(StrEnum):
    """What triage or a moderator decides."""

    APPROVE = "approve"
    HOLD = "hold"
    REJECT = "reject"

    @property
    def status(self) -> Status:
        return {Action.APPROVE: Status.APPROVED, Action.HOLD: Status.HELD, Action.REJECT: Status.REJECTED}[self]


# Reason codes a moderator picks when rejecting (one key each in the queue); sites may add their own.
REASON_CODES: dict[str, str] = {
    "personal-attack": N_("Personal attack or insult"),
    "defamation": N_("Defamation: unproven accusation"),
    "video-link": N_("Video link"),
    "offensive": N_("Offensive or vulgar language"),
    "hate": N_("Hate speech or discrimination"),
    "spam": N_("Spam or advertising"),
    "off-topic": N_("Off-topic"),
    "misinformation": N_("Misinformation"),
    "other": N_("Other"),
}

# Why triage decided by the author's state on the site (services/authors), not by the comment's text.
AUTHOR_REASONS: dict[str, str] = {
    "author-banned": N_("the author is banned on this site"),
    "author-suspended": N_("the author is suspended on this site"),
    "author-premoderated": N_("every comment by this author is reviewed before publication"),
    "author-trusted": N_("trusted author, no rule applies"),
}

# Historic decisions in imports use the source systems' words.
HISTORIC_DECISIONS = {"approved": Action.APPROVE, "rejected": Action.REJECT}


@dataclass
class ArticleRecord:
    """An article as an importer read it."""

    external_id: str
    title: str | None = None
    url: str | None = None
    created_at: datetime | None = None
    language: str | None = None


@dataclass
class CommentRecord:
    """A comment in the import schema (ids are the source system's), plus where it was read."""

    external_id: str
    article_id: str
    text: str
    parent_id: str | None = None
    author: str | None = None
    created_at: datetime | None = None
    article_title: str | None = None
    article_url: str | None = None
    decision: str | None = None  # historic moderator decision: approved | rejected
    kind: Kind = Kind.COMMENT
    source_status: str | None = None  # the source system's own state: approved, pending, spam, trash, deleted
    language: str | None = None
    meta: dict[str, object] = field(default_factory=dict)
    location: str = ""  # file:line or file:element, for messages


@dataclass
class ImportBatch:
    """Everything one file holds, parsed and validated, before anything is written."""

    source: str
    path: str
    articles: dict[str, ArticleRecord] = field(default_factory=dict)
    comments: list[CommentRecord] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # "path:line: what was read in an unusual way"
    scoped: dict[str, str] = field(default_factory=dict)  # ids the file qualified ("POST/ID") -> the plain id

    def article(self, record: CommentRecord) -> ArticleRecord:
        """The article a comment belongs to, created from the comment's own fields if the file had none."""
        art = self.articles.get(record.article_id)
        if art is None:
            art = self.articles[record.article_id] = ArticleRecord(
                record.article_id, record.article_title, record.article_url)
        else:
            art.title = art.title or record.article_title
            art.url = art.url or record.article_url
        return art


class ThreadError(ValueError):
    """A reply chain that loops back on itself."""


def resolve_depths(parents: Mapping[Hashable, Hashable | None],
                   known_depths: Mapping[Hashable, int] | None = None) -> tuple[dict, set]:
    """Depth of every node whatever order parents come in; returns (depths, orphans).

    A node whose parent is neither in `parents` nor in `known_depths` is an orphan and gets depth 0;
    its own replies count from there. Raises ThreadError on a cycle.
    """
    known = known_depths or {}
    depths: dict = {}
    orphans: set = set()
    for start in parents:
        chain = []
        node = start
        seen: set = set()
        while node not in depths:
            if node in seen:
                raise ThreadError(f"reply chain loops back on itself at {node!r}")
            seen.add(node)
            chain.append(node)
            parent = parents.get(node)
            if parent is None:
                base = -1
                break
            if parent in depths:
                base = depths[parent]
                break
            if parent in known:
                base = known[parent]
                break
            if parent not in parents:
                orphans.add(node)
                base = -1
                break
            node = parent
        else:
            base = depths[node]
        for offset, item in enumerate(reversed(chain), start=1):
            depths[item] = base + offset
    return depths, orphans


@dataclass
class Thread:
    """A comment tree for one article: roots, children, ancestors, siblings; order by time then id."""

    nodes: dict[Hashable, object]
    parent_of: dict[Hashable, Hashable | None]
    children: dict[Hashable | None, list[Hashable]]

    @classmethod
    def build(cls, items: Iterable[object], key: str = "id", parent: str = "parent_id",
              order: str = "created_at") -> "Thread":
        nodes = {getattr(i, key): i for i in items}
        parent_of = {k: getattr(v, parent) for k, v in nodes.items()}
        children: dict = defaultdict(list)
        for k, p in parent_of.items():
            children[p if p in nodes else None].append(k)

        def sort_key(k: Hashable) -> tuple:
            when = getattr(nodes[k], order, None)
            return (when is None, when or datetime.min, str(k))

        for lst in children.values():
            lst.sort(key=sort_key)
        return cls(nodes, parent_of, dict(children))

    @property
    def roots(self) -> list[Hashable]:
        return self.children.get(None, [])

    def replies(self, node: Hashable) -> list[Hashable]:
        return self.children.get(node, [])

    def ancestors(self, node: Hashable) -> list[Hashable]:
        """From the root down to the node's parent."""
        out = []
        current = self.parent_of.get(node)
        while current is not None and current in self.nodes and current not in out:
            out.append(current)
            current = self.parent_of.get(current)
        return out[::-1]

    def siblings(self, node: Hashable) -> list[Hashable]:
        parent = self.parent_of.get(node)
        return [k for k in self.children.get(parent if parent in self.nodes else None, []) if k != node]

    def descendants(self, node: Hashable) -> list[Hashable]:
        return [k for k, _ in self.walk(node)][1:]

    def walk(self, start: Hashable | None = None) -> Iterator[tuple[Hashable, int]]:
        """Depth-first (node, depth) in reading order; from all roots when start is None."""
        stack = [(k, 0) for k in reversed(self.roots)] if start is None else [(start, 0)]
        while stack:
            node, depth = stack.pop()
            yield node, depth
            stack.extend((c, depth + 1) for c in reversed(self.children.get(node, [])))
