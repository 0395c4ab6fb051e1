"""The index directory: Chroma collections, the SQLite manifest, ``rag.json``, and its lock.

One directory holds everything (``chroma/``, ``manifest.sqlite``, ``rag.json``, ``bm25/``) and
one process owns it at a time (``.lock``). Chroma holds a vector per chunk (with its text and
metadata) and per sentence (ids from :mod:`rag.ids`); the manifest holds one row per article
(content hash, chunk count, origin), the running vector sums behind the hub correction, and
each chunk's BM25 tokens. Everything here is read or written by id, never by a ``where`` scan.

Example:
    >>> with Store(Settings(db="/tmp/idx")) as store:    # doctest: +SKIP
    ...     store.count_articles(), store.chunks.count()
"""

from __future__ import annotations

import fcntl
import shutil
import sqlite3
import sys
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict

from rag.chunk import CHUNKER_VERSION
from rag.hits import Filters, Hit
from rag.ids import chunk_id, sentence_ids
from rag.lexical import LEXICAL_VERSION, LexicalIndex, tokenize
from rag.names import text_keys
from rag.settings import Settings
from rag.text import NORMALIZATION_VERSION
from rag.tuning import TUNING

LAYOUT = "chunks+sentences-1"  # what the index stores; another layout needs a rebuild
WRITE_BATCH = 4000  # rows per Chroma add (its limit is a little above 5000)


class IndexUnavailable(RuntimeError):
    """The index cannot be used as asked; the message says what to do."""


class IndexInfo(BaseModel):
    """Facts that decide whether stored vectors can be reused (saved as ``<db>/rag.json``)."""

    model_config = ConfigDict(extra="ignore")

    model: str
    dim: int
    normalization: str
    chunker: str
    collection: str
    layout: str = "chunks-1"  # what an index built before sentence vectors reads as


