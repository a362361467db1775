"""The classifier's fast feature paths against reference paths: identical features on real and generated text.

Differential oracles for the speed work of issue 13: the word-list counts per token (no phrase counting in ""),
the character n-grams cut and hashed for a whole batch at once (raw murmurhash3 values folded by numpy), and
the full feature rows, against the per-word code they replace and against scikit-learn's HashingVectorizer.
"""
from __future__ import annotations

import re
from itertools import chain

import mmh3
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.rules import load_ruleset
from moderation.scoring.estimator import ToxicityClassifier
from moderation.scoring.linear import CharHasher, Featurizer, WordHasher, _l2_block, preprocess
from moderation.scoring.sklearn import lexicon_from_ruleset
from moderation.scoring.wordfeatures import LexiconCounter
from tests.conftest import DATA, RULES, need

# Words that stress the n-gram cutting: one letter, the n-gram sizes, non-BMP characters, combining marks.
WORDS = st.text(st.sampled_from(list("aäßéx0_-!'") + ["🤡", "\u0301", "ǅ", "İ"]), min_size=1, max_size=9)
TEXTS = st.lists(st.one_of(WORDS, st.sampled_from(["idiot", "du", "halt die klappe", "=", "🖕", "url", "@user",
                                                     "vollidiot", "trottel", "lügner", "fuck"])),
                 max_size=25).map(" ".join)


def _index(gram: str, n_features: int) -> int:
    """scikit-learn's FeatureHasher column for a string (murmurhash3_32, seed 0, no alternate sign)."""
    h = mmh3.hash(gram, 0)
    return (2147483647 - (n_features - 1)) % n_features if h == -2147483648 else abs(h) % n_features


def _reference_grams(word: str, lo: int, hi: int) -> list[str]:
    """sklearn's _char_wb_ngrams of one word, written as it was before the batch path."""
    w = f" {word} "
    grams: list[str] = []
    for n in range(lo, hi + 1):
        if len(w) <= n:
            grams.append(w)
            break
        grams.extend(w[i:i + n] for i in range(len(w) - n + 1))
    return grams


def _reference_char_rows(texts: list[str], lo: int, hi: int, n_features: int) -> list[list[int]]:
    """Column per n-gram, word by word, with the scalar `_index` fold (the path before issue 13's batch hashing)."""
    return [[_index(g, n_features) for w in t.split() for g in _reference_grams(w, lo, hi)] for t in texts]


def _count(m, text: str, tokens: list[str]) -> int:  # noqa: ANN001 - a wordfeatures.ListMatcher
    """ListMatcher.count as it was: tokens that hit the list, plus every phrase's occurrences in the text."""
    hits = sum(1 for t in tokens if t in m.exact or t.startswith(m.prefixes) or t.endswith(m.suffixes)
               or (m.infixes and any(x in t for x in m.infixes)))
    return hits + sum(text.count(p) for p in m.phrases)


def _reference_counts(counter: LexiconCounter, texts: list[str]) -> np.ndarray:
    """LexiconCounter.counts as it was: token by token with the old ListMatcher.count, cell by cell."""
    out = np.zeros((len(texts), len(counter.matchers)), dtype=np.float32)
    by_first: dict[str, list[tuple[int, str]]] = {}
    always: list[tuple[int, str]] = []
    for i, m in enumerate(counter.matchers):
        for phrase in m.phrases:
            first = re.match(r"\w+", phrase)
            (by_first.setdefault(first.group(), []) if first else always).append((i, phrase))
    for row, text in enumerate(texts):
        tokens = re.findall(r"\w+", text)
        for token in tokens:
            for i, m in enumerate(counter.matchers):
                if _count(m, "", [token]):
                    out[row, i] += 1
        for token in set(tokens).intersection(by_first):
            for i, phrase in by_first[token]:
                out[row, i] += text.count(phrase)
        for i, phrase in always:
            if phrase in text:
                out[row, i] += text.count(phrase)
    return np.log1p(out)


def _real_texts(n: int = 400) -> list[str]:
    from bench.corpora import default_root, real_comments  # noqa: PLC0415

    need((DATA / "one-million-posts").is_dir(), f"real comments not found under {DATA}")
    return [preprocess(t) for ts in real_comments(default_root(), n).values() for t in ts]


@pytest.fixture(scope="module")
def lexicon() -> dict[str, list[str]]:
    # The shipped lists plus an entry of each kind the matcher knows, and "=", an empty phrase that hits anything.
    out = lexicon_from_ruleset(load_ruleset(RULES))
    out["extra"] = ["*idiot*", "=", "halt die klappe", "🖕", "trottel*", "*ling", "=du"]
    return out


