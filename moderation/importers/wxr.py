"""WordPress WXR exports (RSS 2.0 plus the wp: namespace, versions 1.0 to 1.2)."""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from html import unescape
from pathlib import Path
from urllib.parse import urlsplit

from lxml import etree

from moderation.domain.comments import ArticleRecord, CommentRecord, ImportBatch, Kind
from moderation.importers import ImportFormatError
from moderation.importers.common import LIMITS, SOURCE_LIMIT, Collector, check_length, parse_datetime
from moderation.importers.html import html_to_text
from moderation.importers.xmlread import WP_NAMESPACE, iter_children, markup_of, split_tag, text_of

CONTENT_NAMESPACE = "http://purl.org/rss/1.0/modules/content/"
# WordPress-internal post types: not articles, unless readers somehow commented on them.
INTERNAL_TYPES = frozenset({"attachment", "nav_menu_item", "revision", "custom_css", "customize_changeset",
                            "oembed_cache", "user_request"})
STATUSES = {"1": "approved", "0": "pending"}  # others ("spam", "trash", "post-trashed") are kept as written
_META_FIELDS = {"author_email": "wp:comment_author_email", "author_url": "wp:comment_author_url",
                "author_ip": "wp:comment_author_IP", "user_id": "wp:comment_user_id"}

Fields = dict[str, etree._Element]


def parse_batches(path: str | Path, source: str | None = None) -> list[ImportBatch]:
    """Read a WXR file: every post/page becomes an article, every wp:comment a record."""
    path = str(path)
    collector = Collector(path)
    host = language = None
    read: list[tuple[CommentRecord, int]] = []
    for element in iter_children(path, "rss", depth=2):  # <rss><channel><item>…
        name = _key(element)
        if name == "item":
            read += _item(element, path, collector)
        elif name == "link":
            host = _host(text_of(element), path, element.sourceline)
            check_length(host, SOURCE_LIMIT - len("wordpress:"), "the site's host", path, element.sourceline)
        elif name == "language":
            language = text_of(element).split("-")[0].lower() or None  # "de-DE" -> "de"
            check_length(language, LIMITS["language"], "the language", path, element.sourceline)
    for record, line in _scoped(read, collector):
        collector.add(record, line)
    for article in collector.batch.articles.values():
        article.language = article.language or language
    return [collector.finish(source or (f"wordpress:{host}" if host else "wordpress"))]


def _scoped(read: list[tuple[CommentRecord, int]], collector: Collector) -> list[tuple[CommentRecord, int]]:
    """Comment ids used under several posts become "post/id", parents resolved within their own post.

    Merged or hand-edited exports repeat WordPress's per-site ids; Isso's importer keys them by post, too.
    Ids seen under one post keep their plain id, so files imported before stay idempotent.
    """
    posts: dict[str, dict[str, int]] = {}  # comment id -> post -> first line
    for record, line in read:
        posts.setdefault(record.external_id, {}).setdefault(record.article_id, line)
    repeated = {cid: where for cid, where in posts.items() if len(where) > 1}
    for cid, where in repeated.items():
        keys = ", ".join(f"{post}/{cid}" for post in where)
        collector.batch.notices.append(f"{collector.path}:{min(where.values())}: comment id {cid!r} is used "
                                       f"under several posts; imported as {keys}")
    for record, _ in read:
        if record.external_id in repeated:
            record.meta["wxr_comment_id"] = record.external_id
            record.external_id = f"{record.article_id}/{record.external_id}"
            collector.batch.scoped[record.external_id] = record.meta["wxr_comment_id"]
        if record.parent_id in repeated:
            record.parent_id = f"{record.article_id}/{record.parent_id}"
    return read


def _item(item: etree._Element, path: str, collector: Collector) -> list[tuple[CommentRecord, int]]:
    """One post or page, and its comments with their lines."""
    fields = _fields(item)
    comments = [child for child in item if _key(child) == "wp:comment"]
    post_type = text_of(fields.get("wp:post_type")) or "post"
    if not comments and (post_type in INTERNAL_TYPES or post_type.startswith("wp_")):
        return []
    # Some exporters (Isso's tests show it) leave out post ids; guid and link identify the post too.
    article_id = (text_of(fields.get("wp:post_id")) or text_of(fields.get("guid"))
                  or text_of(fields.get("link")))
    if not article_id:
        raise ImportFormatError(path, item.sourceline, "item without wp:post_id, guid or link")
    check_length(article_id, LIMITS["article_id"], "the post id", path, item.sourceline)
    created_at, _ = _date(fields, "wp:post_date", path)
    # WordPress stores titles and names with HTML entities ("&amp;").
    article = collector.batch.articles.setdefault(article_id, ArticleRecord(
        article_id, title=unescape(text_of(fields.get("title"))) or None,
        url=text_of(fields.get("link")) or None, created_at=created_at))
    return [(_comment(comment, article, path), comment.sourceline) for comment in comments]


