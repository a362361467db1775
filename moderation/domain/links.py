"""Finding links in comment text: with or without scheme, and written to dodge filters ("youtube . com")."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable, NamedTuple

import ahocorasick
import regex

# Top-level domains accepted for links written without scheme or "www." (a bare "word.tld").
TLDS = ("com net org de at ch eu be tv io ly gl me info co uk fr it nl es pl ru us ca app link to "
        "gg cc biz online site live news video watch sh ws la su xyz").split()
_TLD = "|".join(sorted(TLDS, key=len, reverse=True))
# A dot, or a dot written out to dodge filters: " . ", "(dot)", "[punkt]", " dot ". A dot followed by a
# space but not preceded by one ends a sentence ("es. At"), so it does not count.
_DOT = r"(?:\.(?!\s)|\s\.\s?|\s*[(\[{]\s*(?:dot|punkt)\s*[)\]}]\s*|\s+(?:dot|punkt)\s+)"
_PATH = r"(?:/[^\s<>\"')\]]*)?"

URL_RE = regex.compile(
    rf"(?P<scheme>\bhttps?://[^\s<>\"']+)"
    # Labels may be joined by spaced dots too: "www . youtube . com".
    rf"|(?P<www>\bwww{_DOT}(?:[a-z0-9\-]+{_DOT})*[^\s<>\"']+)"
    rf"|(?P<bare>(?<![\w@.\-/])(?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?{_DOT})+(?:{_TLD})(?![\w\-]){_PATH})",
    regex.IGNORECASE | regex.V1,
)
_DOT_ONLY = regex.compile(_DOT, regex.IGNORECASE)
_TRAILING = ".,;:!?)]}»“\"'…"


class Link(NamedTuple):
    start: int
    end: int
    url: str
    host: str
    obfuscated: bool


def normalise_host(host: str) -> str:
    """Lower-case host without port, trailing dot, or the 'www.'/'m.' prefixes."""
    host = host.lower().split("@")[-1].split(":")[0].strip(".")
    for prefix in ("www.", "m.", "mobile."):
        if host.startswith(prefix) and host.count(".") >= 2:
            host = host[len(prefix):]
    return host


def host_matches(host: str, domains: Iterable[str]) -> str | None:
    """The listed domain that host is, or is a subdomain of."""
    for domain in domains:
        if host == domain or host.endswith("." + domain):
            return domain
    return None


def _clean(raw: str) -> tuple[str, bool]:
    compact = _DOT_ONLY.sub(".", raw)
    return compact.rstrip(_TRAILING), compact != raw


def _host_of(url: str) -> str:
    rest = url.split("://", 1)[-1]
    return normalise_host(regex.split(r"[/?#]", rest, maxsplit=1)[0])


@lru_cache(maxsize=256)
def _spaced_hosts_re(hosts: tuple[str, ...]) -> regex.Pattern | None:
    """Known hosts written with a space for the dot ("youtu be"); only for listed hosts, never generic."""
    if not hosts:
        return None
    sep = rf"(?:{_DOT}|\s+)"
    alts = [sep.join(regex.escape(label) for label in host.split("."))
            for host in sorted(hosts, key=len, reverse=True)]
    return regex.compile(rf"(?<![\w.])(?:{'|'.join(alts)})(?![\w\-]){_PATH}", regex.IGNORECASE | regex.V1)


# What every URL_RE match must contain, read off its three alternatives: "://" (scheme), "www" (www), or a
# dot in one of _DOT's forms right before a top-level domain (bare): ".com", " . com", "(dot) com",
# " punkt de". Each pattern starts with a literal, so the regex engine skips ahead fast.
_DOT_TLD = re.compile(rf"\.(?:{_TLD})(?![a-z0-9-])")
_SPACED_DOT_TLD = re.compile(rf"\.\s(?:{_TLD})(?![a-z0-9-])")  # counts only with a space before the dot
_WORD_DOT_TLD = re.compile(rf"(?:dot|punkt)(?:\s*[)\]}}]\s*|\s+)(?:{_TLD})(?![a-z0-9-])")


def _could_have_links(lower: str, hints: ahocorasick.Automaton) -> bool:
    """A cheap look for anything link-like; most comments have none and skip the full search."""
    return ("://" in lower or "www" in lower or _DOT_TLD.search(lower) is not None
            or any(m.start() and lower[m.start() - 1].isspace() for m in _SPACED_DOT_TLD.finditer(lower))
            or ("dot" in lower or "punkt" in lower) and _WORD_DOT_TLD.search(lower) is not None
            or next(hints.iter(lower), None) is not None)


@lru_cache(maxsize=256)
def _hints(hosts: tuple[str, ...]) -> ahocorasick.Automaton:
    # A spaced-out host ("youtu be") still shows its first label; labels under 4 letters ("t.me") say
    # too little and are looked for whole. One automaton finds any of them in one pass.
    automaton = ahocorasick.Automaton()
    for hint in sorted({h.split(".")[0] if len(h.split(".")[0]) >= 4 else h for h in hosts}) or ["://"]:
        automaton.add_word(hint, hint)
    automaton.make_automaton()
    return automaton


@lru_cache(maxsize=256)
def _first_labels(hosts: tuple[str, ...]) -> ahocorasick.Automaton | None:
    """Where a spaced-out host can start: at its first label, which it spells out (None: a host outside ASCII)."""
    if not hosts or not all(h.isascii() for h in hosts):
        return None
    automaton = ahocorasick.Automaton()
    for label in {h.split(".")[0].lower() for h in hosts}:
        automaton.add_word(label, len(label))
    automaton.make_automaton()
    return automaton


def spaced_matches(text: str, hosts: tuple[str, ...], spaced: regex.Pattern) -> list:
    """What `spaced.finditer(text)` finds, trying the pattern only where a host's first label starts.

    Every match starts with a first label, matched ignoring case; an ASCII letter matches, ignoring case, only
    characters whose case folding holds it, so when folding keeps the text's length (no ß, no ligature) the
    folded text shows every possible start at its own index. Otherwise the whole text is searched."""
    labels = _first_labels(hosts)
    folded = text.casefold()
    if labels is None or len(folded) != len(text):
        return list(spaced.finditer(text))
    return _matches_at(spaced, text, sorted({last - n + 1 for last, n in labels.iter(folded)}))


def _matches_at(pattern: regex.Pattern, text: str, starts: list[int]) -> list:
    """What `pattern.finditer(text)` finds when every match starts at one of `starts` (ascending)."""
    found, end = [], 0
    for start in starts:
        if start >= end:  # finditer goes on after the end of the previous match
            m = pattern.match(text, start)
            if m is not None:
                found.append(m)
                end = m.end()
    return found


# regex's \s (the White_Space property), spelled out for re; tests/test_rules_speed.py compares the two on every
# code point.
_WHITE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_SCHEME_OR_WWW = re.compile("http|www")
# Read on the reversed folded text: one of _DOT's forms, then the run of label characters before it (in a
# lookahead, so that a run which is itself "dot" stays an anchor), whose first character is where a bare link can
# start. Reversed, each pattern starts with a few literal characters, which re skips to fast; a dot ending a
# sentence (a space after it, none before) is no _DOT form and starts nothing.
_BEFORE_DOT = re.compile(rf"(?:\.(?<![{_WHITE}]\.)|\.[{_WHITE}]+|\([{_WHITE}]*|\[[{_WHITE}]*|\{{[{_WHITE}]*)"
                         rf"(?=([a-z0-9\-]+))")
_BEFORE_WORD_DOT = re.compile(rf"[{_WHITE}](?:tod|tknup)(?=[{_WHITE}]+([a-z0-9\-]+))")


def url_starts(folded: str) -> list[int]:
    """Every index of the case-folded text at which a URL_RE match can start: "http", "www", or a run of label
    characters (its first; no label character before it) followed by one of _DOT's forms."""
    starts = {m.start() for m in _SCHEME_OR_WWW.finditer(folded)}
    backwards, n = folded[::-1], len(folded)
    starts.update(n - m.end(1) for m in _BEFORE_DOT.finditer(backwards))
    if "dot" in folded or "punkt" in folded:
        starts.update(n - m.end(1) for m in _BEFORE_WORD_DOT.finditer(backwards))
    return sorted(starts)


