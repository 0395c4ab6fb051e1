"""The SQLite manifest beside the vectors: one row per article, running vector sums, BM25 tokens.

Articles carry their content hash (what makes ingest incremental), chunk count (their chunk ids
without a scan) and origin file (what pruning compares with). The running sums of the stored
vectors give the collection means of the hub correction without reading every vector. Each
chunk's BM25 tokens, analysed once at ingest, let BM25 be built or updated without fetching or
re-analysing chunk texts.

Example:
    >>> m = Manifest(":memory:")
    >>> m.put_articles([("a", "h1", 2, "/x.jsonl", "bbc", "2018-05-02")]); m.commit()
    >>> m.hashes(), m.n_chunks("a"), m.sources(), m.date_range()
    ({'a': 'h1'}, 2, ['bbc'], ('2018-05-02', '2018-05-02'))
    >>> m.add_to_sums("chunks", [[1.0, 0.0], [0.0, 1.0]]); m.sums("chunks")[0]
    2
"""

from __future__ import annotations

import sqlite3

import numpy as np

TABLES = ("articles", "centroids", "chunk_tokens")


class Manifest:
    """The manifest database at ``path`` (tables dropped first with ``rebuild``)."""

    def __init__(self, path, rebuild: bool = False):
        self.db = sqlite3.connect(path, check_same_thread=False)
        if rebuild:
            for table in TABLES:
                self.db.execute(f"DROP TABLE IF EXISTS {table}")
        self.db.execute("CREATE TABLE IF NOT EXISTS articles (id TEXT PRIMARY KEY, hash TEXT NOT NULL, "
                        "n_chunks INTEGER NOT NULL, origin TEXT NOT NULL, source TEXT, date TEXT)")
        self.db.execute("CREATE TABLE IF NOT EXISTS centroids (name TEXT PRIMARY KEY, n INTEGER NOT NULL, "
                        "total BLOB NOT NULL)")
        self.db.execute("CREATE TABLE IF NOT EXISTS chunk_tokens (chunk_id TEXT PRIMARY KEY, "
                        "version TEXT NOT NULL, tokens TEXT NOT NULL)")
        self.db.commit()

    def commit(self) -> None:
        self.db.commit()

    def close(self) -> None:
        self.db.close()

    # -- articles ------------------------------------------------------------------------
    def count(self) -> int:
        (n,) = self.db.execute("SELECT COUNT(*) FROM articles").fetchone()
        return n

    def hashes(self) -> dict[str, str]:
        """Article id → content hash."""
        return dict(self.db.execute("SELECT id, hash FROM articles"))

    def chunk_counts(self) -> dict[str, int]:
        """Article id → number of chunks."""
        return dict(self.db.execute("SELECT id, n_chunks FROM articles"))

    def n_chunks(self, article_id: str) -> int | None:
        row = self.db.execute("SELECT n_chunks FROM articles WHERE id = ?", (article_id,)).fetchone()
        return row[0] if row else None

    def origins(self) -> list[tuple[str, str]]:
        """(article id, resolved path of the file it came from)."""
        return list(self.db.execute("SELECT id, origin FROM articles"))

    def catalogue(self) -> list[tuple[str, int, str, str]]:
        """(article id, number of chunks, source, date) of every article."""
        return list(self.db.execute("SELECT id, n_chunks, COALESCE(source, ''), COALESCE(date, '') FROM articles"))

    def sources(self) -> list[str]:
        """Distinct outlets, most articles first."""
        rows = self.db.execute("SELECT source, COUNT(*) AS n FROM articles WHERE source != '' "
                               "GROUP BY source ORDER BY n DESC, source")
        return [r[0] for r in rows]

    def date_range(self) -> tuple[str, str] | None:
        """(oldest, newest) article date (ISO strings), or None when no article has a date."""
        row = self.db.execute("SELECT MIN(date), MAX(date) FROM articles WHERE date != ''").fetchone()
        return (row[0], row[1]) if row and row[0] else None

    def put_articles(self, rows: list[tuple]) -> None:
        """Rows of (id, hash, n_chunks, origin, source, date)."""
        self.db.executemany("INSERT OR REPLACE INTO articles (id, hash, n_chunks, origin, source, date) "
                            "VALUES (?, ?, ?, ?, ?, ?)", rows)

    def delete_article(self, article_id: str, chunk_ids: list[str]) -> None:
        self.db.executemany("DELETE FROM chunk_tokens WHERE chunk_id = ?", [(c,) for c in chunk_ids])
        self.db.execute("DELETE FROM articles WHERE id = ?", (article_id,))

    # -- running vector sums -------------------------------------------------------------
    def sums(self, name: str) -> tuple[int, np.ndarray | float]:
        """(count, float64 sum) of the stored ``chunks`` or ``sentences`` vectors; (0, 0.0) before any."""
        row = self.db.execute("SELECT n, total FROM centroids WHERE name = ?", (name,)).fetchone()
        return (row[0], np.frombuffer(row[1], dtype=np.float64)) if row else (0, 0.0)

    def put_sums(self, name: str, n: int, total) -> None:
        self.db.execute("INSERT OR REPLACE INTO centroids VALUES (?, ?, ?)",
                        (name, n, np.asarray(total, dtype=np.float64).tobytes()))

    def add_to_sums(self, name: str, vectors, sign: int = 1) -> None:
        """Add (or with ``sign=-1`` take away) vectors; committed by the caller."""
        vectors = np.asarray(vectors, dtype=np.float64)
        if len(vectors):
            n, total = self.sums(name)
            self.put_sums(name, n + sign * len(vectors), total + sign * vectors.sum(axis=0))

    # -- BM25 tokens -----------------------------------------------------------------------
    def tokens(self, version: str, chunk_ids: list[str]) -> dict[str, str]:
        """Chunk id → stored tokens of analyzer ``version``, for those of ``chunk_ids`` that have
        them (the tokens of other versions are dropped)."""
        self.db.execute("DELETE FROM chunk_tokens WHERE version != ?", (version,))
        if len(chunk_ids) > 5000:  # a whole archive: one scan beats its ids in batches
            wanted = set(chunk_ids)
            return {c: t for c, t in self.db.execute("SELECT chunk_id, tokens FROM chunk_tokens") if c in wanted}
        out = {}
        for i in range(0, len(chunk_ids), 500):  # SQLite's limit on bound parameters
            part = chunk_ids[i:i + 500]
            out.update(self.db.execute(f"SELECT chunk_id, tokens FROM chunk_tokens WHERE chunk_id IN "
                                       f"({','.join('?' * len(part))})", part))
        return out

    def put_tokens(self, version: str, rows: dict[str, str]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO chunk_tokens VALUES (?, ?, ?)",
                            [(cid, version, toks) for cid, toks in rows.items()])