class Store:
    """Storage of one index directory, locked for this process until :meth:`close`."""

    def __init__(self, settings: Settings, rebuild: bool = False):
        self.settings = settings
        self.path = Path(settings.db)
        self._means: dict[str, np.ndarray] | None = None
        self._lexical: LexicalIndex | None = None
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
        self._client = _client(settings, self.path)
        names = (settings.collection, f"{settings.collection}_sentences")
        if rebuild:  # through the client, not rm -rf: chromadb caches open directories per process
            for name in set(names) & {c.name for c in self._client.list_collections()}:
                self._client.delete_collection(name)
        # Vectors are always passed in: with no embedding function Chroma never fetches its own model.
        self.chunks, self.sentences = (self._searchable(name) for name in names)
        self.db = sqlite3.connect(self.path / "manifest.sqlite", check_same_thread=False)
        if rebuild:
            for table in ("articles", "centroids", "chunk_tokens"):
                self.db.execute(f"DROP TABLE IF EXISTS {table}")
        self.db.execute("CREATE TABLE IF NOT EXISTS articles (id TEXT PRIMARY KEY, hash TEXT NOT NULL, "
                        "n_chunks INTEGER NOT NULL, origin TEXT NOT NULL, source TEXT, date TEXT)")
        # Running sums of the stored vectors, kept in step with Chroma (for the hub correction).
        self.db.execute("CREATE TABLE IF NOT EXISTS centroids (name TEXT PRIMARY KEY, n INTEGER NOT NULL, "
                        "total BLOB NOT NULL)")
        # Each chunk's BM25 tokens, analysed once at ingest: bm25s cannot add documents, so its
        # matrix is recomputed from these, without fetching or re-analysing every chunk's text.
        self.db.execute("CREATE TABLE IF NOT EXISTS chunk_tokens (chunk_id TEXT PRIMARY KEY, "
                        "version TEXT NOT NULL, tokens TEXT NOT NULL)")
        self.db.commit()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if getattr(self, "db", None) is not None:
            self.db.close()
            self.db = None
        if not self._lock.closed:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()

    def _searchable(self, name: str):
        """The collection with :attr:`Tuning.ef_search`; older ones get that search breadth (the one
        setting Chroma lets change; before the first query, so it applies in this process)."""
        ef = TUNING.ef_search
        col = self._client.get_or_create_collection(name, configuration={"hnsw": {"space": "cosine", "ef_search": ef}},
                                                    embedding_function=None)
        if (col.configuration_json.get("hnsw") or {}).get("ef_search") != ef:
            try:
                col.modify(configuration={"hnsw": {"ef_search": ef}})
            except Exception as e:  # e.g. an older Chroma server: search still works, a little less exactly
                print(f"warning: could not widen the search of collection {name} ({e})", file=sys.stderr)
        return col

    # -- facts stored beside the index ---------------------------------------------------
    @property
    def info(self) -> IndexInfo | None:
        p = self.path / "rag.json"
        return IndexInfo.model_validate_json(p.read_text()) if p.exists() else None

    def write_info(self, dim: int) -> None:
        """Record what the vectors were made with, before the first are written."""
        if self.info is None:
            info = IndexInfo(dim=dim, collection=self.settings.collection, layout=LAYOUT, **self._wanted())
            (self.path / "rag.json").write_text(info.model_dump_json(indent=2))

    def _wanted(self) -> dict[str, str]:
        s = self.settings
        return {"model": s.model, "normalization": NORMALIZATION_VERSION, "chunker": f"{CHUNKER_VERSION}/{s.chunk_chars}"}

    def _check_info(self) -> None:
        stored = self.info
        if stored is None:
            return
        wanted = {**self._wanted(), "layout": LAYOUT}
        clashes = [f"{k}: index has {getattr(stored, k)!r}, asked for {v!r}" for k, v in wanted.items()
                   if getattr(stored, k) != v]
        if clashes:
            self.close()
            raise IndexUnavailable(
                f"index {self.path} was built with other settings ({'; '.join(clashes)}). "
                f"Rebuild it with: rag ingest --rebuild --db {self.path} PATH... "
                f"(or choose another --db), or use the model it was built with (--model {stored.model}).")

    # -- the manifest --------------------------------------------------------------------
    def count_articles(self) -> int:
        (n,) = self.db.execute("SELECT COUNT(*) FROM articles").fetchone()
        return n

    def manifest(self) -> dict[str, str]:
        """Article id → content hash."""
        return dict(self.db.execute("SELECT id, hash FROM articles"))

    def origins(self) -> list[tuple[str, str]]:
        """(article id, resolved path of the file it came from)."""
        return list(self.db.execute("SELECT id, origin FROM articles"))

    def sources(self) -> list[str]:
        """Distinct outlets in the index, most articles first."""
        rows = self.db.execute("SELECT source, COUNT(*) AS n FROM articles WHERE source != '' "
                               "GROUP BY source ORDER BY n DESC, source")
        return [r[0] for r in rows]

    def date_range(self) -> tuple[str, str] | None:
        """(oldest, newest) article date (ISO strings), or None when no article has a date."""
        row = self.db.execute("SELECT MIN(date), MAX(date) FROM articles WHERE date != ''").fetchone()
        return (row[0], row[1]) if row and row[0] else None

    # -- reading chunks and sentences ----------------------------------------------------
    def passages(self, chunk_ids: list[str]) -> dict[str, str]:
        """The stored text of each chunk id that exists."""
        got = self.chunks.get(ids=list(chunk_ids), include=["documents"]) if chunk_ids else {"ids": []}
        return dict(zip(got["ids"], got.get("documents") or []))

    def texts(self) -> tuple[list[str], list[str]]:
        """(chunk ids, chunk texts) of the whole index."""
        got = self.chunks.get(include=["documents"])
        return got["ids"], got["documents"]

    def scored(self, vector, chunk_ids: list[str], filters: Filters | None = None) -> dict[str, tuple[Hit, np.ndarray]]:
        """Chunk id → (hit with its cosine to ``vector`` as score, stored vector), for the ids
        that exist and match ``filters``."""
        got = self.chunks.get(ids=list(chunk_ids), include=["documents", "metadatas", "embeddings"])
        out = {}
        for cid, doc, meta, emb in zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"]):
            hit = Hit.from_chroma(float(np.dot(vector, emb)), cid, doc, meta)
            if filters is None or filters.empty or filters.match(hit.source, hit.date):
                out[cid] = (hit, emb)
        return out

    def query(self, vector, k: int, where: dict | None = None) -> list[Hit]:
        """The ``k`` nearest chunks (HNSW), ranked, with their cosine as score."""
        if self.chunks.count() == 0:
            return []
        res = self.chunks.query(query_embeddings=[vector], n_results=k, where=where,
                                include=["documents", "metadatas", "distances"])
        return [Hit.from_chroma(1.0 - float(dist), cid, doc, meta, rank=i) for i, (cid, doc, meta, dist) in enumerate(
            zip(res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0]), 1)]

    def query_sentences(self, vector, k: int) -> list[tuple[str, float]]:
        """(sentence id, cosine) of the ``k`` nearest sentences."""
        n = self.sentences.count()
        if not n:
            return []
        res = self.sentences.query(query_embeddings=[vector], n_results=min(k, n), include=["distances"])
        return [(sid, 1.0 - float(dist)) for sid, dist in zip(res["ids"][0], res["distances"][0])]

    def sentence_vectors(self, hits: list[Hit]) -> dict[str, list[tuple[int, int, np.ndarray]]]:
        """Stored (start, end, vector) of the sentences of each hit's chunk (offsets in the chunk)."""
        ids = sentence_ids([(h.chunk_id, h.text) for h in hits])
        if not ids:
            return {}
        got = self.sentences.get(ids=ids, include=["metadatas", "embeddings"])
        out: dict[str, list] = {}
        for meta, emb in zip(got["metadatas"], got["embeddings"]):
            out.setdefault(meta["chunk_id"], []).append((meta["start"], meta["end"], np.asarray(emb, dtype=np.float32)))
        return out

    # -- writing -------------------------------------------------------------------------
    def add(self, articles: list[tuple], chunks: tuple[list, list, list, np.ndarray],
            sentences: tuple[list, list, np.ndarray]) -> None:
        """Write new rows and commit: ``articles`` as (id, hash, n_chunks, origin, source, date),
        ``chunks`` as (ids, texts, metadatas, vectors), ``sentences`` as (ids, metadatas, vectors)."""
        ids, docs, metas, vectors = chunks
        for i in range(0, len(ids), WRITE_BATCH):
            j = i + WRITE_BATCH
            self.chunks.add(ids=ids[i:j], documents=docs[i:j], metadatas=metas[i:j], embeddings=vectors[i:j])
        sids, smetas, svectors = sentences
        for i in range(0, len(sids), WRITE_BATCH):
            j = i + WRITE_BATCH
            self.sentences.add(ids=sids[i:j], metadatas=smetas[i:j], embeddings=svectors[i:j])
        self._add_to_means("chunks", vectors)
        self._add_to_means("sentences", svectors)
        self._store_tokens(ids, docs)
        self.db.executemany("INSERT OR REPLACE INTO articles (id, hash, n_chunks, origin, source, date) "
                            "VALUES (?, ?, ?, ?, ?, ?)", articles)
        self.db.commit()

    def delete(self, article_ids) -> int:
        """Delete articles with their chunks, sentences and tokens; returns how many were indexed."""
        n = 0
        for aid in article_ids:
            row = self.db.execute("SELECT n_chunks FROM articles WHERE id = ?", (aid,)).fetchone()
            if row is None:
                continue
            chunk_ids = [chunk_id(aid, i) for i in range(row[0])]
            got = self.chunks.get(ids=chunk_ids, include=["documents", "embeddings"])
            sids = sentence_ids(list(zip(got["ids"], got["documents"])))
            if sids:
                self._add_to_means("sentences", self.sentences.get(ids=sids, include=["embeddings"])["embeddings"], -1)
                self.sentences.delete(ids=sids)
            self._add_to_means("chunks", got["embeddings"], -1)
            self.chunks.delete(ids=chunk_ids)
            self.db.executemany("DELETE FROM chunk_tokens WHERE chunk_id = ?", [(c,) for c in chunk_ids])
            self.db.execute("DELETE FROM articles WHERE id = ?", (aid,))
            n += 1
        self.db.commit()
        return n

    # -- running means (hub correction) --------------------------------------------------
    @property
    def means(self) -> dict[str, np.ndarray]:
        """Mean stored vector of the chunks and of the sentences (zero for an empty index).

        Kept as running sums in the manifest; recounted from Chroma when the counts disagree
        (an index from before, or a write that was interrupted).
        """
        if self._means is None:
            means = {}
            for name, col in (("chunks", self.chunks), ("sentences", self.sentences)):
                n, total = self._sums(name)
                if n != col.count():
                    n, total = col.count(), _vector_sum(col)
                    self._put_sums(name, n, total)
                    self.db.commit()
                means[name] = (np.asarray(total) / max(n, 1)).astype(np.float32)
            self._means = means
        return self._means

    def _sums(self, name: str) -> tuple[int, np.ndarray | float]:
        """(count, float64 sum) of the stored ``chunks`` or ``sentences`` vectors; (0, 0.0) before any."""
        row = self.db.execute("SELECT n, total FROM centroids WHERE name = ?", (name,)).fetchone()
        return (row[0], np.frombuffer(row[1], dtype=np.float64)) if row else (0, 0.0)

    def _put_sums(self, name: str, n: int, total) -> None:
        self.db.execute("INSERT OR REPLACE INTO centroids VALUES (?, ?, ?)",
                        (name, n, np.asarray(total, dtype=np.float64).tobytes()))

    def _add_to_means(self, name: str, vectors, sign: int = 1) -> None:
        """Add (or with ``sign=-1`` take away) vectors from the running sums; committed by the caller."""
        vectors = np.asarray(vectors, dtype=np.float64)
        if not len(vectors):
            return
        n, total = self._sums(name)
        self._put_sums(name, n + sign * len(vectors), total + sign * vectors.sum(axis=0))
        self._means = None

    # -- BM25, derived from the stored tokens --------------------------------------------
    @property
    def lexical(self) -> LexicalIndex:
        """The BM25 index, loaded once (built now if the index predates it)."""
        if self._lexical is None:
            self._lexical = LexicalIndex.load(self.path / "bm25") or self.rebuild_lexical()
        return self._lexical

    def has_lexical(self) -> bool:
        return (self.path / "bm25").exists()

    def rebuild_lexical(self) -> LexicalIndex:
        """BM25 over exactly the chunks in Chroma, from their stored tokens (analysing only
        chunks that have none of this analyzer version: an index from before, or a crash)."""
        ids = self.chunks.get(include=[])["ids"]
        self.db.execute("DELETE FROM chunk_tokens WHERE version != ?", (LEXICAL_VERSION,))
        have = dict(self.db.execute("SELECT chunk_id, tokens FROM chunk_tokens"))
        missing = [cid for cid in ids if cid not in have]
        for i in range(0, len(missing), 5000):
            got = self.chunks.get(ids=missing[i:i + 5000], include=["documents"])
            have.update(self._store_tokens(got["ids"], got["documents"]))
        self.db.commit()
        words, names = zip(*(have[cid].split("\t") for cid in ids)) if ids else ((), ())
        lex = LexicalIndex.from_tokens(ids, [w.split() for w in words], names=[n.split() for n in names])
        lex.save(self.path / "bm25")
        self._lexical = lex
        return lex

    def _store_tokens(self, chunk_ids: list[str], texts: list[str]) -> dict[str, str]:
        """Words, a tab, then name keys (:mod:`rag.names`), per chunk."""
        rows = {cid: " ".join(tokenize(text)) + "\t" + " ".join(text_keys(text)) for cid, text in zip(chunk_ids, texts)}
        self.db.executemany("INSERT OR REPLACE INTO chunk_tokens VALUES (?, ?, ?)",
                            [(cid, LEXICAL_VERSION, toks) for cid, toks in rows.items()])
        return rows


def _client(settings: Settings, path: Path):
    """An embedded Chroma in ``path/chroma``, or the ``chroma run`` server of ``settings.chroma_url``."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        from urllib.parse import urlsplit

        url = urlsplit(settings.chroma_url)
        return chromadb.HttpClient(host=url.hostname, port=url.port or 8000, ssl=url.scheme == "https",
                                   settings=chroma_settings)
    return chromadb.PersistentClient(path=str(path / "chroma"), settings=chroma_settings)


def _vector_sum(col):
    total = 0.0
    for offset in range(0, col.count(), 5000):
        got = col.get(limit=5000, offset=offset, include=["embeddings"])
        total = total + np.asarray(got["embeddings"], dtype=np.float64).sum(axis=0)
    return total
