"""MurmurHash3 (x86, 32 bit, seed 0) of many substrings at once with numpy: mmh3.hash's values, without a call each.

The character n-gram features hash about thirty substrings per new word; one C call per substring costs more than
all the arithmetic. Here the substrings' UTF-8 bytes are gathered into one matrix per byte length and hashed
column block by column block (uint32 arithmetic wraps as the C code's does); tests compare every value with mmh3.
"""
from __future__ import annotations

import numpy as np

_C1, _C2 = np.uint32(0xCC9E2D51), np.uint32(0x1B873593)
_M, _N = np.uint32(5), np.uint32(0xE6546B64)
_F1, _F2 = np.uint32(0x85EBCA6B), np.uint32(0xC2B2AE35)


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def _mix(k: np.ndarray) -> np.ndarray:
    return _rotl(k * _C1, 15) * _C2


def _hash_rows(data: np.ndarray) -> np.ndarray:
    """murmurhash3_32 (seed 0) of each row of a (rows, length) uint8 matrix, as uint32."""
    rows, length = data.shape
    h = np.zeros(rows, dtype=np.uint32)
    blocks = length // 4
    if blocks:
        words = np.ascontiguousarray(data[:, :blocks * 4]).view("<u4")
        for b in range(blocks):
            h ^= _mix(words[:, b].astype(np.uint32))
            h = _rotl(h, 13) * _M + _N
    tail = length & 3
    if tail:
        k = np.zeros(rows, dtype=np.uint32)
        for i in range(tail - 1, -1, -1):  # the tail bytes, little-endian, as the C switch falls through
            k ^= data[:, blocks * 4 + i].astype(np.uint32) << np.uint32(8 * i)
        h ^= _mix(k)
    h ^= np.uint32(length)
    h ^= h >> np.uint32(16)
    h *= _F1
    h ^= h >> np.uint32(13)
    h *= _F2
    h ^= h >> np.uint32(16)
    return h


def substrings(text: str, starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """mmh3.hash(text[a:b]) (signed int32, seed 0) for every a, b of `starts`, `stops` (character offsets).

    Raises UnicodeEncodeError for text with a lone surrogate, which has no UTF-8 form (preprocess replaces them).
    """
    points = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
    utf8 = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    widths = 1 + (points >= 0x80).astype(np.int64) + (points >= 0x800) + (points >= 0x10000)
    offsets = np.zeros(len(points) + 1, dtype=np.int64)
    np.cumsum(widths, out=offsets[1:])
    first = offsets[starts]
    lengths = offsets[stops] - first
    out = np.empty(len(first), dtype=np.uint32)
    for length in np.unique(lengths).tolist():
        which = np.flatnonzero(lengths == length)
        out[which] = _hash_rows(utf8[first[which, None] + np.arange(length)]) if length else _hash_rows(
            np.zeros((len(which), 0), dtype=np.uint8))
    return out.view(np.int32)
