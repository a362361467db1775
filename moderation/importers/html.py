"""Comment HTML (WordPress, Disqus) to plain text, keeping line breaks and link targets visible."""
from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = frozenset("p div blockquote pre ul ol li dl dt dd table tr h1 h2 h3 h4 h5 h6 hr".split())
_PARAGRAPHS = frozenset("p blockquote pre ul ol table h1 h2 h3 h4 h5 h6".split())
_INVISIBLE = frozenset({"script", "style", "template"})
_SCHEME = re.compile(r"^(?:https?://|ftp://|mailto:)", re.IGNORECASE)


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment: <br>/<p> become newlines, tags go, links read "label (URL)".

    Newlines already in the source are kept: WordPress stores comments with bare newlines and only
    adds <p>/<br> when displaying them.
    """
    if "<" in markup or "&" in markup:
        parser = _TextParser()
        parser.feed(markup)
        parser.close()
        while parser.links:  # an <a> left open at the end still shows its target
            parser.end_link()
        markup = "".join(parser.out)
    text = markup.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


class _TextParser(HTMLParser):
    """Collects text pieces; entities are decoded by HTMLParser itself (convert_charrefs)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.links: list[tuple[str | None, int]] = []  # open <a>: href, where its label starts in out
        self.hidden = 0
        self.pending = 0  # newlines owed by tags, written before the next text

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _INVISIBLE:
            self.hidden += 1
        elif tag == "br":
            self.out.append("\n" * (self.pending + 1))  # each <br> counts, "<br><br>" is a blank line
            self.pending = 0
        elif tag in _BLOCKS:
            self._block(tag)
        elif tag == "a":
            self.links.append((dict(attrs).get("href"), len(self.out)))

    def handle_endtag(self, tag: str) -> None:
        if tag in _INVISIBLE:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCKS:
            self._block(tag)
        elif tag == "a" and self.links:
            self.end_link()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <br/> and <hr/> break once; a self-closed <a/> has no label, so it shows just its target.
        self.handle_starttag(tag, attrs)
        if tag == "a":
            self.end_link()

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        if self.pending or (self.out and self.out[-1].endswith("\n") and self.out[-1].strip() == ""):
            # Source line breaks right after a tag's break repeat it ("<br />\n", "</p>\n<p>").
            data = re.sub(r"^[ \t]*\r?\n", "", data)
            if not data.strip() and "\n" in data:
                return
        if self.pending and data:
            self.out.append("\n" * self.pending)
            self.pending = 0
        self.out.append(data)

    def _block(self, tag: str) -> None:
        # Consecutive block edges ("</p><p>", "</li><li>") give one break, not one each.
        self.pending = max(self.pending, 2 if tag in _PARAGRAPHS else 1)

    def end_link(self) -> None:
        """Close the innermost <a>: append its target unless the label already shows it."""
        href, start = self.links.pop()
        href = (href or "").strip()
        if not href:
            return
        label = "".join(self.out[start:]).strip()
        if not label:
            before = "".join(self.out[-1:])
            self.out.append(href if not before or before[-1].isspace() else f" {href}")
        elif _bare(label) != _bare(href):
            self.out.append(f" ({href})")


def _bare(url: str) -> str:
    """A URL without scheme, trailing slash or case, to tell whether a label just repeats it."""
    return _SCHEME.sub("", url.strip()).rstrip("/").lower()
