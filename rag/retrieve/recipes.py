"""Retrieval recipes as data: what each search is made of, named once.

The product uses two: :data:`RESULTS` (what a search returns) and :data:`EVIDENCE` (the passages
an answer reads). The evaluation compares the rest (:data:`RECIPES`, by name); the default is
``hybrid``, which is :data:`RESULTS` without the second stage.

Example:
    >>> RECIPES["hybrid"].lexical, RECIPES["dense"].sentences, RECIPES["hybrid:raw"].analyzer
    (True, False, 'raw')
    >>> sorted(RECIPES)[:4]
    ['bm25', 'bm25:fold', 'bm25:raw', 'bm25:stem']
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rag.storage.lexical import ANALYZERS


@dataclass(frozen=True)
class Recipe:
    name: str
    # Score chunks by chunk + best-sentence similarity to the centred question (else the plain
    # chunk cosine from HNSW).
    sentences: bool = True
    # Use the question's words: BM25 fused for an Arabic question, names matched across scripts
    # (and the question form taken off) for any other.
    lexical: bool = True
    # At most ``TUNING.per_article`` chunks of one article before other articles' chunks.
    diverse: bool = True
    # Re-score with the second stage when one is configured (``Settings.rerank_model``).
    rerank: bool = True
    # BM25 alone (no vectors but the question's cosine shown as score).
    bm25_only: bool = False
    # The BM25 analyzer (``rag.storage.lexical.ANALYZERS``); another than the index's builds one in memory.
    analyzer: str = "stem"


RESULTS = Recipe("results")
# The chunks the evidence selection was calibrated on: dense chunk vectors fused with BM25 for
# Arabic questions, several chunks of one article allowed (the fact often sits in a later one).
EVIDENCE = Recipe("evidence", sentences=False, diverse=False)

_FIRST_STAGE = {
    "dense": Recipe("dense", sentences=False, lexical=False, rerank=False),
    "sentences": Recipe("sentences", lexical=False, rerank=False),
    "bm25": Recipe("bm25", bm25_only=True, diverse=False, rerank=False),
    "hybrid": Recipe("hybrid", rerank=False),
    "rerank": Recipe("rerank"),
}
RECIPES: dict[str, Recipe] = {
    **_FIRST_STAGE,
    **{f"{base}:{a}": replace(_FIRST_STAGE[base], name=f"{base}:{a}", analyzer=a)
       for base in ("bm25", "hybrid") for a in ANALYZERS},
}
