"""Ingest: read files, chunk, embed chunks and sentences, write them; prune what vanished.

Incremental and idempotent: articles are keyed by id and a content hash, so unchanged ones are
skipped and changed ones replaced; articles that vanished from a file (or files from a folder)
read completely are deleted. BM25 is rebuilt from the stored tokens after any change.

Example:
    >>> report = Indexer(store, models).ingest(["corpus/"])           # doctest: +SKIP
    >>> print(report.summary())                                      # doctest: +SKIP
"""

from __future__ import annotations

import gzip
import os
import sys
import threading
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.chunk import CHUNKER_VERSION, chunk_text, embedded_text
from rag.hits import date_int
from rag.ids import chunk_id, sentence_id, sentence_ids, vector_sentences
from rag.ingest.readers import REQUEST, Article, FileResult, Problem, list_files, read_paths, read_records
from rag.storage.store import Store
from rag.text import NORMALIZATION_VERSION


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


class Indexer:
    """Writes articles into one :class:`rag.storage.store.Store`, embedding with the index's models."""

    def __init__(self, store: Store, models):
        self.store = store
        self.models = models
        self._busy = threading.Lock()  # one writer at a time (the API and a watched folder may both ingest)

    def remove(self, article_ids: Iterable[str]) -> int:
        """Delete articles and their chunks; returns how many were indexed."""
        with self._busy:
            n = self.store.delete(article_ids)
            if n:
                self.store.sync_lexical()
            return n

    def check(self, repair: bool = False) -> dict[str, list[str]]:
        """What disagrees with the manifest: chunks no article lists, sentences no stored chunk
        text has, articles missing chunks or sentences. With ``repair`` the orphans are deleted
        and the incomplete articles dropped (the next ingest adds them again)."""
        expected = {chunk_id(aid, i): aid for aid, n in self.store.manifest.chunk_counts().items() for i in range(n)}
        have = dict(zip(*self.store.texts()))
        sids = set(self.store.sentences.get(include=[])["ids"])
        wanted = {sid: cid for cid, text in have.items() if cid in expected for sid in sentence_ids([(cid, text)])}
        found = {"orphan_chunks": sorted(set(have) - set(expected)),
                 "orphan_sentences": sorted(sids - set(wanted)),
                 "incomplete_articles": sorted({expected[c] for c in set(expected) - set(have)}
                                               | {expected[wanted[s]] for s in set(wanted) - sids})}
        if repair and any(found.values()):
            self.store.delete_rows(found["orphan_chunks"], found["orphan_sentences"])
            self.store.delete(found["incomplete_articles"])
            self.store.recount_means()
            self.store.rebuild_lexical()
        return found

    def ingest(self, paths: Iterable[str | Path], limit: int | None = None, progress: bool = True,
               on_problem=None) -> IngestReport:
        """Index new and changed articles from ``paths``; skip unchanged; prune vanished ones.

        Pruning only happens on a full run (no ``limit``) and only for files read without
        errors, so a broken line never costs an article that was already indexed.
        """
        paths = [Path(p) for p in paths]
        files: list[FileResult] = []
        t0 = time.perf_counter()
        with self._busy:
            report, limited = self._ingest(read_paths(paths, files), _estimate(paths, limit), limit, progress,
                                           on_problem)
            if limit is None and not limited:
                report.removed = self._prune(paths, files)
            return self._finish(report, t0)

    def ingest_records(self, records: list, on_problem=None) -> IngestReport:
        """Index posted records (``POST /api/ingest``): same fields and checks as a .jsonl file."""
        t0 = time.perf_counter()
        with self._busy:
            report, _ = self._ingest(read_records(records), len(records), None, False, on_problem or (lambda p: None))
            return self._finish(report, t0)

    def _ingest(self, items: Iterable, total: int | None, limit: int | None, progress: bool,
                on_problem) -> tuple[IngestReport, bool]:
        """Embed and write the new and changed articles of ``items``; (report, cut by ``limit``)."""
        from tqdm import tqdm

        report, t0 = IngestReport(), time.perf_counter()
        on_problem = on_problem or (lambda p: tqdm.write(f"skipped: {p}", file=sys.stderr))
        settings = self.store.settings
        chunk_chars = settings.chunk_chars
        known = self.store.manifest.hashes()
        origins = dict(self.store.manifest.origins())
        salt = f"{CHUNKER_VERSION}/{chunk_chars}/{NORMALIZATION_VERSION}"
        seen: dict[str, str] = {}
        pending: list[tuple[Article, str, list]] = []
        bar = tqdm(total=total, unit="art", disable=not progress, desc="ingest", dynamic_ncols=True)
        limited = False

        def problem(p: Problem) -> None:
            report.failed += 1
            report.problems.append(p)
            on_problem(p)

        for item in items:
            if isinstance(item, Problem):
                problem(item)
                continue
            if limit is not None and len(seen) >= limit:
                limited = True
                break
            if item.id in seen:
                problem(Problem(item.origin, item.line, f"duplicate article id {item.id!r} (first at {seen[item.id]}); "
                                                               "give each article its own id"))
                continue
            seen[item.id] = f"{item.origin}:{item.line}" if item.line else item.origin
            refused = _clash(item, origins.get(item.id)) or _too_long(item, settings.max_article_chars)
            if refused:
                problem(refused)
                continue
            digest = item.content_hash(salt)
            if known.get(item.id) == digest:
                report.skipped += 1
                bar.update(1)
                continue
            pending.append((item, digest, chunk_text(item.text, chunk_chars)))
            # Frequent commits: a kill loses one batch (seconds of work), not minutes.
            if sum(len(c) for _, _, c in pending) >= settings.batch_size:
                self._flush(pending, report)
                bar.update(len(pending))
                bar.set_postfix(chunks=report.chunks, per_s=f"{report.chunks / (time.perf_counter() - t0):.1f}")
                pending = []
        self._flush(pending, report)
        bar.update(len(pending))
        bar.close()
        return report, limited

    def _finish(self, report: IngestReport, t0: float) -> IngestReport:
        if report.articles or report.removed or not self.store.has_lexical():
            self.store.sync_lexical()  # BM25 follows the manifest, updated at ingest only
        report.seconds = time.perf_counter() - t0
        return report

    def _flush(self, pending: list[tuple[Article, str, list]], report: IngestReport) -> None:
        if not pending:
            return
        embedder = self.models.embedder
        self.store.write_info(embedder.dim)
        chunks = [(a, c) for a, _, cs in pending for c in cs]
        texts = [embedded_text(a.title, c.text) for a, c in chunks]
        spans = [vector_sentences(c.text) for _, c in chunks]
        sents = [(chunk_id(a.id, c.index), a.id, x, y, c.text[x:y]) for (a, c), sp in zip(chunks, spans) for x, y in sp]
        if self.store.settings.sentence_vectors == "late" and embedder.late_chunking:
            # One forward pass a chunk: its sentences' vectors are pooled from its tokens.
            starts = [len(t) - len(c.text) for t, (_, c) in zip(texts, chunks)]
            vectors, per_chunk = embedder.late_chunks(texts, spans, starts)
            svectors = np.concatenate(per_chunk) if sents else np.empty((0, embedder.dim), np.float32)
        else:
            # One call, so chunks and sentences are batched by length together.
            vectors = embedder.embed_documents(texts + [t for *_, t in sents])
            vectors, svectors = vectors[:len(texts)], vectors[len(texts):]
        ids = [chunk_id(a.id, c.index) for a, c in chunks]
        docs = [c.text for _, c in chunks]
        metas = [{"article_id": a.id, "title": a.title, "source": a.source, "url": a.url, "date": a.date,
                  "date_int": date_int(a.date), "category": a.category, "author": a.author,
                  "chunk": c.index, "start": c.start, "end": c.end} for a, c in chunks]
        smeta = [{"chunk_id": cid, "article_id": aid, "start": x, "end": y} for cid, aid, x, y, _ in sents]
        sids = [sentence_id(cid, x) for cid, _, x, _, _ in sents]
        rows = [(a.id, h, len(c), _origin(a.origin), a.source, a.date) for a, h, c in pending]
        with self.store.guard.writing():  # readers see the old article or the new one, never half
            self.store.delete(a.id for a, _, _ in pending)  # a changed article may have had more chunks
            self.store.add(rows, (ids, docs, metas, vectors), (sids, smeta, svectors))
        report.articles += len(pending)
        report.chunks += len(ids)

    def _prune(self, paths: list[Path], files: list[FileResult]) -> int:
        """Remove articles that vanished from files (or folders) read completely this run."""
        # realpath, not Path.resolve: a symlink loop given as a path must not raise here
        read = {os.path.realpath(f.path): f for f in files}
        folders = [os.path.realpath(p) + os.sep for p in paths if p.is_dir()]
        gone = []
        for aid, origin in self.store.manifest.origins():
            f = read.get(origin)
            if f is not None:
                if f.complete and aid not in f.ids:
                    gone.append(aid)
            elif any(origin.startswith(d) for d in folders):
                gone.append(aid)  # its file was deleted from a folder we just read
        return self.store.delete(gone)


