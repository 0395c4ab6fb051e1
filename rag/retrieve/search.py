"""The ranking pipeline: a question and a :class:`rag.retrieve.recipes.Recipe` in, ranked hits out.

First stage (docs/design.md, "Sentence-level scoring" to "Filters"): the nearest chunks by
HNSW; with ``sentences``, every chunk scored by its own and its best sentence's similarity to
the question centred on the collection's mean; with ``lexical``, BM25 fused for an Arabic
question or a bonus for names matched across scripts for any other; with ``diverse``, at most
``TUNING.per_article`` chunks of one article before others. Second stage (``rerank``): the
best ``depth`` chunks re-scored by a stronger model (:mod:`rag.retrieve.rerank`). ``Hit.score`` is
always the plain dense cosine.

Example:
    >>> searcher = Searcher(store, models)                            # doctest: +SKIP
    >>> searcher.search("What did Russia say about the Gulf alliance?", k=3)   # doctest: +SKIP
"""

from __future__ import annotations

import functools
from dataclasses import replace

import numpy as np

from rag.hits import Filters, Hit, renumber
from rag.ids import chunk_of
from rag.outlets import outlet_name
from rag.retrieve.fusion import QUESTION_FORMS, centred, lexical_weight, per_article, rrf, sentence_scores
from rag.retrieve.recipes import RESULTS, Recipe
from rag.storage.lexical import LexicalIndex
from rag.storage.store import Store
from rag.tuning import TUNING


def reranked(question: str, k: int, first_stage, reranker=None) -> list[Hit]:
    """The ``k`` best of ``first_stage(n)`` (a function returning ``n`` hits), re-scored by
    ``reranker`` over its depth; as they are without one.

    >>> from types import SimpleNamespace
    >>> first = lambda n: list(range(n))
    >>> reverse = SimpleNamespace(depth=8, rerank=lambda q, hits: hits[::-1])
    >>> reranked("q", 3, first), reranked("q", 3, first, reverse)
    ([0, 1, 2], [7, 6, 5])
    """
    if reranker is None:
        return first_stage(k)
    return reranker.rerank(question, first_stage(max(k, reranker.depth)))[:k]


