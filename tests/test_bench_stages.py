"""The stage benchmark runs on real comments and prints each stage's rate beside its peer (kept small: seconds)."""
from __future__ import annotations

import re

import pytest

from bench import stages
from bench.corpora import default_root, real_comments

RATE = re.compile(r"[\d,]+/s of CPU")


@pytest.mark.corpus
def test_stages_print_rates_with_peers_on_real_comments():
    comments = real_comments(default_root(), 25)
    assert set(comments) == {"one-million-posts", "rp-mod-crowd", "civil-comments-toxic-spans", "fox-news-comments"}
    texts = [t for ts in comments.values() for t in ts]
    langs = ["de" if name in stages.GERMAN else "en" for name, ts in comments.items() for _ in ts]
    lines = stages.language(texts) + stages.rules(texts, langs) + stages.models(texts, batch=50)
    assert all(RATE.search(line) for line in lines), lines
    peers = " ".join(lines)
    for peer in ("plain langdetect", "pyahocorasick", "trie-compiled regex", "floor", "TF-IDF"):
        assert peer in peers, peer
