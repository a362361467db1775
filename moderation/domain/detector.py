"""langdetect's detection, faster: the one module that reaches into langdetect's Detector (moderation.domain.language
calls only `probabilities`, `probabilities_many` and `check`). Same n-grams, same seeded draws, same probabilities
(tests compare them)."""
from __future__ import annotations

import os
import threading
from functools import lru_cache
from itertools import chain
from operator import add
from typing import Sequence

import regex
from langdetect.detector import Detector
from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException
from langdetect.utils.ngram import NGram


class NoFeatures(ValueError):
    """The text has no n-gram any of the profiles knows: langdetect cannot tell."""


class _NGramTable(dict):
    """str.translate table applying langdetect's NGram.normalize, filled as characters are first seen."""

    def __missing__(self, code: int) -> str:
        self[code] = value = NGram.normalize(chr(code))
        return value


_NORMALIZE = _NGramTable()
_ASCII = bytes(b if 65 <= b <= 90 or 97 <= b <= 122 else 32 for b in range(256))  # NGram.normalize on ASCII
_UNCHANGED: set[str] = {" "}  # characters NGram.normalize was seen to leave as they are


def _normalised(text: str) -> str:
    """text.translate(_NORMALIZE) without a dictionary look-up per character: ASCII through a byte table, other
    texts by replacing each distinct character that normalises to another one (one that normalises to itself)."""
    if text.isascii():
        return text.encode().translate(_ASCII).decode()
    for ch in set(text).difference(_UNCHANGED):
        to = _NORMALIZE[ord(ch)]
        if to == ch:
            _UNCHANGED.add(ch)
        elif _NORMALIZE[ord(to)] != to:  # replacing one by one would normalise `to` again
            return text.translate(_NORMALIZE)
        else:
            text = text.replace(ch, to)
    return text


_LATIN = regex.compile(r"[A-z]")
# langdetect means to leave Latin Extended Additional out of its non-Latin count, but compares a block number with
# a block name there, so every character from U+0300 on counts: so it does here.
_NON_LATIN = regex.compile(r"[^\x00-\u02ff]")
_SPACES = regex.compile(r" {2,}")
_FIVE = (0, 1, 2, 3, 4)
_VI_MARKS = NGram.DMARK_CLASS  # the combining marks normalize_vi joins to the letter before them


def _appended(text: str, max_chars: int) -> str:
    """What Detector.append adds for `text`: links and addresses blanked, Vietnamese marks joined, cut, spaces
    collapsed. Each regex runs only when the text holds the character it cannot match without."""
    if ":" in text:
        text = Detector.URL_RE.sub(" ", text)
    if "@" in text:
        text = Detector.MAIL_RE.sub(" ", text)
    if not text.isascii() and any(m in text for m in _VI_MARKS):
        text = NGram.normalize_vi(text)
    text = text[:max_chars]
    return _SPACES.sub(" ", text) if "  " in text else text


def _cleaned(text: str) -> str:
    """Detector.cleaning_text: a text mostly in another script loses its Latin letters."""
    if text.isascii() or not _NON_LATIN.search(text):
        return text  # no non-Latin letters, nothing to clean
    if len(_LATIN.findall(text)) * 2 < len(_NON_LATIN.findall(text)):
        return "".join(ch for ch in text if ch < "A" or "z" < ch)
    return text


class _WordGrams(dict):
    """Word -> the numbers of its n-grams, computed when first asked for; at most `limit` words kept."""

    def __init__(self, profiles: "_Profiles", closed: bool, limit: int) -> None:
        super().__init__()
        self.profiles, self.closed, self.limit = profiles, closed, limit

    def __missing__(self, word: str) -> tuple[int, ...]:
        value = self.profiles.grams(word, self.closed)
        if len(self) < self.limit:
            self[word] = value
        return value


