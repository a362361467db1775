"""Disqus XML exports: <thread> and <post> elements under <disqus>, in any order."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from lxml import etree

from moderation.domain.comments import ArticleRecord, CommentRecord, ImportBatch
from moderation.importers import ImportFormatError
from moderation.importers.common import LIMITS, SOURCE_LIMIT, Collector, check_length, parse_datetime
from moderation.importers.html import html_to_text
from moderation.importers.xmlread import (DISQUS_NAMESPACE, DISQUS_ROOT, DSQ_ID, iter_children, markup_of,
                                          split_tag, text_of)

Fields = dict[str, etree._Element]


def parse_batches(path: str | Path, source: str | None = None) -> list[ImportBatch]:
    """Read a Disqus export: threads become articles, posts become records (keyed by dsq:id)."""
    path = str(path)
    collector = Collector(path)
    forum = None
    for element in iter_children(path, DISQUS_ROOT, depth=1):
        name = _key(element)
        if name == "thread":
            article, thread_forum = _thread(element, path)
            forum = forum or thread_forum
            collector.batch.articles.setdefault(article.external_id, article)
        elif name == "post":
            collector.add(_post(element, path), element.sourceline)
    # Threads may come after their posts, so titles and links are filled in only now. A post whose
    # thread is not in the file keeps article_id = the thread's dsq:id; the store marks it orphan.
    for record in collector.batch.comments:
        article = collector.batch.articles.get(record.article_id)
        if article is not None:
            record.article_title, record.article_url = article.title, article.url
    return [collector.finish(source or (f"disqus:{forum}" if forum else "disqus"))]


def _thread(element: etree._Element, path: str) -> tuple[ArticleRecord, str | None]:
    """One thread as an article, and the forum it belongs to."""
    thread_id = _dsq_id(element, path, "thread")
    check_length(thread_id, LIMITS["article_id"], "the thread id", path, element.sourceline)
    fields = _fields(element)
    forum = fields.get("forum")
    check_length(text_of(forum), SOURCE_LIMIT - len("disqus:"), "the forum name", path, _line(forum, element))
    created = fields.get("createdAt")
    article = ArticleRecord(thread_id, title=text_of(fields.get("title")) or None,
                            url=text_of(fields.get("link")) or None,
                            created_at=parse_datetime(text_of(created), path, _line(created, element)))
    return article, text_of(forum) or None


def _post(element: etree._Element, path: str) -> CommentRecord:
    """One post as a record."""
    post_id = _dsq_id(element, path, "post")
    fields = _fields(element)
    thread = fields.get("thread")
    if thread is None:
        raise ImportFormatError(path, element.sourceline, f"post {post_id!r} has no <thread>")
    parent = fields.get("parent")
    author = _fields(fields["author"]) if "author" in fields else {}
    deleted, spam = _flag(fields, "isDeleted", path), _flag(fields, "isSpam", path)
    meta: dict[str, object] = {
        "identifier": text_of(fields.get("id")), "author_email": text_of(author.get("email")),
        "author_username": text_of(author.get("username")), "author_ip": text_of(fields.get("ipAddress"))}
    meta = {key: value for key, value in meta.items() if value}
    if "isAnonymous" in author:
        meta["author_anonymous"] = _flag(author, "isAnonymous", path)
    created = fields.get("createdAt")
    return CommentRecord(
        external_id=post_id, article_id=_dsq_id(thread, path, "thread reference"),
        text=html_to_text(markup_of(fields.get("message"))),
        parent_id=_dsq_id(parent, path, "parent reference") if parent is not None else None,
        author=text_of(author.get("name")) or None,
        created_at=parse_datetime(text_of(created), path, _line(created, element)),
        source_status="spam" if spam else "deleted" if deleted else "approved", meta=meta)


def _dsq_id(element: etree._Element, path: str, what: str) -> str:
    """The dsq:id attribute, which Disqus uses as the external id; required."""
    value = (element.get(DSQ_ID) or "").strip()
    if not value:
        raise ImportFormatError(path, element.sourceline, f"{what} without dsq:id")
    return value


def _flag(fields: Fields, name: str, path: str) -> bool:
    """A "true"/"false" child; missing or empty counts as false."""
    element = fields.get(name)
    value = text_of(element).lower()
    if value not in ("", "true", "false"):
        raise ImportFormatError(path, element.sourceline, f"<{name}> must be true or false, got {value!r}")
    return value == "true"


def _fields(element: etree._Element) -> Fields:
    """Children by local name, first one wins."""
    out: Fields = {}
    for child in element:
        if isinstance(child.tag, str):
            out.setdefault(_key(child), child)
    return out


def _key(element: etree._Element) -> str:
    """Local name for Disqus-namespace elements, "{ns}name" for anything else."""
    tag = element.tag
    return _name(tag) if isinstance(tag, str) else ""  # not a str: an unexpanded entity reference


@lru_cache(maxsize=256)
def _name(tag: str) -> str:
    namespace, local = split_tag(tag)
    return local if namespace == DISQUS_NAMESPACE else tag


def _line(element: etree._Element | None, fallback: etree._Element) -> int:
    return (element if element is not None else fallback).sourceline or 1
