"""The index: chunks and vectors in Chroma, a per-article manifest in SQLite, facts in rag.json.

One directory holds everything (``chroma/``, ``manifest.sqlite``, ``rag.json``) and one
process owns it at a time (a lock file says so). Ingest is incremental and idempotent:
articles are keyed by id and content hash, chunk ids are ``<article id>::<n>``.

Example:
    >>> with Index.open(Settings(db="/tmp/idx")) as index:   # doctest: +SKIP
    ...     report = index.ingest(["corpus/"])
    ...     hits = index.search("What did Russia say about the Gulf alliance?", k=3)
"""

from __future__ import annotations

import fcntl
import functools
import os
import shutil
import sqlite3
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from rag.chunk import CHUNKER_VERSION, chunk_text
from rag.config import IndexInfo, Settings
from rag.ingest import Article, FileResult, Problem, list_files, outlet_name, read_paths
from rag.lexical import LEXICAL_VERSION, LexicalIndex, tokenize
from rag.names import text_keys
from rag.retrieve import FORM_WEIGHT, MODES, QUESTION_FORMS, centred, lexical_weight, per_article, rrf, sentence_scores
from rag.text import NORMALIZATION_VERSION, sentence_spans

FUSION_DEPTH = 30  # candidates taken from each ranking before fusion
MIN_SENTENCE_CHARS = 25  # shorter sentences ("Reuters.") get no vector of their own
SENTENCE_DEPTH = 200  # sentences fetched per query for sentence-level scoring
# HNSW's default breadth (100) found 77% of the true 200 best sentences for English questions
# among the distractor mix; 1000 finds 97% for ≈5 ms more per query.
HNSW = {"space": "cosine", "ef_search": 1000}
LAYOUT = "chunks+sentences-1"  # what the index stores; another layout needs a rebuild


class IndexUnavailable(RuntimeError):
    """The index cannot be used as asked; the message says what to do."""


@dataclass
class Hit:
    """One retrieved passage."""

    rank: int
    score: float
    article_id: str
    chunk_id: str
    title: str
    source: str
    url: str
    date: str
    text: str
    start: int = 0
    end: int = 0
    # What the first stage ranked by (chunk + best sentence, fused with BM25 or not): the second
    # stage weighs it against its own score. Comparable only within one result list.
    rank_score: float = 0.0

    def as_json(self) -> dict:
        keys = ("rank", "score", "article_id", "chunk_id", "title", "source", "url", "date", "text")
        return {k: (round(getattr(self, k), 4) if k == "score" else getattr(self, k)) for k in keys}


@dataclass(frozen=True)
class Filters:
    """Outlet and date-range filters (dates as ``YYYY-MM-DD``; both ends inclusive).

    >>> f = Filters(sources=("BBC",), date_from="2018-03-01")
    >>> f.match("BBC", "2018-05-02"), f.match("CNN", "2018-05-02"), f.match("BBC", "2018-01-01")
    (True, False, False)
    """

    sources: tuple[str, ...] = ()
    date_from: str | None = None
    date_to: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.sources or self.date_from or self.date_to)

    def _range(self) -> tuple[int, int]:
        lo = _date_int(self.date_from) if self.date_from else 0
        hi = _date_int(self.date_to) if self.date_to else 99_999_999
        return lo, hi

    def match(self, source: str, date: str) -> bool:
        if self.sources and source not in self.sources:
            return False
        lo, hi = self._range()  # open ends are 0 and 99999999, so no dates means any date
        return lo <= _date_int(date) <= hi

    def where(self) -> dict | None:
        """The same filter as a Chroma ``where`` clause (exact-case sources)."""
        clauses = []
        if self.sources:
            clauses.append({"source": {"$in": list(self.sources)}})
        lo, hi = self._range()
        if self.date_from:
            clauses.append({"date_int": {"$gte": lo}})
        if self.date_to:
            clauses.append({"date_int": {"$lte": hi}})
        return None if not clauses else clauses[0] if len(clauses) == 1 else {"$and": clauses}