class _Profiles:
    """A profile set's n-grams numbered, their probabilities per language, and each word's n-grams, cached."""

    def __init__(self, wmap: dict) -> None:
        self.names = list(wmap)
        self.index = {gram: n for n, gram in enumerate(self.names)}
        self.rows = [wmap[g] for g in self.names]  # each n-gram's probabilities, by its number
        # Plain dictionaries: a look-up per word is most of the work, and an lru_cache's costs three times as much.
        self.closed = _WordGrams(self, True, 200_000)
        self.open = _WordGrams(self, False, 20_000)

    def grams(self, word: str, closed: bool) -> tuple[int, ...]:
        """The numbers of the n-grams langdetect emits for one normalised word, in its order."""
        padded = " " + word + " "
        # The padded word's 2-grams and 3-grams, joined in C: each character's 1-, 2- and 3-gram ending there
        # ("" at the first), and the closing space's 2- and 3-gram last.
        twos = list(map(add, padded, padded[1:]))
        threes = list(map(add, twos, padded[2:]))
        each = list(zip(word, twos, ["", *threes[:-1]]))
        if not word.islower() and any(a.isupper() and b.isupper() for a, b in zip(word, word[1:])):
            # A character inside an all-capitals run ("KI", "CO2") emits nothing, as in langdetect.
            upper = [c.isupper() for c in word]
            each = [grams for i, grams in enumerate(each) if not (i and upper[i] and upper[i - 1])]
        grams = list(chain.from_iterable(each))
        if closed:
            grams += (twos[-1], threes[-1])
        index = self.index
        return tuple(map(index.__getitem__, filter(index.__contains__, grams)))

    def text_grams(self, text: str) -> list[int]:
        """The numbers of a cleaned text's n-grams: its words', the last one not closed by a space."""
        words = _normalised(text).split(" ")
        out = list(chain.from_iterable(map(self.closed.__getitem__, filter(None, words[:-1]))))
        if words[-1]:
            out += self.open[words[-1]]
        return out


class _FastDetector(Detector):
    """langdetect's Detector with its per-character Python loops replaced by string operations.

    The n-grams, their order and the seeded sampling are exactly langdetect's (a test compares them);
    only the text preparation is faster.
    """

    def append(self, text: str) -> None:
        self.text += _appended(text, self.max_text_length)

    def cleaning_text(self) -> None:
        self.text = _cleaned(self.text)

    def _extract_ngrams(self) -> list[str]:
        profiles = _profiles(self.word_lang_prob_map)
        return [profiles.names[n] for n in profiles.text_grams(self.text)]

    def _detect_block(self) -> None:
        self.cleaning_text()
        ngrams = self._extract_ngrams()
        if not ngrams:
            raise LangDetectException(0, "No features in text.")
        self.langprob = _trials(self, self.word_lang_prob_map, ngrams)


def _trials(det: Detector, rows, ngrams: list) -> list[float]:  # noqa: ANN001 - a mapping or list, by n-gram
    """langdetect's seeded sampling loop with the method calls inlined; same draws, same result.

    `rows[g]` are the languages' probabilities of n-gram g (a string with the factory's map, a number with
    _Profiles.rows)."""
    size = len(det.langlist)
    langprob = [0.0] * size
    rnd = det.random
    rnd.seed(det.seed)
    # random.choice(seq) is seq[_randbelow(len(seq))], which draws getrandbits(k) until below len(seq):
    # the samplers repeat that inline, the same draws without a Python call per draw.
    bits = rnd.getrandbits
    sample = _sample_two if size == 2 and det.prior_map is None else _sample
    for _ in range(det.n_trial):
        weight = (det.alpha + rnd.gauss(0.0, 1.0) * det.ALPHA_WIDTH) / det.BASE_FREQ
        prob = sample(det, rows, ngrams, bits, weight)
        for j in range(size):
            langprob[j] += prob[j] / det.n_trial
    return langprob


def _sample(det: Detector, wmap, ngrams: list, bits, weight: float) -> list[float]:  # noqa: ANN001
    """One trial of langdetect's sampling: multiply in random n-grams until one language dominates."""
    size = len(det.langlist)
    prob = list(det.prior_map) if det.prior_map is not None else [1.0 / size] * size
    count, i = len(ngrams), 0
    k = count.bit_length()
    while True:
        r = bits(k)
        while r >= count:
            r = bits(k)
        prob = [p * (weight + q) for p, q in zip(prob, wmap[ngrams[r]])]
        if i % 5 == 0:
            total = sum(prob)
            prob = [p / total for p in prob]
            if max(prob) > det.CONV_THRESHOLD or i >= det.ITERATION_LIMIT:
                return prob
        i += 1


