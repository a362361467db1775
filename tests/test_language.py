"""Language detection: seeded, restricted profiles, short-text policy, exactly langdetect's answers."""
from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langdetect.detector import Detector

from moderation.domain import detector
from moderation.domain.detector import _factory
from moderation.domain.detector import _FastDetector as FastDetector
from moderation.domain.language import _BLANKS, _NOISE, MAX_CHARS, LanguageDetector, LanguageResult
from moderation.domain.text import letters_at_least
from tests.conftest import corpus

GERMAN = "Die Entlassungen treffen vor allem die Verwaltung, während die Lager weiter wachsen sollen."
ENGLISH = "The layoffs mostly hit the administration while the warehouses are supposed to keep growing."


def test_detects_german_and_english():
    d = LanguageDetector(["de", "en"])
    assert d.detect(GERMAN).language == "de"
    assert d.detect(ENGLISH).language == "en"
    assert d.detect(GERMAN).method == "detected"


def test_deterministic_across_instances():
    mixed = "Ich finde the article quite gut, aber the numbers are falsch"
    results = {LanguageDetector(["de", "en"]).detect(mixed) for _ in range(5)}
    assert len(results) == 1


def test_restricted_to_the_site_languages():
    french = "Je pense que les licenciements sont une mauvaise nouvelle pour tout le monde ici."
    assert LanguageDetector(["de", "en"]).detect(french).language in ("de", "en")
    assert LanguageDetector([]).detect(french).language == "fr"
    factory = _factory(("de", "en"), 0)
    assert factory.langlist == ["de", "en"]


def test_single_language_site_needs_no_detection():
    assert LanguageDetector(["de"]).detect(ENGLISH).method == "only"


@pytest.mark.parametrize("text", ["😂😂😂", "https://youtu.be/x", "12345", "", "   ", "!!!", "@user #tag", "ok"])
def test_short_or_letterless_text_takes_the_context_language(text):
    d = LanguageDetector(["de", "en"])
    assert d.detect(text, context="en").language == "en"
    assert d.detect(text).language == "de"  # no context: the site's default
    assert d.detect(text).method == "default"


def test_unknown_language_code_is_an_error():
    with pytest.raises(ValueError, match="xx"):
        LanguageDetector(["de", "xx"])


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_never_raises(text):
    assert LanguageDetector(["de", "en"]).detect(text).language in ("de", "en")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(GERMAN.split() + ENGLISH.split() + ["KI", "CO2-Bilanz", "ÄRGER", "ß", "x"]),
                min_size=1, max_size=40), st.sampled_from([("de", "en"), ("de", "en", "fr", "nl")]))
def test_same_answer_as_langdetect_itself(words, langs):
    text = " ".join(words)
    factory = _factory(langs, 0)
    ours, theirs = FastDetector(factory), Detector(factory)
    ours.append(text)
    theirs.append(text)
    ours.cleaning_text()
    theirs.cleaning_text()
    assert ours._extract_ngrams() == theirs._extract_ngrams()
    if ours._extract_ngrams():
        assert [(p.lang, p.prob) for p in ours.get_probabilities()] == \
               [(p.lang, p.prob) for p in theirs.get_probabilities()]


@pytest.mark.corpus
def test_accuracy_on_real_comments():
    de = (corpus("germeval2018") / "germeval2018.training.txt").read_text(encoding="utf-8").splitlines()[:300]
    with gzip.open(corpus("davidson-hate-offensive") / "labeled_data.csv.gz", "rt", encoding="utf-8") as fh:
        import csv

        en = [row["tweet"] for row, _ in zip(csv.DictReader(fh), range(300))]
    d = LanguageDetector(["de", "en"])
    de_ok = sum(d.detect(line.split("\t")[0]).language == "de" for line in de) / len(de)
    en_ok = sum(d.detect(t).language == "en" for t in en) / len(en)
    assert de_ok >= 0.95 and en_ok >= 0.90, (de_ok, en_ok)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200), st.integers(0, 40))
def test_letter_count_equals_counting_every_letter(text, n):
    import regex

    clean = _NOISE.sub(" ", text)
    assert letters_at_least(clean, n) == (len(regex.findall(r"\p{L}", clean)) >= n)


