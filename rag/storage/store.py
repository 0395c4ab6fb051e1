"""The index directory: Chroma collections, the SQLite manifest, ``rag.json``, and its lock.

One directory holds everything (``chroma/``, ``manifest.sqlite``, ``rag.json``, ``bm25/``) and
one process owns it at a time (``.lock``). Chroma holds a vector per chunk (with its text and
metadata) and per sentence (ids from :mod:`rag.ids`); :mod:`rag.storage.manifest` holds the rest.
Chunks and sentences are read and written by id, never by a ``where`` scan.

Example:
    >>> with Store(Settings(db="/tmp/idx")) as store:    # doctest: +SKIP
    ...     store.manifest.count(), store.chunks.count()
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict

from rag.chunk import CHUNKER_VERSION
from rag.hits import Filters, Hit, date_int
from rag.ids import chunk_id, sentence_ids
from rag.names import text_keys
from rag.settings import Settings
from rag.storage.guard import Guard
from rag.storage.lexical import INDEX_FILE, LEXICAL_VERSION, LexicalIndex, tokenize
from rag.storage.lock import DirectoryLock, IndexUnavailable
from rag.storage.manifest import Manifest
from rag.text import NORMALIZATION_VERSION
from rag.tuning import TUNING

LAYOUT = "chunks+sentences-1"  # what the index stores; another layout needs a rebuild
WRITE_BATCH = 4000  # rows per Chroma add (its limit is a little above 5000)


class IndexInfo(BaseModel):
    """Facts that decide whether stored vectors can be reused (saved as ``<db>/rag.json``)."""

    model_config = ConfigDict(extra="ignore")

    model: str
    dim: int
    normalization: str
    chunker: str
    collection: str
    layout: str = "chunks-1"  # what an index built before sentence vectors reads as
    sentence_vectors: str = "separate"  # how an index built before the choice made them


class Store:
    """Storage of one index directory, locked for this process until :meth:`close`."""

    def __init__(self, settings: Settings, rebuild: bool = False, on_locked=None):
        self.settings = settings
        self.path = Path(settings.db)
        self._means: dict[str, np.ndarray] | None = None
        self._lexical: LexicalIndex | None = None
        self._lexical_lock = threading.Lock()  # one thread brings BM25 up to date at a time
        self._sizes: dict[str, int] = {}
        self._catalogue: tuple[np.ndarray, ...] | None = None
        self.path.mkdir(parents=True, exist_ok=True)
        self.lock = DirectoryLock(self.path)
        if on_locked:
            on_locked()
        self.guard = Guard()  # this process's readers and writers (rag serve ingests while it answers)
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
        self.manifest = Manifest(self.path / "manifest.sqlite", rebuild)
        listed, held = sum(self.manifest.chunk_counts().values()), self.size("chunks")
        if listed != held:  # a write cut short: search works, but say how to mend it
            print(f"warning: index {self.path} lists {listed} chunks but holds {held} (a write was cut short?); "
                  f"run: rag check --repair --db {self.path}", file=sys.stderr)

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if getattr(self, "manifest", None) is not None:
            self.manifest.close()
            self.manifest = None
        self.lock.release()

    def _searchable(self, name: str):
        """The collection with :attr:`Tuning.ef_search`; older ones get that search breadth (the one
        setting Chroma lets change; before the first query, so it applies in this process)."""
        ef = TUNING.ef_search
        col = self._client.get_or_create_collection(name, configuration={"hnsw": {"space": "cosine", "ef_search": ef}},
                                                    embedding_function=None)
        if (col.configuration_json.get("hnsw") or {}).get("ef_search") == ef:
            return col
        for attempt in range(20):
            try:
                col.modify(configuration={"hnsw": {"ef_search": ef}})
                break
            except Exception as e:  # e.g. an older Chroma server: search still works, a little less exactly
                # Reopened at once in one process, Chroma's SQLite may still be busy for a moment.
                if "locked" in str(e) and attempt < 19:
                    time.sleep(0.1)
                    continue
                print(f"warning: could not widen the search of collection {name} ({e})", file=sys.stderr)
                break
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
        return {"model": s.model, "normalization": NORMALIZATION_VERSION, "chunker": f"{CHUNKER_VERSION}/{s.chunk_chars}",
                "sentence_vectors": s.sentence_vectors}

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

    # -- reading chunks and sentences ----------------------------------------------------
    def size(self, name: str) -> int:
        """Rows in ``chunks`` or ``sentences``, remembered until this process writes: Chroma
        counts by scanning (≈0.1 ms per 1,000 rows), which at a whole archive's 370k sentences
        would cost more than the search it guards (evals/RESULTS.md, 2026-12-03)."""
        if name not in self._sizes:
            self._sizes[name] = getattr(self, name).count()
        return self._sizes[name]

    def chunks_within(self, filters: Filters) -> list[str]:
        """Ids of the chunks of the articles ``filters`` admits, from the manifest (held in memory
        until this process writes): a query restricted to them is 2–4× faster than Chroma's
        ``where``, which scans the metadata (evals/RESULTS.md, 2026-12-03)."""
        ids, counts, keep = self._admitted(filters)
        return [chunk_id(a, i) for a, n in zip(ids[keep], counts[keep]) for i in range(n)]

    def count_within(self, filters: Filters) -> int:
        """How many chunks :meth:`chunks_within` would list, without listing them."""
        _, counts, keep = self._admitted(filters)
        return int(counts[keep].sum())

    def _admitted(self, filters: Filters) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(article ids, their chunk counts, which of them ``filters`` admits)."""
        if self._catalogue is None:
            rows = self.manifest.catalogue()
            ids, counts, sources, dates = zip(*rows) if rows else ((), (), (), ())
            self._catalogue = (np.array(ids, object), np.array(counts, int), np.array(sources, object),
                               np.array([date_int(d) for d in dates], np.int64))
        ids, counts, sources, dates = self._catalogue
        lo, hi = filters.bounds()
        keep = (dates >= lo) & (dates <= hi)
        if filters.sources:
            keep &= np.isin(sources, list(filters.sources))
        return ids, counts, keep

    @contextmanager
    def _writing(self):
        """Exclusive access for a write; afterwards, also after a failed one, what was remembered
        of the collections (sizes, the filter catalogue, the means) is recomputed on next use."""
        with self.guard.writing():
            try:
                yield
            finally:
                self._sizes.clear()
                self._catalogue = None
                self._means = None

    def passages(self, chunk_ids: list[str]) -> dict[str, str]:
        """The stored text of each chunk id that exists."""
        ids = list(dict.fromkeys(chunk_ids))  # two quotes of one chunk: Chroma refuses repeated ids
        got = self.chunks.get(ids=ids, include=["documents"]) if ids else {"ids": []}
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

    def query(self, vector, k: int, ids: list[str] | None = None) -> list[Hit]:
        """The ``k`` nearest chunks (HNSW), ranked, with their cosine as score; only among ``ids``
        when given."""
        if self.size("chunks") == 0 or ids == []:
            return []
        res = self.chunks.query(query_embeddings=[vector], n_results=k, ids=ids,
                                include=["documents", "metadatas", "distances"])
        return [Hit.from_chroma(1.0 - float(dist), cid, doc, meta, rank=i) for i, (cid, doc, meta, dist) in enumerate(
            zip(res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0]), 1)]

    def nearest_scores(self, vector, k: int) -> list[float]:
        """The cosines of the ``k`` nearest chunks, best first: scores only, so no text or
        metadata is read (≈ 5 against 29 ms for 60 chunks at 32k chunks)."""
        if self.size("chunks") == 0:
            return []
        res = self.chunks.query(query_embeddings=[vector], n_results=k, include=["distances"])
        return [1.0 - float(dist) for dist in res["distances"][0]]

    def query_sentences(self, vector, k: int) -> list[tuple[str, float]]:
        """(sentence id, cosine) of the ``k`` nearest sentences."""
        n = self.size("sentences")
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
        """Write rows and commit: ``articles`` as (id, hash, n_chunks, origin, source, date),
        ``chunks`` as (ids, texts, metadatas, vectors), ``sentences`` as (ids, metadatas, vectors).

        Vectors are upserted (a row left by a write that was cut short is replaced, never kept
        stale) and the manifest is committed last, so an article counts as indexed only once
        both collections hold it.
        """
        with self._writing():
            self._add(articles, chunks, sentences)

    def _add(self, articles, chunks, sentences) -> None:
        ids, docs, metas, vectors = chunks
        for i in range(0, len(ids), WRITE_BATCH):
            j = i + WRITE_BATCH
            self.chunks.upsert(ids=ids[i:j], documents=docs[i:j], metadatas=metas[i:j], embeddings=vectors[i:j])
        sids, smetas, svectors = sentences
        for i in range(0, len(sids), WRITE_BATCH):
            j = i + WRITE_BATCH
            self.sentences.upsert(ids=sids[i:j], metadatas=smetas[i:j], embeddings=svectors[i:j])
        self._add_to_means("chunks", vectors)
        self._add_to_means("sentences", svectors)
        self._store_tokens(ids, docs)
        self.manifest.put_articles(articles)
        self.manifest.commit()

    def delete(self, article_ids) -> int:
        """Delete articles with their chunks, sentences and tokens; returns how many were indexed."""
        with self._writing():
            return self._delete(article_ids)

    def _delete(self, article_ids) -> int:
        n = 0
        for aid in article_ids:
            n_chunks = self.manifest.n_chunks(aid)
            if n_chunks is None:
                continue
            chunk_ids = [chunk_id(aid, i) for i in range(n_chunks)]
            got = self.chunks.get(ids=chunk_ids, include=["documents", "embeddings"])
            sids = sentence_ids(list(zip(got["ids"], got["documents"])))
            if sids:
                self._add_to_means("sentences", self.sentences.get(ids=sids, include=["embeddings"])["embeddings"], -1)
                self.sentences.delete(ids=sids)
            self._add_to_means("chunks", got["embeddings"], -1)
            self.chunks.delete(ids=chunk_ids)
            self.manifest.delete_article(aid, chunk_ids)
            n += 1
        self.manifest.commit()
        return n

    def delete_rows(self, chunk_ids: list[str], sentence_ids: list[str]) -> None:
        """Delete chunk and sentence rows no article owns (what a crash left behind)."""
        with self._writing():
            for col, ids in ((self.chunks, chunk_ids), (self.sentences, sentence_ids)):
                for i in range(0, len(ids), WRITE_BATCH):
                    col.delete(ids=ids[i:i + WRITE_BATCH])

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
                n, total = self.manifest.sums(name)
                if n != col.count():
                    n, total = col.count(), _vector_sum(col)
                    self.manifest.put_sums(name, n, total)
                    self.manifest.commit()
                means[name] = (np.asarray(total) / max(n, 1)).astype(np.float32)
            self._means = means
        return self._means

    def recount_means(self) -> None:
        """Forget the running sums: they are recounted from the stored vectors on next use."""
        for name in ("chunks", "sentences"):
            self.manifest.put_sums(name, -1, 0.0)
        self.manifest.commit()
        self._means = None

    def _add_to_means(self, name: str, vectors, sign: int = 1) -> None:
        """Add (or with ``sign=-1`` take away) vectors from the running sums; committed by the caller."""
        self.manifest.add_to_sums(name, vectors, sign)

    # -- BM25, derived from the stored tokens --------------------------------------------
    @property
    def lexical(self) -> LexicalIndex:
        """The BM25 index, loaded once and brought up to the manifest (built now if the index predates it)."""
        return self._lexical or self.sync_lexical()

    def has_lexical(self) -> bool:
        return (self.path / "bm25" / INDEX_FILE).exists()

    def sync_lexical(self) -> LexicalIndex:
        """BM25 brought up to the manifest: only the chunks of articles added, changed or removed
        since it was saved are taken out and put in, with their stored tokens (for one new article
        in a whole archive 0.3–0.5 s, where a rebuild took 9–11 s: RESULTS 2026-12-07c)."""
        with self._lexical_lock:
            lex = self._lexical or LexicalIndex.load(self.path / "bm25")
            if lex is None:
                return self._rebuild_lexical()
            now = self.manifest.hashes()
            changed = {a for a, h in now.items() if lex.hashes.get(a) != h}
            gone = changed | (set(lex.hashes) - set(now))
            if gone:
                counts = self.manifest.chunk_counts()
                ids = [chunk_id(a, i) for a in sorted(changed) for i in range(counts[a])]
                have = self._tokens(ids)
                parts = [_words_and_keys(have[c]) for c in ids]
                lex = lex.updated(gone, ids, [w for w, _ in parts], [k for _, k in parts], now)
                lex.save(self.path / "bm25")
            self._lexical = lex
            return lex

    def rebuild_lexical(self) -> LexicalIndex:
        """BM25 over exactly the chunks in Chroma, from their stored tokens."""
        with self._lexical_lock:
            return self._rebuild_lexical()

    def _rebuild_lexical(self) -> LexicalIndex:
        hashes = self.manifest.hashes()  # before the ids: an article committed meanwhile is synced later
        ids = self.chunks.get(include=[])["ids"]
        have = self._tokens(ids)
        # generators: one chunk's words at a time (Bm25.build turns them into ids as they come)
        words = (_words_and_keys(have[cid])[0] for cid in ids)
        names = (_words_and_keys(have[cid])[1] for cid in ids)
        lex = LexicalIndex.from_tokens(ids, words, names=names, hashes=hashes)
        lex.save(self.path / "bm25")
        self._lexical = lex
        return lex

    def _tokens(self, ids: list[str]) -> dict[str, str]:
        """Chunk id → stored tokens (:meth:`_store_tokens`), analysing only chunks that have none
        of this analyzer version (an index from before, or a crash)."""
        have = self.manifest.tokens(LEXICAL_VERSION, ids)
        missing = [cid for cid in ids if cid not in have]
        for i in range(0, len(missing), 5000):
            got = self.chunks.get(ids=missing[i:i + 5000], include=["documents"])
            have.update(self._store_tokens(got["ids"], got["documents"]))
        self.manifest.commit()
        return have

    def _store_tokens(self, chunk_ids: list[str], texts: list[str]) -> dict[str, str]:
        """Words, a tab, then name keys (:mod:`rag.names`), per chunk."""
        rows = {cid: " ".join(tokenize(text)) + "\t" + " ".join(text_keys(text)) for cid, text in zip(chunk_ids, texts)}
        self.manifest.put_tokens(LEXICAL_VERSION, rows)
        return rows


def _words_and_keys(row: str) -> tuple[list[str], list[str]]:
    r"""(words, name keys) of a row :meth:`Store._store_tokens` wrote.

    >>> _words_and_keys("روسي صين\trs sn")
    (['روسي', 'صين'], ['rs', 'sn'])
    """
    words, keys = row.split("\t", 1)
    return words.split(), keys.split()


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
