"""LangChain integration: the index as a ``BaseRetriever``, and its model as ``Embeddings``.

``NewsEmbeddings`` gives the index's own model to LangChain with the right prompts (e5:
``query: `` for questions, ``passage: `` for documents), so ``langchain_chroma.Chroma`` can
search the project's collection directly (README, "LangChain").

Example:
    >>> import rag                                                         # doctest: +SKIP
    >>> from rag.api.langchain import NewsRetriever
    >>> retriever = NewsRetriever(index=rag.open_index("rag-index"), k=3)   # doctest: +SKIP
    >>> docs = retriever.invoke("What did Russia say about the Gulf alliance?")  # doctest: +SKIP
    >>> docs[0].metadata["article_id"]                                      # doctest: +SKIP
    'seed-article.txt'
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from rag.api.service import hit_json
from rag.hits import Filters, Hit


def hit_to_document(hit: Hit) -> Document:
    meta = {k: v for k, v in hit_json(hit).items() if k != "text"}
    return Document(page_content=hit.text, metadata=meta, id=hit.chunk_id)


class NewsRetriever(BaseRetriever):
    """Passages of an open :class:`rag.index.Index` (embedded or on a Chroma server)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: Any = Field(description="an open rag.index.Index")
    k: int = Field(5, ge=1, le=100)
    filters: Filters | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [hit_to_document(h) for h in self.index.search(query, self.k, self.filters)]


class NewsEmbeddings(Embeddings):
    """The project's embedding model (``model``, default the settings' model, or a loaded
    :class:`rag.embed.embedder.Embedder`) as LangChain ``Embeddings``: L2-normalised, with its prompts."""

    def __init__(self, model: str | None = None, embedder=None):
        if embedder is None:
            from rag.embed.embedder import Embedder
            from rag.settings import Settings

            embedder = Embedder(model or Settings().model)
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed_documents(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_queries([text])[0].tolist()