def _plain_langdetect(clean: str, langs: tuple[str, ...]) -> tuple[tuple[str, float], ...] | None:
    """Unmodified langdetect on the same profiles and seed (a fresh factory, not the cached one)."""
    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
    from langdetect.lang_detect_exception import LangDetectException

    key = (langs, 0)
    if key not in _PLAIN:
        factory = DetectorFactory()
        factory.seed = 0
        factory.load_json_profile([Path(PROFILES_DIRECTORY, n).read_text(encoding="utf-8") for n in langs])
        _PLAIN[key] = factory
    plain = Detector(_PLAIN[key])
    plain.set_max_text_length(MAX_CHARS)
    plain.append(clean)
    try:
        return tuple((p.lang, p.prob) for p in plain.get_probabilities())
    except LangDetectException:
        return None


_PLAIN: dict = {}


@pytest.mark.corpus
def test_identical_to_plain_langdetect_on_real_comments():
    """Differential oracle: German and English news comments from four corpora, two profile sets."""
    from bench.corpora import default_root, real_comments

    comments = real_comments(default_root(), 700)
    assert sum(map(len, comments.values())) >= 2800 and len(comments) == 4
    checked = 0
    for name, texts in comments.items():
        langs = ("de", "en") if name != "fox-news-comments" else ("de", "en", "fr", "nl")
        product = LanguageDetector(langs)
        for text in texts:
            clean = _NOISE.sub(" ", text[: MAX_CHARS * 2])
            try:
                ours = detector.probabilities(clean, langs, 0, MAX_CHARS)
            except detector.NoFeatures:
                ours = None
            plain = _plain_langdetect(clean, langs)
            assert ours == plain, (name, text[:80])
            # The detector as the product calls it (cache key normalised) answers what plain langdetect implies.
            assert product.detect(text) == _implied(product, text, plain), (name, text[:80])
            checked += 1
    assert checked >= 2800


def _implied(d: LanguageDetector, text: str, plain: tuple | None) -> LanguageResult:
    """LanguageDetector's answer computed from plain langdetect's probabilities on the uncut, unnormalised text."""
    if not letters_at_least(_NOISE.sub(" ", text[: MAX_CHARS * 2]), d.min_letters) or not plain:
        return d._fallback(None)
    lang, prob = plain[0]
    return LanguageResult(lang, round(prob, 4), "detected") if prob >= d.min_probability else d._fallback(None)


BLANKS = ["\n", "\t", "\r\n", "  ", "\xa0", "\u2003", "\x85", "\u3000", "\x1c", " \n "]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(GERMAN.split() + ENGLISH.split() + ["KI", "Ärger", "ß", "x", "日本"]),
                          st.lists(st.sampled_from(BLANKS), min_size=1, max_size=3).map("".join)),
                min_size=1, max_size=120),
       st.sampled_from(BLANKS + [""]))
def test_the_normalised_cache_key_answers_as_plain_langdetect_on_the_raw_text(words, lead):
    """Runs of blanks, leading blanks and texts cut at MAX_CHARS: the cache key by normalised text changes
    nothing (differential oracle against unmodified langdetect on the text as written)."""
    text = lead + "".join(w + b for w, b in words)
    d = LanguageDetector(["de", "en"])
    assert d.detect(text) == _implied(d, text, _plain_langdetect(_NOISE.sub(" ", text[: MAX_CHARS * 2]), ("de", "en")))


# Characters each shortcut of the detector's text preparation depends on: links, addresses, Vietnamese marks,
# scripts langdetect normalises (CJK, kana, Hangul, Arabic, Latin Extended Additional), capitals, blanks.
SPECIAL = st.sampled_from(["http://x.de/a", "https://y.com ", "a@b.de", "a\u0301", "e\u0323", "o\u0309", "日本語",
                           "ひらがな", "カタカナ", "한국어", "ی", "\u1ea1\u1ec7", "ș", "ț", "KI", "CO2", "ÄRGER",
                           "  ", " ", "\n", "\u2003", "\x85", "ß", "Ärger", "…", "«x»", "ǅ", "İ", "12"])
MIXED = st.lists(st.one_of(SPECIAL, st.text(max_size=12)), max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(MIXED, st.sampled_from([("de", "en"), ("de", "en", "fr", "nl")]))
def test_prepared_text_and_its_ngrams_are_langdetects_on_any_text(text, langs):
    """Differential oracle for the shortcuts in text preparation (regexes skipped when their character is absent,
    normalisation by byte table or by distinct characters): the n-grams langdetect itself extracts."""
    factory = _factory(langs, 0)
    ours, theirs = FastDetector(factory), Detector(factory)
    for d in (ours, theirs):
        d.set_max_text_length(MAX_CHARS)
        d.append(text)
        d.cleaning_text()
    assert ours.text == theirs.text
    assert ours._extract_ngrams() == theirs._extract_ngrams()


@settings(max_examples=300, deadline=None)
@given(MIXED)
def test_normalised_equals_translating_every_character(text):
    assert detector._normalised(text) == text.translate(detector._NORMALIZE)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(BLANKS + [" ", "a", "ä", "x y", "\u2003"]), max_size=30).map("".join))
