"""The linear toxicity model at scoring time: hashed n-gram features and calibrated scores with numpy alone.

Scoring needs neither scikit-learn nor scipy (importing them costs seconds per process); the features are
exactly those of the estimator's HashingVectorizer set-up (tests compare them), and the model file is a numpy
.npz of plain arrays plus JSON, read with `allow_pickle=False`, so loading it can never run code.
"""
from __future__ import annotations

import io
import json
import os
import re
import threading
import weakref
import zipfile
from collections import ChainMap
from itertools import chain, islice
from typing import Mapping, Sequence

import mmh3
import numpy as np

from moderation.scoring import murmur
from moderation.scoring.wordfeatures import LexiconCounter

FORMAT = "moderation-linear/1"
_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@\w+")
_DIGITS = re.compile(r"\d")
_SURROGATE = re.compile("[\ud800-\udfff]")
_TOKEN = re.compile(r"(?u)\b\w+\b|[^\w\s]")  # the estimator's token_pattern


def preprocess(text: str) -> str:
    """Lower-case; URLs, @mentions and digits folded so that no corpus' handles become features.

    A lone surrogate (a JSON "\\ud800" escape) becomes U+FFFD: it has no UTF-8 form, and mmh3 crashes the
    process on a string that holds one.
    """
    text = text.replace("|LBR|", " ").lower()
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = _SURROGATE.sub("\ufffd", text)
    return _DIGITS.sub("0", _MENTION.sub(" @user ", _URL.sub(" url ", text)))


class WordHasher:
    """Word uni- and bigrams as HashingVectorizer(ngram_range=(1, 2), token_pattern above) hashes them.

    `row` gives raw murmurhash3 values (a C call per n-gram, cheaper than any cache look-up in Python);
    `_l2_block` folds them into columns for the whole batch at once.
    """

    def __init__(self, n_features: int) -> None:
        self.n_features = n_features

    def row(self, text: str) -> list[int]:
        tokens = _TOKEN.findall(text)
        return list(map(mmh3.hash, chain(tokens, map(" ".join, zip(tokens, tokens[1:])))))


