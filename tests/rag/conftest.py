"""A fresh real index per test, for the storage, indexer and search tests."""

import pytest

from rag.index import Index
from rag.settings import Settings


@pytest.fixture
def index(tmp_path, embedder):
    with Index.open(Settings(db=tmp_path / "db"), embedder=embedder) as ix:
        yield ix
