"""One process owns an index directory (an embedded Chroma cannot be shared): a lock file says
which, and a running ``rag serve`` says where it answers, so other commands can ask it instead.

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> first = DirectoryLock(d)
    >>> try:
    ...     DirectoryLock(d)
    ... except IndexUnavailable as e:
    ...     print(str(e).split(".")[0])
    index ... is open in another process
    >>> first.release()
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

SERVED = ".served"  # written by `rag serve` beside the lock: where the owner of the index answers


class IndexUnavailable(RuntimeError):
    """The index cannot be used as asked; the message says what to do."""


class IndexServed(IndexUnavailable):
    """Another process owns the index and serves it at ``url``: ask there."""

    def __init__(self, message: str, url: str):
        super().__init__(message)
        self.url = url


class DirectoryLock:
    """An exclusive lock on ``path`` for this process, until :meth:`release`."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._file = open(self.path / ".lock", "a+")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.close()
            url = served_by(self.path)
            if url:
                raise IndexServed(
                    f"index {self.path} is served by `rag serve` at {url}: `rag ask`, `rag search` and "
                    f"`rag ingest` go through it (the API is at {url}docs); to remove, check or rebuild, "
                    "stop it first.", url) from None
            raise IndexUnavailable(
                f"index {self.path} is open in another process. Stop it first: one process owns an embedded "
                "Chroma directory (or use a Chroma server: RAG_CHROMA_URL).") from None
        (self.path / SERVED).unlink(missing_ok=True)  # we own the directory: a server that left it is gone

    def announce(self, url: str) -> None:
        """Say that this process serves the directory at ``url`` (stale once its pid is gone)."""
        (self.path / SERVED).write_text(json.dumps({"url": url, "pid": os.getpid()}))

    def release(self) -> None:
        if not self._file.closed:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()


def served_by(path: Path) -> str | None:
    """The URL of the `rag serve` serving ``path``, if the process that said so still runs."""
    try:
        facts = json.loads((Path(path) / SERVED).read_text())
        os.kill(facts["pid"], 0)  # signal 0: is it alive?
        return facts["url"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
