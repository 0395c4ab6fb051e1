"""Shared fixtures: the real converted model (loaded once) and real data from ../shared."""

from __future__ import annotations

import contextlib
import gzip
import itertools
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from rag.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SHARED = Settings().shared  # RAG_SHARED, or ../shared beside the repository
SEED = SHARED / "corpus" / "seed-article.txt"
ANT = SHARED / "corpus" / "ant-2018.jsonl.gz"
SEED_QUESTION = "What did Russia say about the Gulf alliance?"
# The sentence where the deputy minister doubts the American idea of an alliance.
SEED_DOUBT = "يشكك في إمكانية تنفيذ الفكرة الأميركية"


def pytest_collection_modifyitems(items):
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SEED.exists():
        pytest.fail(f"{SHARED} is missing: the tests need ../shared beside the repository")
    return SHARED


@pytest.fixture(scope="session")
def embedder():
    """The product's default runtime on this machine (``Settings.runtime``, ``RAG_RUNTIME``)."""
    from rag.embed.embedder import Embedder

    return Embedder()


@pytest.fixture(scope="session")
def fp32_embedder(embedder):
    """fp32 vectors, for tests of exact agreement (int8's activation scale depends on the batch; bf16 has 3 digits)."""
    from rag.embed.embedder import Embedder

    return embedder if embedder.stored == "fp32" else Embedder(runtime="onnx")


@pytest.fixture(scope="session")
def ant_sample(tmp_path_factory, shared) -> Path:
    """Every 100th ANT article (304 of them: all five outlets, all categories, Feb-Oct 2018)."""
    path = tmp_path_factory.mktemp("ant") / "ant-sample.jsonl"
    with gzip.open(ANT, "rt", encoding="utf-8") as src, open(path, "w", encoding="utf-8") as out:
        out.writelines(itertools.islice(src, 0, None, 100))
    return path


EVIL_TITLE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">حديقة فيينا'
EVIL = {  # an article whose title and text try to run code in the reader's browser
    "id": "evil-1", "source": "<b>evil</b>", "date": "2018-09-09", "url": "javascript:window.__pwned=3",
    "title": EVIL_TITLE,
    "text": "افتتحت حديقة الحيوان في مدينة فيينا النمساوية جناحا جديدا لدببة الباندا العملاقة القادمة من الصين. "
            '<script>window.__pwned = 4</script><img src=x onerror="window.__pwned = 5"> '
            "وقال مدير الحديقة إن الجناح الجديد كلف ثلاثة ملايين يورو.",
}
EVIL_QUESTION = "What did the Vienna zoo open for the giant pandas?"


@pytest.fixture(scope="session")
def news_db(tmp_path_factory, embedder, ant_sample) -> Path:
    """A real on-disk index: the seed article, the ANT sample and one hostile article."""
    import json

    from rag.index import Index

    db = tmp_path_factory.mktemp("news-db")
    evil = db.parent / "evil.jsonl"
    evil.write_text(json.dumps(EVIL, ensure_ascii=False) + "\n", encoding="utf-8")
    with Index.open(Settings(db=db), embedder=embedder) as index:
        report = index.ingest([SEED, ant_sample, evil], progress=False)
    assert report.failed == 0 and report.articles == 306
    return db


@pytest.fixture
def news_index(news_db, embedder):
    from rag.index import Index

    with Index.open(Settings(db=news_db), embedder=embedder) as index:
        yield index


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running(cmd: list[str], url: str, log: Path, timeout: float = 180):
    """Start a real server process, wait until ``url`` answers, stop it afterwards."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.time() + timeout
        while True:
            if proc.poll() is not None:
                pytest.fail(f"{cmd[:4]} exited: {log.read_text()[-3000:]}")
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if time.time() > deadline:
                    pytest.fail(f"{cmd[:4]} did not answer in {timeout} s: {log.read_text()[-3000:]}")
                time.sleep(0.5)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def server(news_db, tmp_path_factory):
    """`rag serve` (UI + API) on a free loopback port over the news index."""
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    cmd = [sys.executable, "-m", "rag.cli", "serve", "--db", str(news_db), "--port", str(port)]
    url = f"http://127.0.0.1:{port}/"
    with running(cmd, url + "api/health", log):
        yield url


@pytest.fixture(scope="session")
def llm_url(tmp_path_factory):
    """The local LLM behind llama.cpp's OpenAI-compatible server (skips when not set up)."""
    import importlib.util

    from rag.embed.assets import ASSETS

    if not ASSETS["qwen2.5-coder-1.5b-instruct"].target.exists():
        pytest.skip("the local LLM is not set up (scripts/setup.sh --llm assembles the GGUF)")
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed (scripts/setup.sh --llm)")
    port = free_port()
    log = tmp_path_factory.mktemp("llm") / "llm-server.log"
    with running([sys.executable, "-m", "rag.cli", "llm-server", "--port", str(port)],
                 f"http://127.0.0.1:{port}/v1/models", log, timeout=300):
        yield f"http://127.0.0.1:{port}/v1"
