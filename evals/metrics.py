"""Ranking metrics at article level (pure functions).

Example:
    >>> round(ndcg_at_k(["b", "a"], {"a"}, 10), 4), recall_at_k(["b", "a"], {"a"}, 1), mrr_at_k(["b", "a"], {"a"}, 10)
    (0.6309, 0.0, 0.5)
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def dedupe(ids: Sequence[str]) -> list[str]:
    """Chunk-level ranking → article-level ranking (first occurrence wins).

    >>> dedupe(["a", "b", "a", "c"])
    ['a', 'b', 'c']
    """
    return list(dict.fromkeys(ids))


def ndcg_at_k(ranked: Sequence[str], gold: set[str], k: int = 10) -> float:
    dcg = sum(1.0 / math.log2(i + 2) for i, d in enumerate(ranked[:k]) if d in gold)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(gold), k)))
    return dcg / ideal if ideal else 0.0


def recall_at_k(ranked: Sequence[str], gold: set[str], k: int) -> float:
    return len(set(ranked[:k]) & gold) / len(gold) if gold else 0.0


def mrr_at_k(ranked: Sequence[str], gold: set[str], k: int = 10) -> float:
    return next((1.0 / (i + 1) for i, d in enumerate(ranked[:k]) if d in gold), 0.0)


def summarize(rows: list[dict]) -> dict[str, float]:
    """Mean of each metric over per-question rows that have ``ranked`` and ``gold``."""
    if not rows:
        return {}
    out = {"questions": len(rows)}
    for name, fn in (("ndcg@10", lambda r, g: ndcg_at_k(r, g, 10)), ("recall@1", lambda r, g: recall_at_k(r, g, 1)),
                     ("recall@5", lambda r, g: recall_at_k(r, g, 5)), ("recall@10", lambda r, g: recall_at_k(r, g, 10)),
                     ("mrr@10", lambda r, g: mrr_at_k(r, g, 10))):
        out[name] = sum(fn(row["ranked"], set(row["gold"])) for row in rows) / len(rows)
    return out


def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile.

    >>> percentile([1, 2, 3, 4], 50)
    2.5
    """
    if not values:
        return 0.0
    v = sorted(values)
    x = (len(v) - 1) * p / 100
    lo, hi = math.floor(x), math.ceil(x)
    return v[lo] + (v[hi] - v[lo]) * (x - lo)


def paired_p(a: Sequence[float], b: Sequence[float], n: int = 10_000, seed: int = 0) -> float:
    """Two-sided p-value of a paired randomization test: how often randomly swapping each
    question's two scores gives a mean difference at least as large as the one observed.

    >>> paired_p([0.5, 0.6, 0.7] * 10, [0.5, 0.6, 0.7] * 10)
    1.0
    >>> paired_p([1.0] * 30, [0.0] * 30) < 0.001
    True
    """
    import numpy as np

    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if not d.any():
        return 1.0
    signs = np.random.default_rng(seed).choice([-1.0, 1.0], size=(n, len(d)))
    observed = abs(d.mean())
    return float(((np.abs((signs * d).mean(axis=1)) >= observed - 1e-12).sum() + 1) / (n + 1))
