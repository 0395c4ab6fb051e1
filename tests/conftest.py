"""Shared fixtures: the real converted model (loaded once) and real data from ../shared."""

from __future__ import annotations

import gzip
import itertools
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RAG_SHARED", REPO.parent / "shared"))
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
    from rag.models import Embedder

    return Embedder()


@pytest.fixture(scope="session")
def ant_sample(tmp_path_factory, shared) -> Path:
    """Every 100th ANT article (304 of them: all five outlets, all categories, Feb-Oct 2018)."""
    path = tmp_path_factory.mktemp("ant") / "ant-sample.jsonl"
    with gzip.open(ANT, "rt", encoding="utf-8") as src, open(path, "w", encoding="utf-8") as out:
        out.writelines(itertools.islice(src, 0, None, 100))
    return path


@pytest.fixture(scope="session")
def news_db(tmp_path_factory, embedder, ant_sample) -> Path:
    """A real on-disk index of the seed article plus the ANT sample (built once, then closed)."""
    from rag.config import Settings
    from rag.index import Index

    db = tmp_path_factory.mktemp("news-db")
    with Index.open(Settings(db=db), embedder=embedder) as index:
        report = index.ingest([SEED, ant_sample], progress=False)
    assert report.failed == 0 and report.articles == 305
    return db


@pytest.fixture
def news_index(news_db, embedder):
    from rag.config import Settings
    from rag.index import Index

    with Index.open(Settings(db=news_db), embedder=embedder) as index:
        yield index
