"""Second stage: re-score the first stage's candidates with a stronger embedding model.

No multilingual cross-encoder ships on PyPI, so the second stage is a bi-encoder used late:
the question and the first stage's best chunks are embedded with, e.g., EmbeddingGemma, and
the chunks are re-ordered by that cosine weighed with the first stage's own ranking score
(both standardised over the candidates; :func:`fused`). Chunk vectors are cached by chunk id
and text, so a chunk is embedded once per process however often it comes back. Any
sentence-transformers id or path works (a cross-encoder for users online fits the same
``rerank`` signature).

Example:
    >>> rr = Reranker("embeddinggemma-300m")                        # doctest: +SKIP
    >>> rr.rerank("What did Russia say?", hits)[:5]   # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import replace

import numpy as np

from rag.chunk import embedded_text
from rag.hits import Hit
from rag.tuning import TUNING


def standardised(x) -> np.ndarray:
    """``(x - mean) / std`` (zeros when all are equal).

    >>> standardised([1.0, 2.0, 3.0]).round(3).tolist(), standardised([5.0, 5.0]).tolist()
    ([-1.225, 0.0, 1.225], [0.0, 0.0])
    """
    x = np.asarray(x, dtype=np.float64)
    sd = x.std()
    return (x - x.mean()) / sd if sd > 0 else np.zeros_like(x)


def fused(first, second, weight: float = TUNING.rerank_weight) -> np.ndarray:
    """The candidates' combined score: standardised first-stage score + ``weight`` × standardised
    second-stage score. Either stage alone loses passages the other ranks right (docs/design.md,
    "Quality profile"); with no first-stage scores (all equal) it is the second stage's order.

    >>> fused([3.0, 2.0, 1.0], [0.1, 0.5, 0.2]).argmax(), fused([0.0, 0.0], [0.1, 0.5]).argmax()
    (np.int64(1), np.int64(1))
    """
    return standardised(first) + weight * standardised(second)


class Reranker:
    def __init__(self, spec: str, depth: int = TUNING.rerank_depth):
        from rag.embed.embedder import Embedder

        self.spec = spec
        self.depth = depth
        self.embedder = Embedder(spec)
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def _vectors(self, hits: list[Hit]) -> np.ndarray:
        keys = [h.chunk_id + hashlib.sha1(h.text.encode()).hexdigest()[:12] for h in hits]
        with self._lock:
            todo = [(key, embedded_text(h.title, h.text))
                    for key, h in zip(keys, hits) if key not in self._cache]
        if todo:
            vecs = self.embedder.embed_passages([t for _, t in todo])
            with self._lock:
                self._cache.update(zip([k for k, _ in todo], vecs))
        return np.stack([self._cache[key] for key in keys])

    def rerank(self, question: str, hits: list[Hit]) -> list[Hit]:
        """``hits`` (the first ``depth`` of them) best first by :func:`fused` scores.

        ``Hit.score`` keeps the first stage's cosine (abstention is calibrated on it).
        """
        head = hits[: self.depth]
        if not head:
            return []
        second = self._vectors(head) @ self.embedder.embed_queries([question])[0]
        scores = fused([h.rank_score for h in head], second)
        ordered = [head[i] for i in np.argsort(-scores, kind="stable")]
        return [replace(h, rank=i) for i, h in enumerate(ordered + hits[self.depth:], 1)]