@dataclass
class IngestReport:
    articles: int = 0  # new or changed, now indexed
    chunks: int = 0
    skipped: int = 0  # unchanged
    removed: int = 0
    failed: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)

    @property
    def chunks_per_s(self) -> float:
        return self.chunks / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        return (f"{self.articles} articles indexed ({self.chunks} chunks), {self.skipped} unchanged skipped, "
                f"{self.removed} removed, {self.failed} failed, {self.seconds:.1f} s, "
                f"{self.chunks_per_s:.1f} chunks/s")


def _hit(rank: int, score: float, cid: str, doc: str, meta: dict) -> Hit:
    return Hit(rank=rank, score=score, article_id=meta["article_id"], chunk_id=cid, title=meta.get("title", ""),
               source=meta.get("source", ""), url=meta.get("url", ""), date=meta.get("date", ""), text=doc,
               start=meta.get("start", 0), end=meta.get("end", 0))


def _sentence_ids(chunks: list[tuple[str, str]]) -> list[str]:
    """Ids of the stored sentence vectors of (chunk id, chunk text) pairs: ``<chunk id>#<start>``,
    derived from the text, so they are found and deleted by id, never by a ``where`` scan."""
    return [f"{cid}#{a}" for cid, text in chunks for a, b in sentence_spans(text) if b - a >= MIN_SENTENCE_CHARS]


def _renumber(hits: list[Hit]) -> list[Hit]:
    for i, h in enumerate(hits, 1):
        h.rank = i
    return hits


def _date_int(date: str) -> int:
    digits = "".join(ch for ch in date[:10] if ch.isdigit())
    return int(digits[:8].ljust(8, "0")) if len(digits) >= 4 else 0


