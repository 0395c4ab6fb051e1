"""Fusion of dense and lexical rankings, aware of the question's language (pure helpers).

BM25 cannot match an English question to Arabic text (≈0.11 nDCG@10 on XQuAD English→Arabic),
so its weight is zero unless the question is written in Arabic; then reciprocal-rank fusion
lets exact Arabic words lift passages the dense model ranks too low.

Example:
    >>> rrf([["a", "b", "c"], ["c", "d"]], [1.0, 1.0])
    ['c', 'a', 'b', 'd']
    >>> lexical_weight("What did Russia say?"), lexical_weight("ماذا قالت روسيا؟")
    (0.0, 1.0)
"""

from __future__ import annotations

from rag.text import is_arabic

RRF_K = 60
ARABIC_LEXICAL_WEIGHT = 1.0
MODES = ("hybrid", "dense", "bm25")


def lexical_weight(question: str) -> float:
    """Weight of BM25 in the fusion for this question."""
    return ARABIC_LEXICAL_WEIGHT if is_arabic(question) else 0.0


def rrf(rankings: list[list[str]], weights: list[float], k: int = RRF_K) -> list[str]:
    """Weighted reciprocal-rank fusion; ties keep the order of the first ranking."""
    scores: dict[str, float] = {}
    for ranking, w in zip(rankings, weights):
        if w <= 0:
            continue
        for rank, item in enumerate(ranking):
            scores[item] = scores.get(item, 0.0) + w / (k + rank + 1)
    first = {item: i for i, item in enumerate(dict.fromkeys(x for r in rankings for x in r))}
    return sorted(scores, key=lambda item: (-scores[item], first[item]))
