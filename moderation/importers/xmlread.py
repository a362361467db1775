"""Safe, streaming XML reading for the WXR and Disqus parsers, and telling the two apart."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

from lxml import etree

from moderation.importers import ImportFormatError

# WordPress has written http:// and https:// spellings and versions 1.0, 1.1, 1.2 of its namespace.
WP_NAMESPACE = re.compile(r"^https?://wordpress\.org/export/\d+(?:\.\d+)*/?$")
DISQUS_NAMESPACE = "http://disqus.com"
DISQUS_ROOT = f"{{{DISQUS_NAMESPACE}}}disqus"
DSQ_ID = "{http://disqus.com/disqus-internals}id"

# Defused: entities are never expanded (no "billion laughs"), nothing is fetched; huge_tree lifts
# libxml2's size limits, which real comment exports with long CDATA sections exceed.
_SAFE = dict(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True,
             remove_comments=True, remove_pis=True)


def iter_children(path: str, root_tag: str, depth: int) -> Iterator[etree._Element]:
    """Each complete element `depth` levels below a root named `root_tag`, freed after use.

    Streams the file, so memory stays flat however many comments an export holds.
    """
    level = -1
    with open(path, "rb") as fh:
        try:
            for event, element in etree.iterparse(fh, events=("start", "end"), **_SAFE):
                if event == "start":
                    level += 1
                    if level == 0 and element.tag != root_tag:
                        raise ImportFormatError(path, element.sourceline or 1, f"expected root element "
                                                f"{_describe(root_tag)}, found {_describe(element.tag)}")
                    continue
                level -= 1
                if level + 1 == depth:
                    yield element
                    # Free what was read: this element's content and the siblings before it.
                    element.clear(keep_tail=True)
                    parent = element.getparent()
                    while element.getprevious() is not None:
                        del parent[0]
        except etree.XMLSyntaxError as err:
            raise ImportFormatError(path, err.lineno or 1, f"XML syntax error: {err.msg}") from None


def sniff_xml(path: str | Path) -> str:
    """'wxr' or 'disqus' from the root element and the namespaces declared near the top."""
    root = None
    with open(path, "rb") as fh:
        try:
            for count, (_, element) in enumerate(etree.iterparse(fh, events=("start",), **_SAFE)):
                root = element if root is None else root
                if root.tag == DISQUS_ROOT:
                    return "disqus"
                # WXR is RSS with a WordPress export namespace in scope (normally declared on <rss>).
                if root.tag == "rss" and any(WP_NAMESPACE.match(uri) for uri in element.nsmap.values()):
                    return "wxr"
                if count >= 50:
                    break
        except etree.XMLSyntaxError as err:
            raise ImportFormatError(path, err.lineno or 1, f"XML syntax error: {err.msg}") from None
    if root is None:
        raise ImportFormatError(path, 1, "empty XML document")
    raise ImportFormatError(path, root.sourceline or 1, f"unknown XML format: root element <{_local(root)}> "
                                                        "is neither WordPress WXR nor Disqus")


def text_of(element: etree._Element | None) -> str:
    """All text inside an element, stripped ("" for a missing one); unexpanded entities stay "&name;"."""
    if element is None:
        return ""
    if len(element) == 0:  # the usual case, and much faster than itertext()
        return (element.text or "").strip()
    return "".join(element.itertext()).strip()


def markup_of(element: etree._Element | None) -> str:
    """An HTML body: its text, or its inner XML when an exporter wrote the HTML unescaped."""
    if element is None:
        return ""
    if len(element) == 0:
        return element.text or ""
    inner = [etree.tostring(child, encoding="unicode", with_tail=True) for child in element]
    return (element.text or "") + "".join(inner)


def split_tag(tag: str) -> tuple[str | None, str]:
    """(namespace, local name) of a tag; unlike etree.QName it accepts any namespace text ("a{b}")."""
    if tag.startswith("{"):
        namespace, _, local = tag[1:].rpartition("}")
        return namespace, local
    return None, tag


def _describe(tag: str) -> str:
    """A tag for messages: "<disqus>" with its namespace, since a wrong namespace is the usual mistake."""
    namespace, local = split_tag(tag)
    return f"<{local}> (namespace {namespace!r})" if namespace else f"<{local}>"


def _local(element: etree._Element) -> str:
    return split_tag(element.tag)[1] if isinstance(element.tag, str) else "?"