def _sample_two(det: Detector, wmap, ngrams: list, bits, weight: float) -> list[float]:  # noqa: ANN001
    """_sample for two languages (the usual de+en site), unrolled: same arithmetic, twice as fast.

    langdetect normalises and checks after draw 0, 5, 10, …: the first draw alone, then blocks of five with no
    per-draw test of the count."""
    count, limit, conv = len(ngrams), det.ITERATION_LIMIT, det.CONV_THRESHOLD
    k = count.bit_length()
    r = bits(k)
    while r >= count:
        r = bits(k)
    q0, q1 = wmap[ngrams[r]]
    p0, p1 = 0.5 * (weight + q0), 0.5 * (weight + q1)
    i = 0
    while True:
        total = p0 + p1
        p0, p1 = p0 / total, p1 / total
        if (p0 if p0 > p1 else p1) > conv or i >= limit:
            return [p0, p1]
        for _ in _FIVE:
            r = bits(k)
            while r >= count:
                r = bits(k)
            q0, q1 = wmap[ngrams[r]]
            p0 *= weight + q0
            p1 *= weight + q1
        i += 5


_PROFILES: dict[int, tuple[dict, _Profiles]] = {}  # id of a factory's n-gram map -> (the map, its profiles)


def _profiles(wmap: dict) -> _Profiles:
    known = _PROFILES.get(id(wmap))
    if known is None or known[0] is not wmap:
        known = _PROFILES[id(wmap)] = (wmap, _Profiles(wmap))
    return known[1]


@lru_cache(maxsize=16)
def _factory(languages: tuple[str, ...], seed: int) -> DetectorFactory:
    """A factory holding only the given profiles (all langdetect knows when empty)."""
    factory = DetectorFactory()
    factory.seed = seed
    names = languages or tuple(sorted(os.listdir(PROFILES_DIRECTORY)))
    missing = [n for n in names if not os.path.isfile(os.path.join(PROFILES_DIRECTORY, n))]
    if missing:
        raise ValueError(f"langdetect has no profile for: {', '.join(missing)}")
    profiles = []
    for name in names:
        with open(os.path.join(PROFILES_DIRECTORY, name), encoding="utf-8") as fh:
            profiles.append(fh.read())
    factory.load_json_profile(profiles)
    return factory


def check(languages: tuple[str, ...], seed: int) -> None:
    """Raise ValueError now if langdetect lacks a profile for one of `languages`."""
    _factory(languages, seed)


_ANSWERS: dict[tuple, tuple[tuple[str, float], ...] | None] = {}
CACHED = 20_000
# Scorers and web requests detect on threads: evicting is a read of the oldest key and a delete, which must not
# interleave with another thread's.
_ANSWERS_LOCK = threading.Lock()
_MISSING = object()


def _new_lock_in_child() -> None:
    """A forked child gets a free lock: the thread that may have held the parent's is not in the child."""
    global _ANSWERS_LOCK
    _ANSWERS_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_new_lock_in_child)


def cache_clear() -> None:
    """Forget every answer (benchmarks measure a cold start)."""
    with _ANSWERS_LOCK:
        _ANSWERS.clear()


def probabilities(text: str, languages: tuple[str, ...], seed: int, max_chars: int) -> tuple[tuple[str, float], ...]:
    """langdetect's (language, probability) list for `text`, best first, among `languages` (all when empty)."""
    answer = probabilities_many([text], languages, seed, max_chars)[0]
    if answer is None:
        raise NoFeatures(text[:40])
    return answer


def probabilities_many(texts: Sequence[str], languages: tuple[str, ...], seed: int, max_chars: int
                       ) -> list[tuple[tuple[str, float], ...] | None]:
    """probabilities() of each text, None for a text with no n-gram the profiles know.

    An answer depends only on these arguments, so it is cached: comments repeat (quotes, "+1", signatures).
    One detector serves the whole batch (a Detector's own Random seeds itself from the OS, costly per text),
    and each text's n-grams are numbers from the per-word cache.
    """
    keys = [(text, languages, seed, max_chars) for text in texts]
    # The cached answers are taken before any is evicted: storing this batch's new answers may evict the oldest
    # ones, which the batch itself may still ask for.
    answers = {key: _ANSWERS.get(key, _MISSING) for key in keys}
    todo = [key for key, answer in answers.items() if answer is _MISSING]
    if todo:
        factory = _factory(languages, seed)
        det, profiles = _FastDetector(factory), _profiles(factory.word_lang_prob_map)
        for key in todo:
            ids = profiles.text_grams(_cleaned(_appended(key[0], max_chars)))
            answers[key] = tuple((p.lang, p.prob) for p in det._sort_probability(
                _trials(det, profiles.rows, ids))) if ids else None
        with _ANSWERS_LOCK:
            for key in todo:
                if len(_ANSWERS) >= CACHED and key not in _ANSWERS:
                    del _ANSWERS[next(iter(_ANSWERS))]  # the oldest answer
                _ANSWERS[key] = answers[key]
    return [answers[key] for key in keys]