class Searcher:
    """Searches one :class:`rag.storage.store.Store` with the index's models (:class:`rag.index.Models`)."""

    def __init__(self, store: Store, models):
        self.store = store
        self.models = models
        self._ablations: dict[str, LexicalIndex] = {}  # BM25 with other analyzers (evaluation only)

    def search(self, question: str, k: int = 5, filters: Filters | None = None, recipe: Recipe = RESULTS,
               vector: np.ndarray | None = None) -> list[Hit]:
        """The ``k`` best passages for ``question`` by ``recipe`` (``vector``: its embedding, if known)."""
        if vector is None:
            vector = self.models.queries.embed_queries([question])[0]
        if filters is not None and not filters.empty:
            filters = self.canonical(filters)
        if recipe.bm25_only:
            depth = 10 * k if filters is not None and not filters.empty else k
            return self._rank(vector, dict(self._lexical(recipe).search(question, depth)), k, filters)
        first_stage = functools.partial(self._first_stage, vector, question if recipe.lexical else None,
                                        filters=filters, recipe=recipe)
        return reranked(question, k, first_stage, self.models.reranker if recipe.rerank else None)

    def canonical(self, filters: Filters) -> Filters:
        """Outlets may be given by code ("bbc") or display name ("BBC Arabic"), in any case."""
        known = {}
        for src in self.store.manifest.sources():
            known[src.lower()] = known[outlet_name(src).lower()] = src
        return replace(filters, sources=tuple(known.get(s.lower(), s) for s in filters.sources))

    @functools.cached_property
    def question_form(self) -> np.ndarray:
        """Mean vector of :data:`rag.retrieve.fusion.QUESTION_FORMS` (content-free questions), embedded once."""
        return self.models.queries.embed_queries(list(QUESTION_FORMS)).mean(axis=0)

    def _lexical(self, recipe: Recipe) -> LexicalIndex:
        if recipe.analyzer == "stem":
            return self.store.lexical
        if recipe.analyzer not in self._ablations:
            self._ablations[recipe.analyzer] = LexicalIndex.build(*self.store.texts(), recipe.analyzer)
        return self._ablations[recipe.analyzer]

    def _first_stage(self, vector, question: str | None, k: int, filters: Filters | None, recipe: Recipe) -> list[Hit]:
        """Dense chunks, with sentences and (for a ``question``) BM25 or names, as the recipe says."""
        weight = lexical_weight(question) if question else 0.0
        depth = (3 * k if recipe.diverse else k) if not weight else max(3 * k, TUNING.fusion_depth)
        if filters is None or filters.empty:
            dense = self.store.query(vector, depth)
        else:
            dense = self._filtered(vector, depth, filters)
        known = {h.chunk_id: h for h in dense}
        scores = {h.chunk_id: h.score for h in dense}  # chunk id → ranking score, best first
        if recipe.sentences and self.store.size("sentences"):
            other = question if not weight else None  # an Arabic question has BM25 instead
            scores = self._with_sentences(vector, known, filters, max(depth, TUNING.fusion_depth), other, recipe)
        if weight:
            found = [cid for cid, _ in self._lexical(recipe).search(question, TUNING.fusion_depth)]
            scores = rrf([list(scores), found], [1.0, weight])
        return self._rank(vector, scores, k, filters, known=known, diverse=recipe.diverse)

    def _with_sentences(self, vector, known: dict[str, Hit], filters, depth: int, other: str | None,
                        recipe: Recipe) -> dict[str, float]:
        """Chunk id → chunk + best sentence score, best first, both with the question centred
        (:func:`rag.retrieve.fusion.centred`, :func:`rag.retrieve.fusion.sentence_scores`). For ``other``, a
        question not in Arabic, the question form is taken off first, and chunks get the
        bonus for its names. Chunks found only through a sentence are fetched (into ``known``)."""
        q = vector - TUNING.form_weight * self.question_form if other else vector
        means = self.store.means
        q_chunk, q_sent = centred(q, means["chunks"]), centred(q, means["sentences"])
        norm = float(np.linalg.norm(q_sent))  # Chroma's cosine divides by it; the sum must not
        best: dict[str, float] = {}
        for sid, cos in self.store.query_sentences(q_sent, TUNING.sentence_depth):
            best.setdefault(chunk_of(sid), cos * norm)
        wanted = list(dict.fromkeys([*known, *list(best)[:depth]]))
        chunk: dict[str, float] = {}
        for cid, (hit, emb) in self.store.scored(vector, wanted, filters).items():
            known.setdefault(cid, hit)
            chunk[cid] = float(np.dot(q_chunk, emb))
        floor = min(best.values()) if best else 0.0
        matched = self._lexical(recipe).name_match(other, list(chunk)) if other else {}
        return sentence_scores(chunk, best, floor, matched)

    def _filtered(self, vector, k: int, filters: Filters) -> list[Hit]:
        # A narrow filter searches only the chunks the manifest says match; a broad one
        # over-fetches and filters here (a query restricted to ids costs with their number, and
        # Chroma's `where` scans metadata, 3-4x slower: RESULTS 2026-12-03).
        if self.store.count_within(filters) * 5 <= self.store.size("chunks"):
            return renumber(self.store.query(vector, k, ids=self.store.chunks_within(filters)))
        wide = self.store.query(vector, max(10 * k, 100))
        kept = [h for h in wide if filters.match(h.source, h.date)]
        if len(kept) < k and len(wide) < self.store.size("chunks"):
            kept = self.store.query(vector, k, ids=self.store.chunks_within(filters))
        return renumber(kept[:k])

    def _rank(self, vector, scores: dict[str, float], k: int, filters: Filters | None,
              known: dict[str, Hit] | None = None, diverse: bool = False) -> list[Hit]:
        """Hits for the chunk ids of ``scores`` in that order (filtered; with ``diverse``, spread
        over articles), their dense cosine as ``score`` and their ``scores`` value as ``rank_score``."""
        chunk_ids = per_article(list(scores)) if diverse else list(scores)
        known = dict(known or {})
        missing = [cid for cid in chunk_ids[: 4 * k + 20] if cid not in known]
        if missing:
            known.update({cid: hit for cid, (hit, _) in self.store.scored(vector, missing).items()})
        hits = [known[c] for c in chunk_ids if c in known]
        if filters is not None and not filters.empty:
            hits = [h for h in hits if filters.match(h.source, h.date)]
        return renumber([replace(h, rank_score=scores[h.chunk_id]) for h in hits[:k]])
