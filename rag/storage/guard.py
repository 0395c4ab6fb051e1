"""Questions and ingest at once in one process: a reader sees each article as it was before a
write or after it, never half of it (``rag serve`` answers while it ingests).

readerwriterlock's writer-preferring lock, so a stream of questions never starves an ingest,
made re-entrant per thread: an answer holds the read side across its several searches, each
of which takes it too, and a writer may read what it writes.

Example:
    >>> g = Guard()
    >>> with g.reading(), g.reading():
    ...     pass
    >>> with g.writing(), g.writing(), g.reading():
    ...     pass
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

from readerwriterlock import rwlock


class Guard:
    """Many readers or one writer."""

    def __init__(self):
        self._lock = rwlock.RWLockWrite()
        self._held = threading.local()  # what this thread holds: None, "read" or "write"

    @contextmanager
    def _hold(self, kind: str, lock):
        held = getattr(self._held, "kind", None)
        if held is not None:
            if kind == "write" and held == "read":  # would wait for itself for ever
                raise RuntimeError("a thread that reads the index cannot start writing it")
            yield
            return
        with lock():
            self._held.kind = kind
            try:
                yield
            finally:
                self._held.kind = None

    def reading(self):
        """Shared: other readers go on, writers wait."""
        return self._hold("read", self._lock.gen_rlock)

    def writing(self):
        """Exclusive: waits for the readers inside, holds new ones back."""
        return self._hold("write", self._lock.gen_wlock)
