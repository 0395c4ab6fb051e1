"""The second stage with the real EmbeddingGemma (assembled from PyPI parts by `rag setup --quality`)."""

import pytest

from tests.conftest import SEED_QUESTION

pytestmark = pytest.mark.slow


def test_gemma_second_stage_reorders_the_same_candidates(news_index):
    from rag.embed.assets import ASSETS
    from rag.retrieve.rerank import Reranker

    if not ASSETS["embeddinggemma-300m"].target.exists():
        pytest.skip("EmbeddingGemma is not assembled (rag setup --quality)")
    rr = Reranker("embeddinggemma-300m", depth=10)
    hits = news_index.search(SEED_QUESTION, k=15)
    out = rr.rerank(SEED_QUESTION, hits)
    assert sorted(h.chunk_id for h in out) == sorted(h.chunk_id for h in hits)  # re-ordered, never replaced
    assert [h.chunk_id for h in out[10:]] == [h.chunk_id for h in hits[10:]]  # beyond depth: untouched
    assert [h.rank for h in out] == list(range(1, 16))
    assert out[0].article_id == "seed-article.txt" and out[0].score == next(
        h.score for h in hits if h.chunk_id == out[0].chunk_id)  # first-stage cosine kept
    cached = len(rr._cache)
    assert rr.rerank(SEED_QUESTION, hits) == out and len(rr._cache) == cached == 10  # embedded once

    # The same second stage behind Index.search and the answer's evidence (rag.retrieve.search.reranked).
    from rag.answers.extractive import gather

    news_index.models._reranker = rr
    try:
        top = news_index.search(SEED_QUESTION, k=5)
        ev = gather(news_index, SEED_QUESTION, k=4)
    finally:
        news_index.models._reranker = None
    assert len(top) == 5 and top[0].article_id == "seed-article.txt"
    assert len(ev.hits) == 4 and ev.hits[0].article_id == "seed-article.txt" and ev.margin > 0