def _origin(origin: str) -> str:
    """Where an article is kept as coming from: its file's real path, or ``request`` for posted records."""
    return origin if origin == REQUEST else os.path.realpath(origin)


def _clash(article: Article, indexed_from: str | None) -> Problem | None:
    """Another file still on disk already holds this id: overwriting its article would lose it."""
    if indexed_from is None or indexed_from == _origin(article.origin) or not os.path.exists(indexed_from):
        return None
    return Problem(article.origin, article.line,
                   f"article id {article.id!r} is already indexed from {indexed_from}; give each record its own "
                   f"'id' (records without one are named after their file), or `rag remove {article.id}` if it moved")


def _too_long(article: Article, limit: int) -> Problem | None:
    """An article far longer than any news article (a dump, a concatenation) is refused whole."""
    if len(article.text) <= limit:
        return None
    return Problem(article.origin, article.line,
                   f"article {article.id!r} has {len(article.text):,} characters, over the limit of {limit:,} "
                   f"(RAG_MAX_ARTICLE_CHARS): split it into several records, or raise the limit")


def _estimate(paths: list[Path], limit: int | None) -> int | None:
    """Article count for the progress bar: lines of JSONL files, one per text file."""
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
        except (OSError, EOFError, zlib.error):
            pass  # a broken file: the reader reports it, the bar only guesses
        if limit is not None and total >= limit:
            return limit
    return total
