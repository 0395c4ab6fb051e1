"""The ranking pipeline over a real index: sentence vectors, ranking scores, the second stage."""

from dataclasses import replace

import pytest

from rag.retrieve.recipes import RECIPES
from rag.retrieve.search import reranked


@pytest.mark.slow
def test_sentence_vectors_point_at_sentences_of_their_chunk(index, shared):
    index.ingest([shared / "corpus" / "seed-article.txt"], progress=False)
    hits = index.search("Russia", k=4)
    chunks = {h.chunk_id: h.text for h in hits}
    stored = index.sentence_vectors(hits)
    assert set(stored) == set(chunks)
    for cid, sents in stored.items():
        for a, b, vec in sents:
            text = chunks[cid][a:b]
            assert len(text) >= 25 and text == text.strip() and vec.shape == (384,)
    a, b, vec = stored["seed-article.txt::0"][0]
    fresh = index.embedder.embed_passages([chunks["seed-article.txt::0"][a:b]])[0]
    # the same text's vector (int8 scales activations per batch: ≈0.997 between batchings; bf16 ≈0.99997)
    assert float(vec @ fresh) > {"int8": 0.995, "bf16": 0.9995, "bf16-int8": 0.998}.get(index.embedder.stored, 0.9999)


@pytest.mark.slow
def test_hits_carry_the_score_the_first_stage_ranked_them_by(index, shared):
    index.ingest([shared / "corpus" / "seed-article.txt"], progress=False)
    for question in ("What did Russia say about the Gulf alliance?", "ماذا قالت روسيا عن التحالف؟"):
        hits = index.search(question, 3, recipe=replace(RECIPES["hybrid"], diverse=False))
        ranked = [h.rank_score for h in hits]
        assert len(hits) == 3 and ranked == sorted(ranked, reverse=True) and len(set(ranked)) == 3
        assert any(h.rank_score != h.score for h in hits)  # not the cosine shown to users
    assert all(h.rank_score > 0 for h in index.search("روسيا", k=3, recipe=RECIPES["bm25"]))  # BM25's own score


def test_reranked_widens_the_first_stage_to_the_second_stages_depth():
    from types import SimpleNamespace

    from rag.index import Models
    from rag.settings import Settings

    asked = []

    def first_stage(n):
        asked.append(n)
        return [f"hit{i}" for i in range(n)]

    reverse = SimpleNamespace(depth=8, rerank=lambda q, hits: hits[::-1])
    assert reranked("q", 3, first_stage) == ["hit0", "hit1", "hit2"]
    assert reranked("q", 3, first_stage, reverse) == ["hit7", "hit6", "hit5"]
    assert asked == [3, 8]
    # A second stage passed in (the evaluation's) is the index's, with or without a model name.
    assert Models(Settings(rerank_model=None), reranker=reverse).reranker is reverse
    assert Models(Settings(rerank_model=None)).reranker is None
