"""``rag serve --watch DIR``: articles dropped into a folder become searchable while serving.

Every change under the folder (debounced by watchfiles, so a file still being copied settles
first) runs the incremental ingest of the whole folder: new and changed articles are embedded,
unchanged ones skipped by their hash, articles of deleted files removed. A file caught half
written is reported and left for the next change; nothing already indexed is lost.

Example:
    >>> stop = threading.Event()                                # doctest: +SKIP
    >>> threading.Thread(target=watch, args=(index, Path("inbox"), stop), daemon=True).start()  # doctest: +SKIP
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from rag.ingest.readers import supported


def _relevant(_change, path: str) -> bool:
    """Article files only, not editors' temporary or hidden files."""
    p = Path(path)
    return not p.name.startswith(".") and (supported(p) or not p.suffix)  # no suffix: maybe a folder


def catch_up(index, folder: Path) -> None:
    """One incremental pass over ``folder``, its outcome on the server's log."""
    try:
        report = index.ingest([folder], progress=False)
    except Exception as e:  # noqa: BLE001 - a failed pass must not stop watching; the next change retries
        print(f"watch {folder}: ingest failed ({type(e).__name__}: {e}); retried on the next change", file=sys.stderr)
        return
    if report.articles or report.removed or report.failed:
        print(f"watch {folder}: {report.summary()}", file=sys.stderr, flush=True)


def watch(index, folder: Path, stop: threading.Event) -> None:
    """Ingest ``folder`` now and after every change under it, until ``stop`` is set."""
    from watchfiles import watch as changes

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    catch_up(index, folder)  # what arrived while the server was down
    for _ in changes(folder, watch_filter=_relevant, stop_event=stop, debounce=1000, step=200,
                     raise_interrupt=False):
        catch_up(index, folder)