def url_matches(text: str) -> list:
    """What `URL_RE.finditer(text)` finds, trying the pattern only where a match can start (url_starts).

    As in spaced_matches: an ASCII letter matches, ignoring case, only characters whose case folding is that
    letter, so when folding keeps the text's length every possible start shows at its own index in the folded
    text. "ß" (folded "ss", a word character) reads as one label character "s": no start is lost beside it.
    Otherwise the whole text is searched."""
    folded = text.replace("ß", "s").replace("ẞ", "s").casefold() if "ß" in text or "ẞ" in text else text.casefold()
    if len(folded) != len(text):
        return list(URL_RE.finditer(text))
    return _matches_at(URL_RE, text, url_starts(folded))


def find_links(text: str, known_hosts: Iterable[str] = ()) -> list[Link]:
    """Every link in text, in order, each with its span; known hosts are also found when spaced out."""
    hosts = known_hosts if isinstance(known_hosts, tuple) else tuple(sorted(set(known_hosts)))
    if not _could_have_links(text.lower(), _hints(hosts)):
        return []
    links: list[Link] = []
    taken: list[tuple[int, int]] = []
    # A long comment that may hold a link is mostly words: the pattern is tried at the few places a link
    # can start rather than at every character (~1 µs a character on a 2,000-character comment).
    for m in url_matches(text):
        url, obfuscated = _clean(m.group())
        links.append(Link(m.start(), m.start() + len(m.group().rstrip(_TRAILING)), url, _host_of(url),
                          obfuscated))
        taken.append((m.start(), m.end()))
    spaced = _spaced_hosts_re(hosts)
    if spaced is not None:
        for m in spaced_matches(text, hosts, spaced):
            if any(a <= m.start() < b for a, b in taken):
                continue
            raw = m.group().rstrip(_TRAILING)
            url = regex.sub(rf"{_DOT}|\s+", ".", raw.split("/", 1)[0], flags=regex.IGNORECASE)
            url += raw[len(raw.split("/", 1)[0]):]
            links.append(Link(m.start(), m.start() + len(raw), url, _host_of(url), True))
    links.sort(key=lambda link: link.start)
    return links
