"""The link search tried only where a link can start finds what URL_RE.finditer finds: on real comments of every
corpus in ../shared/data, on generated link dodges, and with the claims it rests on checked on every code point.
On the same comments, the shape checks' pre-checks (capitals, runs) decide as their patterns do."""
from __future__ import annotations

import re
import sys

import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moderation.domain import links
from moderation.domain.text import caps_ratio, repeated_run
from tests.conftest import DATA, need
from tests.test_rules_matcher import CORPORA, HOSTISH, corpus_sample

EVERY_CHARACTER = "".join(map(chr, range(sys.maxunicode + 1)))


def assert_same_urls(text: str) -> None:
    assert [m.span() for m in links.url_matches(text)] == [m.span() for m in links.URL_RE.finditer(text)], text


def test_white_is_regexs_whitespace() -> None:
    """re reads _WHITE as exactly the characters regex's \\s matches."""
    assert re.findall(f"[{links._WHITE}]", EVERY_CHARACTER) == regex.findall(r"\s", EVERY_CHARACTER, regex.V1)


def test_a_label_character_folds_to_itself() -> None:
    """A character URL_RE's label class matches (ignoring case) folds to one ASCII label character, or its folding
    changes the text's length (then the whole text is searched)."""
    for c in regex.findall(r"[a-z0-9\-]", EVERY_CHARACTER, regex.IGNORECASE | regex.V1):
        folded = c.casefold()
        assert len(folded) != 1 or folded in "abcdefghijklmnopqrstuvwxyz0123456789-", hex(ord(c))


@pytest.mark.corpus
@pytest.mark.parametrize("name", CORPORA)
def test_same_links_on_real_comments(name: str) -> None:
    need((DATA / name).is_dir(), f"corpus {name} not found under {DATA}")
    for text in corpus_sample(DATA / name):
        assert_same_urls(text)
        for n in (3, 9):
            run = re.search(rf"(.)\1{{{n - 1},}}", text, re.DOTALL)
            assert repeated_run(text, n) == (run.group() if run else None), text
        share, letters = caps_ratio(text)
        shouting = share > 0.7 and round(share * letters) >= 21
        assert caps_ratio(text, 21, 0.7) == ((share, letters) if shouting else (0.0, 0)), text


LINKISH = [*HOSTISH, "http://", "https://x.de", "example", ".", ". ", " .", "..", "(", "[", "{", ")", "]", "}",
           "dot", "DOT", " dot ", "punkt", " Punkt ", "com", "de", "org", "a-b", "-", "--", "0", "42", "\u2003",
           "\u00a0", "\x1c", "\x85", "ẞ", "ß", "ss", "İ", "ı", "ſ", "K", "Straße", "weiß", "z.B.", "u.s.w."]


@settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(LINKISH), min_size=1, max_size=14).map("".join))
def test_same_links_on_generated_dodges(text: str) -> None:
    assert_same_urls(text)


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abwhtpmcode.-/:( )[]{}\n\u2003ßẞſKİ01")), max_size=40))
def test_same_links_on_any_text(text: str) -> None:
    assert_same_urls(text)


@pytest.mark.parametrize("text", [
    "schaut mal https://youtu.be/abc", "www . youtube . com/watch", "rumble [dot] com", "rumble(dot)com", "x punkt de",
    "youtube DOT com", "Das war es. At least", "Straße.de", "weiß.de und ss.com", "KE.com", "ſite.com", "İx.com a.de",
    "a.b@example.de", "z.B. example.com", "Ende.\nexample.org", "foo .com", "foo\u2003.\u2003com", "-a.com", "a-.com",
    "ﬁﬁﬁﬁ a.de", "İİİİ a.de b.com", "ẞẞ a.de",  # folding changes the length: the whole text is searched
])
def test_same_links_on_known_cases(text: str) -> None:
    assert_same_urls(text)