class CharHasher:
    """char_wb n-grams of each whitespace-separated word as raw murmurhash3 values, hashed once per distinct word.

    The values of the words seen so far (up to `limit` words) lie in one numpy pool, word after word, the cache
    giving each word's place in it; a batch's new words are cut into n-grams and hashed together in numpy
    (scoring.murmur), and a batch's rows are gathered from the pool with one index. `_l2_flat` folds the values
    into columns as scikit-learn's FeatureHasher does.
    """

    def __init__(self, lo: int, hi: int, n_features: int, limit: int = 100_000) -> None:
        self.lo, self.hi, self.n_features, self.limit = lo, hi, n_features, limit
        self.cache: dict[str, tuple[int, int]] = {}  # word -> (start, count) in pool
        self.pool = np.empty(0, dtype=np.int32)
        self._lock = threading.Lock()  # a scorer abandoned after its timeout may still be adding to the pool
        _HASHERS.add(self)

    def hashes(self, words: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Raw murmurhash3 values of each word's char_wb n-grams, word after word, and how many per word.

        sklearn's _char_wb_ngrams: the word padded with a space each side, its n-grams for n from lo to hi in
        order of n, then offset; a padded word no longer than n is one n-gram, and the last.

        Where each n-gram starts and ends in the words' joined text is computed with numpy, and murmur hashes
        them all in numpy too, so the Python cost is per batch, not per n-gram.
        """
        if not words:
            return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.int64)
        joined = "".join(f" {w} " for w in words)
        size = np.fromiter(map(len, words), dtype=np.int64, count=len(words)) + 2
        base = np.cumsum(size) - size  # where each padded word starts in `joined`
        ids, starts, stops = [], [], []
        for n in range(self.lo, self.hi + 1):
            many = np.flatnonzero(size > n)  # n-grams at every offset 0 .. size - n
            counts = size[many] - n + 1
            word = np.repeat(many, counts)
            offset = np.arange(len(word)) - np.repeat(np.cumsum(counts) - counts, counts)
            whole = np.flatnonzero(np.maximum(size, self.lo) == n)  # the first n a word is no longer than
            ids += [word, whole]
            starts += [base[word] + offset, base[whole]]
            stops += [base[word] + offset + n, base[whole] + size[whole]]
        word = np.concatenate(ids)
        order = np.argsort(word, kind="stable")  # by word; within a word by n, then offset
        first, last = np.concatenate(starts)[order], np.concatenate(stops)[order]
        return murmur.substrings(joined, first, last), np.bincount(word, minlength=len(words))

    def flat(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The raw values of every word's n-grams, text after text, and how many belong to each text."""
        split = [t.split() for t in texts]
        with self._lock:
            cache, pool = self.cache, self.pool
            get = cache.__getitem__
            new = [w for w in set().union(*split) if w not in cache]
            if new:
                values, counts = self.hashes(new)
                places = (len(pool) + np.cumsum(counts) - counts).tolist()
                fresh = dict(zip(new, zip(places, counts.tolist())))
                pool = np.concatenate([pool, values])
                keep = max(0, min(len(new), self.limit - len(cache)))
                cache.update(islice(fresh.items(), keep))
                self.pool = pool[:len(self.pool) + int(counts[:keep].sum())]
                if keep < len(new):  # the cache is full: this batch's other words are looked up beside it
                    get = ChainMap(cache, fresh).__getitem__
            places = np.array(list(map(get, chain.from_iterable(split))), dtype=np.int64).reshape(-1, 2)
        begin, sizes = places[:, 0], places[:, 1]
        index = np.arange(int(sizes.sum())) + np.repeat(begin - (np.cumsum(sizes) - sizes), sizes)
        words = np.fromiter(map(len, split), dtype=np.int64, count=len(split))
        lengths = np.zeros(len(split), dtype=np.int64)
        if len(sizes):
            lengths[words > 0] = np.add.reduceat(sizes, (np.cumsum(words) - words)[words > 0])
        return pool[index], lengths

    def rows(self, texts: Sequence[str]) -> list[list[int]]:
        """Per text, the raw values of all its words' n-grams."""
        values, lengths = self.flat(texts)
        ends = np.cumsum(lengths).tolist()
        return list(map(values.tolist().__getitem__, map(slice, [0, *ends[:-1]], ends)))


_HASHERS: weakref.WeakSet[CharHasher] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    """In a forked child (triage and what-if workers): each hasher a free lock, its cache dropped if mid-update."""
    # A lock held at the fork belongs to a thread the child does not have: it would never be released, and the
    # cache it guarded may name values the pool does not hold yet.
    for hasher in list(_HASHERS):
        if hasher._lock.locked():
            hasher.cache, hasher.pool = {}, np.empty(0, dtype=np.int32)
        hasher._lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _l2_block(rows: list[list[int]], offset: int, fold: int | None = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, column, value) of term counts per row, duplicates summed, each row scaled to unit length.

    With `fold`, the rows hold raw murmurhash3 values, folded into `fold` columns as scikit-learn's FeatureHasher does
    (murmurhash3_32, seed 0, no alternate sign).
    """
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    return _l2_flat(list(chain.from_iterable(rows)), lengths, offset, fold)


def _l2_flat(values: list[int] | np.ndarray, lengths: np.ndarray, offset: int, fold: int | None = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """_l2_block of rows given as one list of values and each row's length."""
    n = len(lengths)
    cols = np.array(values, dtype=np.int64)
    if fold is not None:
        cols = np.where(cols == -2147483648, (2147483647 - (fold - 1)) % fold, np.abs(cols) % fold)
    width = fold or (int(cols.max()) + 1 if len(cols) else 1)  # above any column: row * width + column sorts
    kind = np.int32 if n * width < 2 ** 31 else np.int64  # by row, then column; int32 sorts faster
    keys, counts = np.unique(np.repeat(np.arange(n, dtype=kind), lengths) * kind(width) + cols.astype(kind),
                             return_counts=True)
    row, col = (keys // width).astype(np.int64), (keys % width).astype(np.int64)
    values = counts.astype(np.float32)
    norms = np.sqrt(np.bincount(row, weights=values.astype(np.float64) ** 2, minlength=n))
    return row, col + offset, (values / norms[row]).astype(np.float32)


class Featurizer:
    """Texts -> sparse rows (indptr, columns, values): word block, character block, word-list counts."""

    def __init__(self, word_bits: int, char_bits: int, char_ngrams: tuple[int, int],
                 lexicon: LexiconCounter) -> None:
        self.words = WordHasher(2 ** word_bits)
        self.chars = CharHasher(*char_ngrams, 2 ** char_bits)
        self.lexicon = lexicon
        self.n_features = 2 ** word_bits + 2 ** char_bits + len(lexicon.matchers)

    def rows(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lowered = [preprocess(t) for t in texts]
        parts = [_l2_block([self.words.row(t) for t in lowered], 0, self.words.n_features),
                 _l2_flat(*self.chars.flat(lowered), self.words.n_features, self.chars.n_features)]
        if self.lexicon.matchers:
            counts = self.lexicon.counts(lowered)
            row, col = np.nonzero(counts)
            parts.append((row, col + self.words.n_features + self.chars.n_features, counts[row, col]))
        row = np.concatenate([p[0] for p in parts])
        order = np.argsort(row, kind="stable")  # by row; within a row the blocks stay in column order
        indptr = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(np.bincount(row, minlength=len(texts)), out=indptr[1:])
        return (indptr, np.concatenate([p[1] for p in parts])[order].astype(np.int32),
                np.concatenate([p[2] for p in parts])[order].astype(np.float32))


class LinearModel:
    """Calibrated per-label logistic regressions over the Featurizer's rows: what scoring needs, nothing more."""

    def __init__(self, params: Mapping, labels: Sequence[str], weights: np.ndarray, intercept: np.ndarray,
                 calibration: np.ndarray, lexicon: LexiconCounter, thresholds: Mapping[str, float]) -> None:
        self.params = dict(params)
        self.labels_ = tuple(labels)
        self.weights = weights  # (features, labels), dense: a row's columns index it directly
        self.intercept_ = intercept
        self.calibration_ = calibration
        self.thresholds = dict(thresholds)
        self.featurizer = Featurizer(params["word_bits"], params["char_bits"], tuple(params["char_ngrams"]), lexicon)

    def decision_function(self, texts: Sequence[str]) -> np.ndarray:
        indptr, cols, values = self.featurizer.rows(list(texts))
        parts = self.weights[cols] * values[:, None]
        # Sum each row's part in float32 as scipy's sparse product does; empty rows stay zero.
        sums = np.add.reduceat(np.vstack([parts, np.zeros((1, parts.shape[1]), np.float32)]),
                               np.minimum(indptr[:-1], len(parts)), axis=0)
        sums[indptr[:-1] == indptr[1:]] = 0.0
        return sums.astype(np.float64) + self.intercept_

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated probability per text (rows) and label (columns, in `labels_` order)."""
        f = self.decision_function(texts)
        return 1.0 / (1.0 + np.exp(self.calibration_[:, 0] * f + self.calibration_[:, 1]))

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        cuts = np.array([self.thresholds.get(label, 0.5) for label in self.labels_])
        return (self.predict_proba(texts) >= cuts).astype(int)


def is_npz(data: bytes) -> bool:
    """Whether model bytes are this format's .npz (else an older skops file)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return "meta.npy" in z.namelist()
    except zipfile.BadZipFile:
        return False


def write(state: Mapping, card: Mapping) -> bytes:
    """The .npz bytes of a model state (params, labels, coefficient rows as CSR parts, intercept, calibration)."""
    meta = {"format": FORMAT, "params": state["params"], "labels": list(state["labels"])}
    out = io.BytesIO()
    np.savez_compressed(out, meta=np.array(json.dumps(meta)), card=np.array(json.dumps(card, ensure_ascii=False)),
                        coef_data=state["coef_data"], coef_indices=state["coef_indices"],
                        coef_indptr=state["coef_indptr"], coef_shape=np.array(state["coef_shape"]),
                        intercept=state["intercept"], calibration=state["calibration"])
    return out.getvalue()


def read(data: bytes) -> tuple[dict, dict]:
    """(state, card) from .npz bytes; only arrays of numbers and strings are read (no pickle)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        if meta.get("format") != FORMAT:
            raise ValueError(f"unknown model format {meta.get('format')!r}")
        state = {"params": meta["params"], "labels": meta["labels"], "coef_shape": tuple(z["coef_shape"].tolist()),
                 **{k: z[k] for k in ("coef_data", "coef_indices", "coef_indptr", "intercept", "calibration")}}
        return state, json.loads(str(z["card"]))


def model_from_state(state: Mapping, lexicon: LexiconCounter, thresholds: Mapping[str, float]) -> LinearModel:
    """The scoring model of a state: the coefficient rows spread into a dense (features, labels) array."""
    n_labels, n_features = state["coef_shape"]
    weights = np.zeros((n_features, n_labels), dtype=np.float32)
    indptr, indices, values = state["coef_indptr"], state["coef_indices"], state["coef_data"]
    for j in range(n_labels):
        weights[indices[indptr[j]:indptr[j + 1]], j] = values[indptr[j]:indptr[j + 1]]
    return LinearModel(state["params"], state["labels"], weights, np.asarray(state["intercept"], np.float64),
                       np.asarray(state["calibration"], np.float64), lexicon, thresholds)
