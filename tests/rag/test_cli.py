"""The ``rag`` command as users and scripts run it (real subprocesses, real index)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SEED_DOUBT, SEED_QUESTION

pytestmark = pytest.mark.slow
RAG = [sys.executable, "-m", "rag.cli"]


def run(*args, stdin=None, db=None):
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    cmd = RAG + list(map(str, args)) + (["--db", str(db)] if db else [])
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=env, timeout=600)


def test_ingest_reports_bad_input_and_is_idempotent(tmp_path, shared):
    src = tmp_path / "in"
    src.mkdir()
    (src / "seed.txt").write_text((shared / "corpus" / "seed-article.txt").read_text(encoding="utf-8"))
    (src / "news.jsonl").write_text('{"id": "n1", "title": "خبر", "text": "نص الخبر الأول."}\n{oops\n')
    (src / "empty.md").write_text("")
    db = tmp_path / "db"
    first = run("ingest", src, "-q", db=db)
    assert first.returncode == 1, first.stderr
    assert f"{src / 'news.jsonl'}:2: broken JSON" in first.stderr
    assert f"{src / 'empty.md'}: empty file" in first.stderr
    assert "2 articles indexed" in first.stdout and "2 failed" in first.stdout
    second = run("ingest", src, "-q", db=db)
    assert "0 articles indexed (0 chunks), 2 unchanged skipped" in second.stdout
    n_chunks = re.search(r"2 articles indexed \((\d+) chunks\)", first.stdout).group(1)
    assert f": 2 articles, {n_chunks} chunks" in second.stdout  # nothing duplicated
    (src / "empty.md").unlink()
    (src / "news.jsonl").write_text('{"id": "n1", "title": "خبر", "text": "نص الخبر الأول."}\n')
    assert run("ingest", src, "-q", db=db).returncode == 0


def test_search_json(news_db):
    out = run("search", SEED_QUESTION, "-k", "3", "--json", db=news_db)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["question"] == SEED_QUESTION and len(data["results"]) == 3
    first = data["results"][0]
    assert set(first) == {"rank", "score", "article_id", "chunk_id", "title", "source", "url", "date", "text"}
    assert first["rank"] == 1 and first["article_id"] == "seed-article.txt"
    assert [r["rank"] for r in data["results"]] == [1, 2, 3]


def test_ask_json_and_stdin_batch(news_db):
    questions = f"{SEED_QUESTION}\n\nكم ساعة أمهلت السعودية السفير الكندي لمغادرة أراضيها؟\n"
    out = run("ask", stdin=questions, db=news_db)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(x) for x in out.stdout.splitlines()]
    assert [x["question"] for x in lines] == questions.split("\n")[0:1] + [questions.split("\n")[2]]
    seed = lines[0]
    assert set(seed) >= {"question", "answer", "abstained", "citations"} and not seed["abstained"]
    assert any(SEED_DOUBT in c["quote"] for c in seed["citations"])
    for c in seed["citations"]:
        assert set(c) == {"n", "article_id", "chunk_id", "title", "source", "url", "date", "quote", "point"}
    # every quote occurs verbatim in the chunk it cites
    from rag.index import Index
    from rag.settings import Settings

    with Index.open(Settings(db=news_db)) as index:
        chunks = index.passages([c["chunk_id"] for c in seed["citations"]])
    assert all(c["quote"] in chunks[c["chunk_id"]] for c in seed["citations"])


def test_ask_human_output(news_db):
    out = run("ask", SEED_QUESTION, db=news_db)
    assert out.returncode == 0, out.stderr
    assert "[1]" in out.stdout and "Sources:" in out.stdout and SEED_DOUBT in out.stdout


def test_clear_errors(tmp_path, news_db):
    wrong = run("ingest", Path("/nonexistent/file.txt"), "-q", db=tmp_path / "db")
    assert wrong.returncode == 1 and "/nonexistent/file.txt: no such file or folder" in wrong.stderr
    mismatch = run("ingest", "--model", "intfloat/multilingual-e5-base", "-q", tmp_path, db=news_db)
    assert mismatch.returncode == 2 and "--rebuild" in mismatch.stderr


def test_bad_setting_is_named_without_a_traceback(tmp_path):
    env = {**os.environ, "RAG_CHUNK_CHARS": "5", "RAG_AUTH": "ann:secret-pw"}
    out = subprocess.run(RAG + ["info", "--db", str(tmp_path / "db")], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 2 and "chunk_chars" in out.stderr and "Traceback" not in out.stderr
    assert "secret-pw" not in out.stderr


def test_bidi_overrides_from_articles_are_shown_not_obeyed_and_check_passes(tmp_path):
    src = tmp_path / "n.jsonl"
    src.write_text(json.dumps({"id": "x\u202eevil", "title": "عنوان\u202e مقلوب", "source": "bbc",
                               "text": "خبر عن الميزانية الجديدة في العاصمة اليوم."}, ensure_ascii=False))
    db = tmp_path / "db"
    assert run("ingest", src, "-q", db=db).returncode == 0
    out = run("search", "الميزانية", "-k", "1", db=db)
    assert out.returncode == 0 and "\u202e" not in out.stdout and "x<U+202E>evil" in out.stdout
    check = run("check", db=db)
    assert check.returncode == 0 and '"orphan_chunks": 0' in check.stdout
