"""langdetect's detection, faster: the one module that reaches into langdetect's Detector (moderation.domain.language
calls only `probabilities` and `check`). Same n-grams, same seeded draws, same probabilities (tests compare them)."""
from __future__ import annotations

import os
from functools import lru_cache

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
_LATIN = regex.compile(r"[A-z]")
_NON_LATIN = regex.compile(r"[^\x00-\u02ff\u1e00-\u1eff]")
_SPACES = regex.compile(r" {2,}")


_KNOWN_GRAMS: dict[int, dict] = {}


@lru_cache(maxsize=16)
def _word_grams(map_id: int):  # noqa: ANN202
    """Per profile set, a cached function: the n-grams langdetect emits for one normalised word."""
    known = _KNOWN_GRAMS[map_id]

    @lru_cache(maxsize=200_000)
    def grams(word: str, closed: bool) -> tuple[str, ...]:
        padded = " " + word + " "
        upper = [c.isupper() for c in word]
        # Per character: the 1-, 2- and 3-gram ending there ("" at i=0); a character inside an
        # all-capitals run ("KI", "CO2") is skipped, as langdetect does. A closing space adds two more.
        out = [g for i in range(len(word)) if not (i and upper[i] and upper[i - 1])
               for g in (word[i], padded[i:i + 2], padded[i - 1:i + 2]) if g in known]
        if closed:
            out += [g for g in (padded[-2:], padded[-3:]) if g in known]
        return tuple(out)

    return grams


class _FastDetector(Detector):
    """langdetect's Detector with its per-character Python loops replaced by string operations.

    The n-grams, their order and the seeded sampling are exactly langdetect's (a test compares them);
    only the text preparation is faster.
    """

    def append(self, text: str) -> None:
        text = self.URL_RE.sub(" ", text)
        text = self.MAIL_RE.sub(" ", text)
        text = NGram.normalize_vi(text)[: self.max_text_length]
        self.text += _SPACES.sub(" ", text)

    def cleaning_text(self) -> None:
        if self.text.isascii():
            return  # no non-Latin letters, nothing to clean
        if len(_LATIN.findall(self.text)) * 2 < len(_NON_LATIN.findall(self.text)):
            self.text = "".join(ch for ch in self.text if ch < "A" or "z" < ch)

    def _extract_ngrams(self) -> list[str]:
        grams_of = _word_grams(id(self.word_lang_prob_map))
        words = self.text.translate(_NORMALIZE).split(" ")
        out: list[str] = []
        for word in words[:-1]:
            if word:
                out += grams_of(word, True)
        if words[-1]:
            out += grams_of(words[-1], False)
        return out

    def _detect_block(self) -> None:
        """langdetect's seeded sampling loop with the method calls inlined; same draws, same result."""
        self.cleaning_text()
        ngrams = self._extract_ngrams()
        if not ngrams:
            raise LangDetectException(0, "No features in text.")
        wmap = self.word_lang_prob_map
        size = len(self.langlist)
        self.langprob = langprob = [0.0] * size
        rnd = self.random
        rnd.seed(self.seed)
        # random.choice(seq) is seq[_randbelow(len(seq))], which draws getrandbits(k) until below len(seq):
        # the samplers repeat that inline, the same draws without a Python call per draw.
        bits = rnd.getrandbits
        sample = _sample_two if size == 2 and self.prior_map is None else _sample
        for _ in range(self.n_trial):
            weight = (self.alpha + rnd.gauss(0.0, 1.0) * self.ALPHA_WIDTH) / self.BASE_FREQ
            prob = sample(self, wmap, ngrams, bits, weight)
            for j in range(size):
                langprob[j] += prob[j] / self.n_trial


def _sample(det: Detector, wmap: dict, ngrams: list[str], bits, weight: float) -> list[float]:  # noqa: ANN001
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


def _sample_two(det: Detector, wmap: dict, ngrams: list[str], bits, weight: float) -> list[float]:  # noqa: ANN001
    """_sample for two languages (the usual de+en site), unrolled: same arithmetic, twice as fast."""
    p0 = p1 = 0.5
    count, i, limit, conv = len(ngrams), 0, det.ITERATION_LIMIT, det.CONV_THRESHOLD
    k = count.bit_length()
    while True:
        r = bits(k)
        while r >= count:
            r = bits(k)
        q0, q1 = wmap[ngrams[r]]
        p0 *= weight + q0
        p1 *= weight + q1
        if i % 5 == 0:
            total = p0 + p1
            p0, p1 = p0 / total, p1 / total
            if (p0 if p0 > p1 else p1) > conv or i >= limit:
                return [p0, p1]
        i += 1



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
    _KNOWN_GRAMS[id(factory.word_lang_prob_map)] = factory.word_lang_prob_map
    return factory


def check(languages: tuple[str, ...], seed: int) -> None:
    """Raise ValueError now if langdetect lacks a profile for one of `languages`."""
    _factory(languages, seed)


@lru_cache(maxsize=20_000)
def probabilities(text: str, languages: tuple[str, ...], seed: int, max_chars: int) -> tuple[tuple[str, float], ...]:
    """langdetect's (language, probability) list for `text`, best first, among `languages` (all when empty).

    The answer depends only on these arguments, so it is cached: comments repeat (quotes, "+1", signatures).
    """
    detector = _FastDetector(_factory(languages, seed))
    detector.set_max_text_length(max_chars)
    detector.append(text)
    try:
        return tuple((p.lang, p.prob) for p in detector.get_probabilities())
    except LangDetectException:
        raise NoFeatures(text[:40]) from None