def test_blank_runs_become_one_space_as_before(text):
    import regex

    every_run = regex.compile(r"[\t\n\x0b\x0c\r\x1c-\x1f \xa0]+")  # the pattern before: every run replaced
    assert _BLANKS.sub(" ", text) == every_run.sub(" ", text)


@pytest.mark.corpus
def test_a_batch_answers_as_plain_langdetect_one_text_at_a_time():
    """Differential oracle for the batch path: real comments of four corpora detected together, the cache
    emptied first, against unmodified langdetect text by text."""
    from bench.corpora import default_root, real_comments

    comments = real_comments(default_root(), 500)
    texts = [t for ts in comments.values() for t in ts] * 2  # repeats: answered from the batch's own work
    contexts = [None, "en", "de"] * (len(texts) // 3) + [None] * (len(texts) % 3)
    for langs in (("de", "en"), ("de", "en", "fr", "nl")):
        d = LanguageDetector(langs)
        detector.cache_clear()
        got = d.detect_many(texts, contexts)
        for text, context, result in zip(texts, contexts, got):
            plain = _plain_langdetect(_NOISE.sub(" ", text[: MAX_CHARS * 2]), langs)
            want = _implied(d, text, plain)
            if want.method == "default":
                want = d._fallback(context)
            assert result == want, text[:80]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(GERMAN.split() + ENGLISH.split() + ["KI", "Ärger", "x"]), min_size=1, max_size=30),
       st.sampled_from([0, 3, 5, 7, 12]))
def test_trials_stopped_by_the_iteration_limit_end_as_in_langdetect(words, limit):
    """A trial that does not converge ends at ITERATION_LIMIT: rare on real comments, forced here by a low limit."""
    text = " ".join(words)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(Detector, "ITERATION_LIMIT", limit)
        detector.cache_clear()
        ours = detector.probabilities_many([text], ("de", "en"), 0, MAX_CHARS)[0]
        detector.cache_clear()
        assert ours == _plain_langdetect(text, ("de", "en"))


def test_a_batch_answers_texts_the_full_cache_evicts_while_it_stores_new_ones(monkeypatch):
    """A batch holding the cache's oldest answer and new texts: storing the new answers evicts the old one, which
    the batch must still answer (the lru_cache before never lost an answer it was asked for)."""
    monkeypatch.setattr(detector, "CACHED", 3)
    detector.cache_clear()
    old = ["Das ist ein Test mit Wörtern", "Noch ein Satz hier drin", "Und ein dritter Satz dazu"]
    for text in old:
        detector.probabilities(text, ("de", "en"), 0, MAX_CHARS)
    batch = [old[0], ENGLISH, GERMAN, old[1]]
    got = detector.probabilities_many(batch, ("de", "en"), 0, MAX_CHARS)
    detector.cache_clear()
    assert got == [detector.probabilities(text, ("de", "en"), 0, MAX_CHARS) for text in batch]
    detector.cache_clear()


def test_batches_on_threads_share_the_cache_safely(monkeypatch):
    """Scorers and web requests detect on threads: evicting from the shared cache must not race (KeyError)."""
    import threading

    monkeypatch.setattr(detector, "CACHED", 8)
    detector.cache_clear()
    words = (GERMAN + " " + ENGLISH).split()
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for n in range(150):
                texts = [" ".join(words[(offset + n + k) % len(words):][:6]) + f" {n % 7}" for k in range(6)]
                detector.probabilities_many(texts, ("de", "en"), 0, MAX_CHARS)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    detector.cache_clear()
    assert not errors, errors[:1]


def test_a_process_forked_while_another_thread_stores_answers_can_store_its_own():
    """Triage forks workers: a child forked while a thread of the parent held the cache's lock must not wait for
    it forever (the thread that held it does not exist in the child)."""
    import os
    import time

    with detector._ANSWERS_LOCK:
        pid = os.fork()
        if pid == 0:  # the child: store one answer, then leave without running the parent's clean-up
            try:
                detector.probabilities_many([GERMAN + " im Kind"], ("de", "en"), 0, MAX_CHARS)
            finally:
                os._exit(0)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    pytest.fail("the forked child waited for a lock no thread of it holds")
