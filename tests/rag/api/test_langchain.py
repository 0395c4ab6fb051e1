"""The LangChain retriever, over an embedded index and over a real `chroma run` server."""

import shutil
import sys
from pathlib import Path

import pytest
from langchain_core.runnables import RunnableLambda

from rag.api.langchain import NewsRetriever
from rag.hits import Filters
from rag.index import Index
from rag.settings import Settings
from tests.conftest import SEED, SEED_QUESTION, free_port, running

pytestmark = pytest.mark.slow


def test_retriever_on_embedded_index(news_index):
    docs = NewsRetriever(index=news_index, k=3).invoke(SEED_QUESTION)
    assert len(docs) == 3 and docs[0].metadata["article_id"] == "seed-article.txt"
    assert docs[0].id == docs[0].metadata["chunk_id"] and docs[0].page_content
    bbc = NewsRetriever(index=news_index, k=3, filters=Filters(sources=("bbc",))).invoke(SEED_QUESTION)
    assert {d.metadata["source"] for d in bbc} == {"BBC"}


def test_retriever_against_a_chroma_server(tmp_path, embedder, ant_sample):
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent))
    port = free_port()
    cmd = [chroma, "run", "--path", str(tmp_path / "chroma-data"), "--host", "127.0.0.1", "--port", str(port)]
    with running(cmd, f"http://127.0.0.1:{port}/api/v2/heartbeat", tmp_path / "chroma.log", timeout=60):
        settings = Settings(db=tmp_path / "db", chroma_url=f"http://127.0.0.1:{port}")
        with Index.open(settings, embedder=embedder) as index:
            report = index.ingest([SEED], progress=False)
            assert report.articles == 1 and not (tmp_path / "db" / "chroma").exists()
            chain = NewsRetriever(index=index, k=2) | RunnableLambda(lambda docs: [d.metadata["article_id"] for d in docs])
            assert chain.invoke(SEED_QUESTION) == ["seed-article.txt", "seed-article.txt"]
        # The data lives in the server: a second client sees it.
        import chromadb

        client = chromadb.HttpClient(host="127.0.0.1", port=port)
        assert client.get_collection("news").count() == report.chunks


def test_embeddings_let_langchain_chroma_search_the_projects_collection(news_db, embedder):
    import chromadb
    from langchain_chroma import Chroma

    from rag.api.langchain import NewsEmbeddings

    emb = NewsEmbeddings(embedder=embedder)
    q, d = emb.embed_query(SEED_QUESTION), emb.embed_documents([SEED_QUESTION])[0]
    assert len(q) == 384 and abs(sum(x * x for x in q) - 1) < 1e-4 and q != d  # query: and passage: prompts
    client = chromadb.PersistentClient(str(news_db / "chroma"),  # the settings rag uses: one client per process
                                       settings=chromadb.config.Settings(anonymized_telemetry=False))
    store = Chroma(client=client, collection_name="news", embedding_function=emb)
    docs = store.similarity_search(SEED_QUESTION, k=3)
    assert docs[0].metadata["article_id"] == "seed-article.txt" and docs[0].page_content