@settings(max_examples=300, deadline=None)
@given(tokens=st.lists(WORDS, max_size=20))
def test_token_match_equals_the_phrase_counting_reference(lexicon, tokens):
    counter = LexiconCounter(lexicon)
    for m in counter.matchers:
        assert m.matching(tokens) == {token for token in tokens if _count(m, "", [token])}


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_token_match_equals_the_reference_on_list_entries_with_letters_around(lexicon, data):
    """Every kind of entry hit where it can be: alone, at a word's start or end, inside one (infixes)."""
    cores = sorted({e.strip("*=") for entries in lexicon.values() for e in entries if e.strip("*=")})
    around = st.text(st.sampled_from(list("aeäßx0_")), max_size=3)
    tokens = data.draw(st.lists(st.tuples(around, st.sampled_from(cores), around).map("".join), max_size=20))
    for m in LexiconCounter(lexicon).matchers:
        assert m.matching(tokens) == {token for token in tokens if _count(m, "", [token])}


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(TEXTS, max_size=8))
def test_lexicon_counts_equal_the_reference_on_generated_text(lexicon, texts):
    counter = LexiconCounter(lexicon)
    lowered = [preprocess(t) for t in texts]
    for _ in range(2):  # cold, then from the cache
        assert np.array_equal(counter.counts(lowered), _reference_counts(counter, lowered))


@settings(max_examples=100, deadline=None)
@given(texts=st.lists(TEXTS, max_size=8))
def test_lexicon_counts_equal_the_reference_when_the_cache_is_full(lexicon, texts):
    import moderation.scoring.wordfeatures as wordfeatures  # noqa: PLC0415

    counter = LexiconCounter(lexicon)
    counter.counts(["du idiot"])
    with pytest.MonkeyPatch.context() as m:
        m.setattr(wordfeatures, "_CACHE_LIMIT", 3)
        lowered = [preprocess(t) for t in texts]
        assert np.array_equal(counter.counts(lowered), _reference_counts(counter, lowered))
        assert len(counter.cache) <= 3


@settings(max_examples=300, deadline=None)
@given(words=st.lists(WORDS, max_size=30), lo=st.integers(1, 4), span=st.integers(0, 3))
def test_batch_char_hashes_equal_per_word_hashing(words, lo, span):
    hasher = CharHasher(lo, lo + span, 2 ** 10)
    values, counts = hasher.hashes(words)
    expected = [[mmh3.hash(g, 0) for g in _reference_grams(w, lo, lo + span)] for w in words]
    assert values.tolist() == list(chain.from_iterable(expected)) and counts.tolist() == list(map(len, expected))


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(TEXTS, max_size=10), limit=st.integers(0, 20))
def test_char_rows_fold_to_the_reference_columns_whatever_the_cache_holds(texts, limit):
    # A small limit fills the cache mid-batch, so some words are looked up beside it (the full-cache path).
    hasher = CharHasher(2, 5, 2 ** 13, limit=limit)
    for _ in range(2):  # cold, then with whatever the cache kept
        ours = _l2_block(hasher.rows(texts), 7, 2 ** 13)
        ref = _l2_block(_reference_char_rows(texts, 2, 5, 2 ** 13), 7)
        assert all(np.array_equal(a, b) for a, b in zip(ours, ref))
    assert len(hasher.cache) <= limit


@settings(max_examples=100, deadline=None)
@given(texts=st.lists(TEXTS, min_size=1, max_size=8))
def test_feature_rows_equal_scikit_learns_hashing_vectorizer_on_generated_text(texts):
    model = ToxicityClassifier(word_bits=12, char_bits=13)
    ours = model.transform(texts)
    reference = sp.hstack([v.transform([preprocess(t) for t in texts]) for v in model._vectorizers()]).tocsr()
    assert ours.shape == reference.shape and abs(ours - reference).max() == 0


@pytest.mark.corpus
def test_feature_rows_equal_the_reference_paths_on_real_comments(lexicon):
    texts = _real_texts()
    assert len(texts) >= 1500
    counter = LexiconCounter(lexicon)
    features = Featurizer(12, 13, (2, 5), counter)
    for batch in (texts[:700], texts[700:], texts):  # cold, cold, warm
        assert np.array_equal(counter.counts(batch), _reference_counts(counter, batch))
    for batch in (texts[:700], texts[700:], texts[:700]):  # cold, cold, warm
        ours = _l2_block(features.chars.rows(batch), 0, 2 ** 13)
        ref = _l2_block(_reference_char_rows(batch, 2, 5, 2 ** 13), 0)
        assert all(np.array_equal(a, b) for a, b in zip(ours, ref))
    words = WordHasher(2 ** 12)
    ref_words = [[_index(g, 2 ** 12) for g in (*t, *(f"{a} {b}" for a, b in zip(t, t[1:])))]
                 for t in (__import__("re").findall(r"(?u)\b\w+\b|[^\w\s]", x) for x in texts)]
    ours = _l2_block([words.row(t) for t in texts], 0, 2 ** 12)
    assert all(np.array_equal(a, b) for a, b in zip(ours, _l2_block(ref_words, 0)))
    # And the whole matrix against scikit-learn's vectorizers, the independent oracle.
    model = ToxicityClassifier(word_bits=12, char_bits=13)
    raw = [t for ts in __import__("bench.corpora", fromlist=["x"]).real_comments(DATA, 300).values() for t in ts]
    reference = sp.hstack([v.transform([preprocess(t) for t in raw]) for v in model._vectorizers()]).tocsr()
    assert abs(model.transform(raw) - reference).max() == 0