class Index:
    """A news index on disk. Use :meth:`open`; close it (or use ``with``) to release the lock."""

    def __init__(self, settings: Settings, embedder=None, rebuild: bool = False):
        self.settings = settings
        self.path = Path(settings.db)
        self._embedder = embedder
        self._lexical: LexicalIndex | None = None
        self._reranker = None  # loaded on first use when settings.rerank_model is set
        self._means: dict[str, np.ndarray] | None = None  # loaded on first search
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.path / ".lock", "a+")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise IndexUnavailable(
                f"index {self.path} is open in another process (a running 'rag serve'?). "
                "Stop it first: one process owns an embedded Chroma directory.") from None
        if rebuild:
            (self.path / "rag.json").unlink(missing_ok=True)
            shutil.rmtree(self.path / "bm25", ignore_errors=True)
        self._check_info()
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        if settings.chroma_url:
            from urllib.parse import urlsplit

            url = urlsplit(settings.chroma_url)
            self._client = chromadb.HttpClient(host=url.hostname, port=url.port or 8000,
                                               ssl=url.scheme == "https", settings=chroma_settings)
        else:
            self._client = chromadb.PersistentClient(path=str(self.path / "chroma"), settings=chroma_settings)
        if rebuild and settings.collection in [c.name for c in self._client.list_collections()]:
            # Through the client, not rm -rf: chromadb caches open directories per process.
            self._client.delete_collection(settings.collection)
        # Vectors are always passed in: with no embedding function Chroma never fetches its own model.
        self._col = self._searchable(settings.collection)
        # One vector per sentence too: a question usually matches one sentence of a passage
        # (README, "Sentence-level scoring").
        sentences = f"{settings.collection}_sentences"
        if rebuild and sentences in [c.name for c in self._client.list_collections()]:
            self._client.delete_collection(sentences)
        self._sent = self._searchable(sentences)
        self._db = sqlite3.connect(self.path / "manifest.sqlite", check_same_thread=False)
        if rebuild:
            self._db.execute("DROP TABLE IF EXISTS articles")
            self._db.execute("DROP TABLE IF EXISTS centroids")
            self._db.execute("DROP TABLE IF EXISTS chunk_tokens")
        self._db.execute("CREATE TABLE IF NOT EXISTS articles (id TEXT PRIMARY KEY, hash TEXT NOT NULL, "
                         "n_chunks INTEGER NOT NULL, origin TEXT NOT NULL, source TEXT, date TEXT)")
        # Running sums of the stored vectors, kept in step with Chroma (for the hub correction).
        self._db.execute("CREATE TABLE IF NOT EXISTS centroids (name TEXT PRIMARY KEY, n INTEGER NOT NULL, "
                         "total BLOB NOT NULL)")
        # Each chunk's BM25 tokens, analysed once at ingest: bm25s cannot add documents, so its
        # matrix is recomputed from these, without fetching or re-analysing every chunk's text.
        self._db.execute("CREATE TABLE IF NOT EXISTS chunk_tokens (chunk_id TEXT PRIMARY KEY, "
                         "version TEXT NOT NULL, tokens TEXT NOT NULL)")
        self._db.commit()

    @classmethod
    def open(cls, settings: Settings | None = None, embedder=None, rebuild: bool = False) -> "Index":
        return cls(settings or Settings(), embedder, rebuild)

    def __enter__(self) -> "Index":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _searchable(self, name: str):
        """The collection, created with :data:`HNSW`; older ones get its search breadth (the one
        setting Chroma lets change; before the first query, so it applies in this process)."""
        col = self._client.get_or_create_collection(name, configuration={"hnsw": HNSW}, embedding_function=None)
        if (col.configuration_json.get("hnsw") or {}).get("ef_search") != HNSW["ef_search"]:
            try:
                col.modify(configuration={"hnsw": {"ef_search": HNSW["ef_search"]}})
            except Exception as e:  # e.g. an older Chroma server: search still works, a little less exactly
                print(f"warning: could not widen the search of collection {name} ({e})", file=sys.stderr)
        return col

    def close(self) -> None:
        if getattr(self, "_db", None) is not None:
            self._db.close()
            self._db = None
        if not self._lock.closed:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()

    # -- facts stored beside the index -------------------------------------------------
    def _wanted_info(self, dim: int) -> IndexInfo:
        s = self.settings
        return IndexInfo(model=s.model, dim=dim, normalization=NORMALIZATION_VERSION,
                         chunker=f"{CHUNKER_VERSION}/{s.chunk_chars}", collection=s.collection, layout=LAYOUT)

    def _check_info(self) -> None:
        stored = self.info
        if stored is None:
            return
        s = self.settings
        clashes = [f"{k}: index has {getattr(stored, k)!r}, asked for {v!r}" for k, v in (
            ("model", s.model), ("normalization", NORMALIZATION_VERSION),
            ("chunker", f"{CHUNKER_VERSION}/{s.chunk_chars}"), ("layout", LAYOUT)) if getattr(stored, k) != v]
        if clashes:
            self.close()
            raise IndexUnavailable(
                f"index {self.path} was built with other settings ({'; '.join(clashes)}). "
                f"Rebuild it with: rag ingest --rebuild --db {self.path} PATH... "
                f"(or choose another --db), or use the model it was built with (--model {stored.model}).")

    @property
    def info(self) -> IndexInfo | None:
        p = self.path / "rag.json"
        return IndexInfo.model_validate_json(p.read_text()) if p.exists() else None

    @property
    def embedder(self):
        if self._embedder is None:
            from rag.models import Embedder

            s = self.settings
            self._embedder = Embedder(s.model, s.query_prompt, s.passage_prompt)
        return self._embedder

    # -- reading -----------------------------------------------------------------------
    def count(self) -> tuple[int, int]:
        """(articles, chunks)."""
        (n,) = self._db.execute("SELECT COUNT(*) FROM articles").fetchone()
        return n, self._col.count()

    def passages(self, chunk_ids: list[str]) -> dict[str, str]:
        """The stored text of each chunk id that exists (e.g. to show a cited passage)."""
        got = self._col.get(ids=list(chunk_ids), include=["documents"]) if chunk_ids else {"ids": []}
        return dict(zip(got["ids"], got.get("documents") or []))

    def manifest(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT id, hash FROM articles"))

    def sources(self) -> list[str]:
        """Distinct outlets in the index, most articles first."""
        rows = self._db.execute("SELECT source, COUNT(*) AS n FROM articles WHERE source != '' "
                                "GROUP BY source ORDER BY n DESC, source")
        return [r[0] for r in rows]

    def date_range(self) -> tuple[str, str] | None:
        """(oldest, newest) article date (ISO strings), or None when no article has a date."""
        row = self._db.execute("SELECT MIN(date), MAX(date) FROM articles WHERE date != ''").fetchone()
        return (row[0], row[1]) if row and row[0] else None

    def search(self, question: str, k: int = 5, filters: Filters | None = None, mode: str = "hybrid") -> list[Hit]:
        """The ``k`` best passages for ``question``; ``score`` is always the dense cosine.

        ``mode``: ``hybrid`` (dense + BM25 fused when the question is Arabic, names matched
        across scripts otherwise), ``dense`` or ``bm25`` (lexical only; for evaluation).
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        vector = self.embedder.embed_queries([question])[0]
        if mode == "bm25":
            filters = self._canonical(filters) if filters else None
            return self._rank(vector, dict(self.lexical.search(question, 10 * k)), k, filters)
        lexical = question if mode == "hybrid" else None
        return self.reranked(question, k, lambda n: self.search_vector(vector, n, filters, lexical))

    def reranked(self, question: str, k: int, first_stage, reranker=None) -> list[Hit]:
        """The ``k`` best of ``first_stage(n)`` (a function returning ``n`` hits), re-scored by
        ``reranker`` or the second stage of ``settings.rerank_model``; as they are without one."""
        reranker = reranker or self.reranker
        if reranker is None:
            return first_stage(k)
        return reranker.rerank(question, first_stage(max(k, reranker.depth)))[:k]

    @property
    def reranker(self):
        """The second stage of ``settings.rerank_model`` (None without one, or when it cannot be had)."""
        spec = self.settings.rerank_model
        if spec and self._reranker is None:
            from rag.rerank import Reranker

            try:
                self._reranker = Reranker(spec, self.settings.rerank_depth)
            except (RuntimeError, OSError) as e:
                print(f"warning: second stage {spec} unavailable ({e}); using the first stage alone",
                      file=sys.stderr)
                self._reranker = False
        return self._reranker or None

    def search_vector(self, vector, k: int = 5, filters: Filters | None = None,
                      question: str | None = None, diverse: bool = True, sentences: bool = True,
                      lexical: LexicalIndex | None = None) -> list[Hit]:
        """Dense search; with ``question``, fused with BM25 (an Arabic question) or given the name
        bonus (any other), as :mod:`rag.retrieve` decides.

        ``sentences``: rank chunks by chunk + best-sentence similarity to the centred question.
        ``diverse``: at most ``PER_ARTICLE`` chunks of one article before other articles' chunks.
        ``lexical``: another BM25 index over the same chunks (the evaluation's analyzer ablations).
        """
        weight = lexical_weight(question) if question else 0.0
        depth = (3 * k if diverse else k) if not weight else max(3 * k, FUSION_DEPTH)
        if filters is None or filters.empty:
            dense = self._query(vector, depth)
        else:
            filters = self._canonical(filters)
            dense = self._filtered(vector, depth, filters)
        known = {h.chunk_id: h for h in dense}
        scores = {h.chunk_id: h.score for h in dense}  # chunk id → ranking score, best first
        n_sentences = self._sent.count() if sentences else 0
        if n_sentences:
            other = question if not weight else None  # an Arabic question has BM25 instead
            scores = self._with_sentences(vector, known, filters, max(depth, FUSION_DEPTH), n_sentences,
                                          other, lexical)
        if weight:
            found = [cid for cid, _ in (lexical or self.lexical).search(question, FUSION_DEPTH)]
            scores = rrf([list(scores), found], [1.0, weight])
        return self._rank(vector, scores, k, filters, known=known, diverse=diverse)

    def _with_sentences(self, vector, known: dict[str, Hit], filters, depth: int, n_sentences: int,
                        other: str | None = None, lexical: LexicalIndex | None = None) -> dict[str, float]:
        """Chunk id → chunk + best sentence score, best first, both with the question centred
        (:func:`rag.retrieve.centred`, :func:`rag.retrieve.sentence_scores`). For ``other``, a
        question not in Arabic, the question form is taken off first, and chunks get the
        bonus for its names (matched in ``lexical``, by default the index's own). Chunks found
        only through a sentence are fetched. Hits keep their plain cosine as ``score``."""
        q = vector - FORM_WEIGHT * self.question_form if other else vector
        means = self.means
        q_chunk, q_sent = centred(q, means["chunks"]), centred(q, means["sentences"])
        res = self._sent.query(query_embeddings=[q_sent], n_results=min(SENTENCE_DEPTH, n_sentences),
                               include=["distances"])  # a sentence id names its chunk: no metadata
        norm = float(np.linalg.norm(q_sent))  # Chroma's cosine divides by it; the sum must not
        best: dict[str, float] = {}
        for sid, dist in zip(res["ids"][0], res["distances"][0]):
            best.setdefault(sid.rsplit("#", 1)[0], (1.0 - float(dist)) * norm)
        wanted = list(dict.fromkeys([*known, *list(best)[:depth]]))
        got = self._col.get(ids=wanted, include=["documents", "metadatas", "embeddings"])
        chunk: dict[str, float] = {}
        for cid, doc, meta, emb in zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"]):
            if cid not in known:
                hit = _hit(0, float(np.dot(vector, emb)), cid, doc, meta)
                if filters is not None and not filters.empty and not filters.match(hit.source, hit.date):
                    continue
                known[cid] = hit
            chunk[cid] = float(np.dot(q_chunk, emb))
        floor = min(best.values()) if best else 0.0
        matched = (lexical or self.lexical).name_match(other, list(chunk)) if other else {}
        return sentence_scores(chunk, best, floor, matched)

    @property
    def means(self) -> dict[str, np.ndarray]:
        """Mean stored vector of the chunks and of the sentences (zero for an empty index).

        Kept as running sums in ``manifest.sqlite``; recounted from Chroma when the counts
        disagree (an index from before, or a write that was interrupted).
        """
        if self._means is None:
            means = {}
            for name, col in (("chunks", self._col), ("sentences", self._sent)):
                n, total = self._sums(name)
                if n != col.count():
                    n, total = col.count(), self._vector_sum(col)
                    self._put_sums(name, n, total)
                    self._db.commit()
                means[name] = (np.asarray(total) / max(n, 1)).astype(np.float32)
            self._means = means
        return self._means

    @functools.cached_property
    def question_form(self) -> np.ndarray:
        """Mean vector of :data:`rag.retrieve.QUESTION_FORMS` (content-free questions), embedded once."""
        return self.embedder.embed_queries(list(QUESTION_FORMS)).mean(axis=0)

    def _sums(self, name: str) -> tuple[int, np.ndarray | float]:
        """(count, float64 sum) of the stored ``chunks`` or ``sentences`` vectors; (0, 0.0) before any."""
        row = self._db.execute("SELECT n, total FROM centroids WHERE name = ?", (name,)).fetchone()
        return (row[0], np.frombuffer(row[1], dtype=np.float64)) if row else (0, 0.0)

    def _put_sums(self, name: str, n: int, total) -> None:
        self._db.execute("INSERT OR REPLACE INTO centroids VALUES (?, ?, ?)",
                         (name, n, np.asarray(total, dtype=np.float64).tobytes()))

    @staticmethod
    def _vector_sum(col):
        total = 0.0
        for offset in range(0, col.count(), 5000):
            got = col.get(limit=5000, offset=offset, include=["embeddings"])
            total = total + np.asarray(got["embeddings"], dtype=np.float64).sum(axis=0)
        return total

    def _add_to_means(self, name: str, vectors, sign: int = 1) -> None:
        """Add (or with ``sign=-1`` take away) vectors from the running sums; committed by the caller."""
        vectors = np.asarray(vectors, dtype=np.float64)
        if not len(vectors):
            return
        n, total = self._sums(name)
        self._put_sums(name, n + sign * len(vectors), total + sign * vectors.sum(axis=0))
        self._means = None

    def sentence_vectors(self, hits: list[Hit]) -> dict[str, list[tuple[int, int, np.ndarray]]]:
        """Stored (start, end, vector) of the sentences of each hit's chunk (offsets in the chunk)."""
        ids = _sentence_ids([(h.chunk_id, h.text) for h in hits])
        if not ids:
            return {}
        got = self._sent.get(ids=ids, include=["metadatas", "embeddings"])  # by id: no `where` scan
        out: dict[str, list] = {}
        for meta, emb in zip(got["metadatas"], got["embeddings"]):
            out.setdefault(meta["chunk_id"], []).append((meta["start"], meta["end"], np.asarray(emb, dtype=np.float32)))
        return out

    def _canonical(self, filters: Filters) -> Filters:
        """Outlets may be given by code ("bbc") or display name ("BBC Arabic"), in any case."""
        known = {}
        for src in self.sources():
            known[src.lower()] = known[outlet_name(src).lower()] = src
        return replace(filters, sources=tuple(known.get(s.lower(), s) for s in filters.sources))

    def _filtered(self, vector, k: int, filters: Filters) -> list[Hit]:
        # Fast path: Chroma's `where` costs 10-260 ms at 10k-100k rows, an unfiltered query
        # ~2 ms; over-fetch and filter here, and fall back to `where` only when too few match.
        wide = self._query(vector, max(10 * k, 100))
        kept = [h for h in wide if filters.match(h.source, h.date)]
        if len(kept) < k and len(wide) < self._col.count():
            kept = self._query(vector, k, filters.where())
        return _renumber(kept[:k])

    def _rank(self, vector, scores: dict[str, float], k: int, filters: Filters | None,
              known: dict[str, Hit] | None = None, diverse: bool = False) -> list[Hit]:
        """Hits for the chunk ids of ``scores`` in that order (filtered; with ``diverse``, at most
        ``PER_ARTICLE`` chunks of an article before others), their dense cosine as ``score``
        and their ``scores`` value as ``rank_score``."""
        chunk_ids = per_article(list(scores)) if diverse else list(scores)
        known = dict(known or {})
        missing = [cid for cid in chunk_ids[: 4 * k + 20] if cid not in known]
        if missing:
            res = self._col.get(ids=missing, include=["documents", "metadatas", "embeddings"])
            for cid, doc, meta, emb in zip(res["ids"], res["documents"], res["metadatas"], res["embeddings"]):
                known[cid] = _hit(0, float(np.dot(vector, emb)), cid, doc, meta)
        hits = [known[c] for c in chunk_ids if c in known]
        if filters is not None and not filters.empty:
            hits = [h for h in hits if filters.match(h.source, h.date)]
        return _renumber([replace(h, rank_score=scores[h.chunk_id]) for h in hits[:k]])

    def _query(self, vector, k: int, where: dict | None = None) -> list[Hit]:
        if self._col.count() == 0:
            return []
        res = self._col.query(query_embeddings=[vector], n_results=k, where=where,
                              include=["documents", "metadatas", "distances"])
        return [_hit(i, 1.0 - float(dist), cid, doc, meta) for i, (cid, doc, meta, dist) in enumerate(
            zip(res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0]), 1)]

    @property
    def lexical(self) -> LexicalIndex:
        """The BM25 index, loaded once (built now if the index predates it)."""
        if self._lexical is None:
            self._lexical = LexicalIndex.load(self.path / "bm25") or self._build_lexical()
        return self._lexical

    def _build_lexical(self) -> LexicalIndex:
        """BM25 over exactly the chunks in Chroma, from their stored tokens (analysing only
        chunks that have none of this analyzer version: an index from before, or a crash)."""
        ids = self._col.get(include=[])["ids"]
        self._db.execute("DELETE FROM chunk_tokens WHERE version != ?", (LEXICAL_VERSION,))
        have = dict(self._db.execute("SELECT chunk_id, tokens FROM chunk_tokens"))
        missing = [cid for cid in ids if cid not in have]
        for i in range(0, len(missing), 5000):
            got = self._col.get(ids=missing[i:i + 5000], include=["documents"])
            have.update(self._store_tokens(got["ids"], got["documents"]))
        self._db.commit()
        words, names = zip(*(have[cid].split("\t") for cid in ids)) if ids else ((), ())
        lex = LexicalIndex.from_tokens(ids, [w.split() for w in words], names=[n.split() for n in names])
        lex.save(self.path / "bm25")
        self._lexical = lex
        return lex

    # -- writing -----------------------------------------------------------------------
    def _store_tokens(self, chunk_ids: list[str], texts: list[str]) -> dict[str, str]:
        """Words, a tab, then name keys (:mod:`rag.names`), per chunk."""
        rows = {cid: " ".join(tokenize(text)) + "\t" + " ".join(text_keys(text)) for cid, text in zip(chunk_ids, texts)}
        self._db.executemany("INSERT OR REPLACE INTO chunk_tokens VALUES (?, ?, ?)",
                             [(cid, LEXICAL_VERSION, toks) for cid, toks in rows.items()])
        return rows

    def remove(self, article_ids: Iterable[str]) -> int:
        """Delete articles and their chunks; returns how many were indexed."""
        n = self._delete(article_ids)
        if n:
            self._build_lexical()
        return n

    def _delete(self, article_ids: Iterable[str]) -> int:
        n = 0
        for aid in article_ids:
            row = self._db.execute("SELECT n_chunks FROM articles WHERE id = ?", (aid,)).fetchone()
            if row is None:
                continue
            chunk_ids = [f"{aid}::{i}" for i in range(row[0])]
            got = self._col.get(ids=chunk_ids, include=["documents", "embeddings"])
            sentence_ids = _sentence_ids(list(zip(got["ids"], got["documents"])))
            if sentence_ids:
                self._add_to_means("sentences", self._sent.get(ids=sentence_ids, include=["embeddings"])["embeddings"], -1)
                self._sent.delete(ids=sentence_ids)
            self._add_to_means("chunks", got["embeddings"], -1)
            self._col.delete(ids=chunk_ids)
            self._db.executemany("DELETE FROM chunk_tokens WHERE chunk_id = ?", [(c,) for c in chunk_ids])
            self._db.execute("DELETE FROM articles WHERE id = ?", (aid,))
            n += 1
        self._db.commit()
        return n

    def ingest(self, paths: Iterable[str | Path], limit: int | None = None, progress: bool = True,
               on_problem=None) -> IngestReport:
        """Index new and changed articles from ``paths``; skip unchanged; prune vanished ones.

        Pruning only happens on a full run (no ``limit``) and only for files read without
        errors, so a broken line never costs an article that was already indexed.
        """
        from tqdm import tqdm

        paths = [Path(p) for p in paths]
        report, t0 = IngestReport(), time.perf_counter()
        on_problem = on_problem or (lambda p: tqdm.write(f"skipped: {p}", file=sys.stderr))
        known = self.manifest()
        salt = f"{CHUNKER_VERSION}/{self.settings.chunk_chars}/{NORMALIZATION_VERSION}"
        files: list[FileResult] = []
        seen: dict[str, str] = {}
        pending: list[tuple[Article, str, list]] = []
        bar = tqdm(total=_estimate(paths, limit), unit="art", disable=not progress, desc="ingest",
                   dynamic_ncols=True)
        limited = False
        for item in read_paths(paths, files):
            if isinstance(item, Problem):
                report.failed += 1
                report.problems.append(item)
                on_problem(item)
                continue
            if limit is not None and len(seen) >= limit:
                limited = True
                break
            where = f"{item.origin}:{item.line}" if item.line else item.origin
            if item.id in seen:
                p = Problem(item.origin, item.line, f"duplicate article id {item.id!r} (first at {seen[item.id]})")
                report.failed += 1
                report.problems.append(p)
                on_problem(p)
                continue
            seen[item.id] = where
            bar.update(1)
            digest = item.content_hash(salt)
            if known.get(item.id) == digest:
                report.skipped += 1
                continue
            pending.append((item, digest, chunk_text(item.text, self.settings.chunk_chars)))
            if sum(len(c) for _, _, c in pending) >= self.settings.batch_size * 8:
                self._flush(pending, report)
                bar.set_postfix(chunks=report.chunks, per_s=f"{report.chunks / (time.perf_counter() - t0):.1f}")
                pending = []
        self._flush(pending, report)
        bar.close()
        if limit is None and not limited:
            report.removed = self._prune(paths, files)
        if report.articles or report.removed or not (self.path / "bm25").exists():
            self._build_lexical()  # BM25 follows Chroma: same chunks, rebuilt at ingest only
        report.seconds = time.perf_counter() - t0
        return report

    def _flush(self, pending: list[tuple[Article, str, list]], report: IngestReport) -> None:
        if not pending:
            return
        if self.info is None:
            (self.path / "rag.json").write_text(self._wanted_info(self.embedder.dim).model_dump_json(indent=2))
        texts = [f"{a.title}\n{c.text}" if a.title else c.text for a, _, chunks in pending for c in chunks]
        sents = [(f"{a.id}::{c.index}", a.id, x, y, c.text[x:y]) for a, _, chunks in pending for c in chunks
                 for x, y in sentence_spans(c.text) if y - x >= MIN_SENTENCE_CHARS]
        # One call, so sentence-transformers sorts chunks and sentences by length together.
        vectors = self.embedder.embed_passages(texts + [t for *_, t in sents], self.settings.batch_size)
        vectors, svectors = vectors[:len(texts)], vectors[len(texts):]
        ids, docs, metas = [], [], []
        for art, _, chunks in pending:
            base = {"article_id": art.id, "title": art.title, "source": art.source, "url": art.url,
                    "date": art.date, "date_int": _date_int(art.date), "category": art.category,
                    "author": art.author}
            for c in chunks:
                ids.append(f"{art.id}::{c.index}")
                docs.append(c.text)
                metas.append({**base, "chunk": c.index, "start": c.start, "end": c.end})
        # Changed articles: drop their old chunks first (they may have had more of them).
        self._delete(a.id for a, _, _ in pending)
        for i in range(0, len(ids), 4000):
            self._col.add(ids=ids[i:i + 4000], documents=docs[i:i + 4000], metadatas=metas[i:i + 4000],
                          embeddings=vectors[i:i + 4000])
        smeta = [{"chunk_id": cid, "article_id": aid, "start": x, "end": y} for cid, aid, x, y, _ in sents]
        sids = [f"{cid}#{x}" for cid, _, x, _, _ in sents]  # the ids _sentence_ids derives
        for i in range(0, len(sents), 4000):
            self._sent.add(ids=sids[i:i + 4000], metadatas=smeta[i:i + 4000], embeddings=svectors[i:i + 4000])
        self._add_to_means("chunks", vectors)
        self._add_to_means("sentences", svectors)
        self._store_tokens(ids, docs)
        self._db.executemany(
            "INSERT OR REPLACE INTO articles (id, hash, n_chunks, origin, source, date) VALUES (?, ?, ?, ?, ?, ?)",
            [(a.id, h, len(c), str(Path(a.origin).resolve()), a.source, a.date) for a, h, c in pending])
        self._db.commit()
        report.articles += len(pending)
        report.chunks += len(ids)

    def _prune(self, paths: list[Path], files: list[FileResult]) -> int:
        """Remove articles that vanished from files (or folders) read completely this run."""
        read = {str(Path(f.path).resolve()): f for f in files}
        folders = [str(p.resolve()) + os.sep for p in paths if p.is_dir()]
        gone = []
        for aid, origin in self._db.execute("SELECT id, origin FROM articles"):
            f = read.get(origin)
            if f is not None:
                if f.complete and aid not in f.ids:
                    gone.append(aid)
            elif any(origin.startswith(d) for d in folders):
                gone.append(aid)  # its file was deleted from a folder we just read
        return self._delete(gone)


def _estimate(paths: list[Path], limit: int | None) -> int | None:
    """Article count for the progress bar: lines of JSONL files, one per text file."""
    import gzip

    total = 0
    for f, _ in list_files(paths):
        try:
            if f.name.endswith(".jsonl.gz"):
                with gzip.open(f, "rb") as fh:
                    total += sum(1 for _ in fh)
            elif f.name.endswith(".jsonl"):
                total += f.read_bytes().count(b"\n")
            else:
                total += 1
        except OSError:
            pass
        if limit is not None and total >= limit:
            return limit
    return total