def _comment(element: etree._Element, article: ArticleRecord, path: str) -> CommentRecord:
    """One wp:comment as a record."""
    fields = _fields(element)
    comment_id = text_of(fields.get("wp:comment_id"))
    if not comment_id:
        raise ImportFormatError(path, element.sourceline, "wp:comment without wp:comment_id")
    meta: dict[str, object] = {key: text_of(fields.get(name)) for key, name in _META_FIELDS.items()}
    meta = {key: value for key, value in meta.items() if value and not (key == "user_id" and value == "0")}
    comment_type = text_of(fields.get("wp:comment_type"))
    if comment_type not in ("", "comment", "pingback", "trackback"):
        meta["type"] = comment_type  # e.g. WooCommerce "review": still a reader's comment
    created_at, local = _date(fields, "wp:comment_date", path)
    if local:
        meta["date_is_local_time"] = True  # site time zone unknown; read as UTC
    extra = _commentmeta(element)
    if extra:
        meta["commentmeta"] = extra
    parent = text_of(fields.get("wp:comment_parent"))
    approved = text_of(fields.get("wp:comment_approved"))
    return CommentRecord(
        external_id=comment_id, article_id=article.external_id,
        text=html_to_text(markup_of(fields.get("wp:comment_content"))),
        parent_id=None if parent in ("", "0") else parent,
        author=unescape(text_of(fields.get("wp:comment_author"))) or None,
        created_at=created_at, article_title=article.title, article_url=article.url,
        kind=Kind(comment_type) if comment_type in ("pingback", "trackback") else Kind.COMMENT,
        source_status=STATUSES.get(approved, approved) or None, meta=meta)


def _date(fields: Fields, name: str, path: str) -> tuple[datetime | None, bool]:
    """The *_gmt date if set, else the site-local one read as UTC; the flag says which was used."""
    for field, local in ((f"{name}_gmt", False), (name, True)):
        element = fields.get(field)
        if element is not None:
            when = parse_datetime(text_of(element), path, element.sourceline)
            if when is not None:
                return when, local
    return None, False


def _commentmeta(comment: etree._Element) -> dict[str, str]:
    """wp:commentmeta key/value pairs (ratings, Akismet results, …)."""
    pairs = {}
    for child in comment:
        if _key(child) == "wp:commentmeta":
            fields = _fields(child)
            key = text_of(fields.get("wp:meta_key"))
            if key:
                pairs[key] = text_of(fields.get("wp:meta_value"))
    return pairs


def _fields(element: etree._Element) -> Fields:
    """Children by name, first one wins: "wp:x" for any WordPress namespace, "content:x", bare RSS."""
    out: Fields = {}
    for child in element:
        out.setdefault(_key(child), child)
    return out


def _key(element: etree._Element) -> str:
    """A namespace-independent name: WordPress has used several namespace URIs for the same fields."""
    tag = element.tag
    return _name(tag) if isinstance(tag, str) else ""  # not a str: an unexpanded entity reference


@lru_cache(maxsize=512)
def _name(tag: str) -> str:
    namespace, local = split_tag(tag)
    if namespace is None:
        return local
    if WP_NAMESPACE.match(namespace):
        return f"wp:{local}"
    if namespace == CONTENT_NAMESPACE:
        return f"content:{local}"
    return tag


def _host(link: str, path: str, line: int) -> str | None:
    """The host of the channel link, also when it lacks a scheme."""
    if not link:
        return None
    try:
        return urlsplit(link if "//" in link else f"//{link}").hostname
    except ValueError as err:  # "http://[2001:db8::1": an unclosed IPv6 address
        raise ImportFormatError(path, line, f"invalid channel link {link[:100]!r}: {err}") from None