def test_chain_of_word_hashes_is_the_listed_order():
    # WordHasher.row: unigrams, then bigrams joined by one space, as HashingVectorizer(ngram_range=(1, 2)) does.
    assert WordHasher(8).row("du bist ! ok") == [mmh3.hash(g, 0) for g in
                                                 chain(["du", "bist", "!", "ok"], ["du bist", "bist !", "! ok"])]


def test_threads_sharing_one_hasher_get_the_reference_rows():
    # A scorer abandoned after its timeout may still be hashing while the next batch runs in another thread:
    # both add words to the one pool, and every row must still be the reference's.
    import threading  # noqa: PLC0415

    texts = [f"wort{i % 97} idiot{i % 13} {'x' * (i % 7)} ä{i}" for i in range(600)]
    hasher = CharHasher(2, 5, 2 ** 13, limit=300)
    errors: list[str] = []

    def work(part: list[str]) -> None:
        for _ in range(3):
            ours = _l2_block(hasher.rows(part), 0, 2 ** 13)
            ref = _l2_block(_reference_char_rows(part, 2, 5, 2 ** 13), 0)
            if not all(np.array_equal(a, b) for a, b in zip(ours, ref)):
                errors.append("differs")

    threads = [threading.Thread(target=work, args=(texts[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(hasher.cache) <= 300
    starts_ends = sorted(hasher.cache.values())
    assert all(a + n <= b for (a, n), (b, _) in zip(starts_ends, starts_ends[1:]))  # no two words share values
    assert starts_ends[-1][0] + starts_ends[-1][1] <= len(hasher.pool)


def test_a_lone_surrogate_is_scored_as_the_replacement_character_not_a_crash():
    # mmh3 crashes the process (SIGSEGV) on a string holding a lone surrogate, which a JSON "\ud800" escape
    # gives; the model reads U+FFFD there instead. Run in a child process so a crash cannot take pytest down.
    import json  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    code = ("import json; from moderation.scoring.sklearn import PACKAGE_MODEL, SklearnScorer; "
            "s = SklearnScorer.from_file(PACKAGE_MODEL); "
            "print(json.dumps([s.score(['du idiot a\\ud800b', '\\udfff x']), s.score(['du idiot a\\ufffdb', '\\ufffd x'])]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=str(RULES.parent))
    assert out.returncode == 0, out.stderr[-500:]
    surrogate, replaced = json.loads(out.stdout)
    assert surrogate == replaced


@settings(max_examples=300, deadline=None)
@given(text=st.text(st.characters(exclude_categories=("Cs",)), max_size=40), data=st.data())
def test_numpy_murmur_equals_mmh3_on_any_substring(text, data):
    from moderation.scoring import murmur  # noqa: PLC0415

    pairs = data.draw(st.lists(st.tuples(st.integers(0, len(text)), st.integers(0, len(text))).map(sorted),
                               max_size=30))
    starts = np.array([a for a, _ in pairs], dtype=np.int64)
    stops = np.array([b for _, b in pairs], dtype=np.int64)
    assert murmur.substrings(text, starts, stops).tolist() == [mmh3.hash(text[a:b], 0) for a, b in pairs]


def test_a_forked_child_hashes_even_if_another_thread_held_the_hasher_lock_at_the_fork():
    # triage and what-if fork their workers from a process whose scorer threads (an abandoned one included) may be
    # inside CharHasher.flat: the child inherits the lock held, by a thread it does not have, and would wait forever.
    import os  # noqa: PLC0415
    import threading  # noqa: PLC0415

    hasher = CharHasher(2, 5, 2 ** 13)
    hasher.rows(["du idiot"])
    holding, release = threading.Event(), threading.Event()

    def mid_hash() -> None:
        with hasher._lock:
            hasher.cache["halb"] = (len(hasher.pool), 99)  # as if the fork fell between the cache and pool updates
            holding.set()
            release.wait(30)
            del hasher.cache["halb"]

    other = threading.Thread(target=mid_hash, daemon=True)
    other.start()
    assert holding.wait(10)
    pid = os.fork()
    if pid == 0:  # the child: rows must come back, and be the reference's
        code = 3
        try:
            out: list = []
            worker = threading.Thread(target=lambda: out.append(hasher.rows(["du idiot", "halb"])), daemon=True)
            worker.start()
            worker.join(10)
            if out:
                ours = _l2_block(out[0], 0, 2 ** 13)
                ref = _l2_block(_reference_char_rows(["du idiot", "halb"], 2, 5, 2 ** 13), 0)
                code = 0 if all(np.array_equal(a, b) for a, b in zip(ours, ref)) else 4
        except BaseException:  # noqa: BLE001
            code = 2
        os._exit(code)
    release.set()
    other.join(10)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "3: the child hung on the lock; 4: wrong rows; 2: error"
