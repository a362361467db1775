"""The sentiment variant bench: tweet-markup normalisation, sentence aggregation and the oracle diagnostic."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.sentiment_model import scores
from bench.sentiment_variants import (
    CLASSES,
    SENTENCE,
    labels,
    oracle,
    plain,
    with_sentences,
)


def test_plain_takes_tweet_markup_out_and_keeps_the_words():
    tweet = "RT @spd Das ist #super &amp; toll!!!!!! http://t.co/x :)"
    assert plain(tweet) == "Das ist super & toll!!! :)"
    assert plain(tweet, emoticons="drop") == "Das ist super & toll!!!"
    assert plain("Na toll :( www.example.org", emoticons="word") == "Na toll schlecht"
    assert plain("Der Artikel (Seite 3) ist lang.") == "Der Artikel (Seite 3) ist lang."  # prose stays as it was


@given(st.lists(st.text(alphabet="abc .!?\n", max_size=30), min_size=1, max_size=8))
@settings(max_examples=60, deadline=None)
def test_sentence_mean_is_the_average_of_text_and_its_sentences(texts):
    def proba(batch):  # deterministic, depends on the text only
        raw = np.array([[len(t) % 5 + 1, t.count("a") + 1, t.count("!") + 1] for t in batch], dtype=float)
        return raw / raw.sum(axis=1, keepdims=True)

    got = with_sentences(proba, texts)
    assert got.shape == (len(texts), 3) and np.allclose(got.sum(axis=1), 1)
    for k, text in enumerate(texts):
        sentences = [s for s in SENTENCE.split(text) if s.strip()] or [text]
        expected = (proba([text])[0] + proba(sentences).mean(axis=0)) / 2
        assert np.allclose(got[k], expected)


def test_oracle_is_never_below_the_plain_rules():
    rng = np.random.default_rng(3)
    for _ in range(5):
        p = rng.dirichlet([1, 1, 0.3], size=200)
        gold = list(np.array(CLASSES)[rng.integers(0, 3, 200)])
        argmax = scores(gold, np.array(CLASSES)[p.argmax(axis=1)])["macro_f1"]
        assert oracle(p, gold) >= argmax - 1e-12
        assert set(labels(p)) <= set(CLASSES)
        assert (labels(p)[p.max(axis=1) < 0.5] == "neutral").all()
