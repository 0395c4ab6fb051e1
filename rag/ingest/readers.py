"""Read articles from files and folders; report bad input by file and line, never stop on it.

Formats: ``.txt``/``.md`` (optional ``---`` front matter: title, source, url, date, …),
``.json`` (one record or a list), ``.jsonl`` and ``.jsonl.gz`` (one record a line).
Records carry ``id``, ``title``, ``text`` and any of abstract, source, url, date,
category, author.

Example:
    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.jsonl").write_text('{"id": "x", "title": "T", "text": "Body."}\\nnot json\\n')
    >>> items = list(read_paths([d]))
    >>> items[0].id, items[1].line, items[1].message
    ('x', 2, 'broken JSON: Expecting value at column 1 (fix or remove the line)')
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rag.ids import record_id
from rag.text import sentence_spans

SUFFIXES = (".txt", ".md", ".json", ".jsonl", ".jsonl.gz")
META_FIELDS = ("abstract", "source", "url", "date", "category", "author")
_TITLE_MAX = 90
REQUEST = "request"  # the origin of posted records: not a file, never pruned
EMPTY = "empty file (nothing to index: remove it or add an article)"
BINARY = "binary file (NUL bytes), not UTF-8 text: give .txt, .md, .json or .jsonl files"
# Trailing "source" lines as news sites print them: "المصدر: …" / "Source: …".
_SOURCE_LINE = re.compile(r"^\s*(?:المصدر|المصادر|source)\s*[:：]\s*(.{2,80}?)\s*$", re.I)


@dataclass
class Article:
    id: str
    title: str
    text: str
    abstract: str = ""
    source: str = ""
    url: str = ""
    date: str = ""
    category: str = ""
    author: str = ""
    origin: str = ""  # file it came from
    line: int = 0  # line in that file (1-based; 0 for whole-file articles)

    def content_hash(self, salt: str = "") -> str:
        """Hash of everything that ends up in the index (origin and line excluded)."""
        data = {k: v for k, v in asdict(self).items() if k not in ("origin", "line")}
        raw = json.dumps(data, ensure_ascii=False, sort_keys=True) + salt
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass
class Problem:
    """Bad input: where it is and what is wrong."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


@dataclass
class FileResult:
    """Bookkeeping per file, so that pruning never touches a file that was read with errors."""

    path: str
    complete: bool = True
    ids: set[str] = field(default_factory=set)


def supported(path: Path) -> bool:
    return path.name.endswith(SUFFIXES)


def _is_article_file(f: Path, root: Path) -> bool:
    """Inside folders: supported suffix, not hidden, and not a README (documentation)."""
    hidden = any(part.startswith(".") for part in f.relative_to(root).parts)
    return f.is_file() and supported(f) and not hidden and not f.name.upper().startswith("README.")


def list_files(paths: Iterable[str | Path]) -> Iterator[tuple[Path, Path]]:
    """(file, root) pairs; the root makes ids relative. Sorted for a stable order."""
    for p in map(Path, paths):
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if _is_article_file(f, p):
                    yield f, p
        else:
            yield p, p.parent


def read_paths(paths: Iterable[str | Path], files: list[FileResult] | None = None) -> Iterator[Article | Problem]:
    """Articles and problems, in file order. ``files`` (if given) receives per-file results."""
    for f, root in list_files(paths):
        res = FileResult(str(f))
        if files is not None:
            files.append(res)
        for item in read_file(f, root):
            if isinstance(item, Problem):
                res.complete = False
            else:
                res.ids.add(item.id)
            yield item


def read_records(records: list) -> Iterator[Article | Problem]:
    """Records posted to ``rag serve`` (``POST /api/ingest``), checked like the lines of a
    .jsonl file; a problem names the record (1-based). A record without an id is named after
    its text, so posting it again changes nothing.

    >>> items = list(read_records([{"id": "a", "text": "Body."}, {"title": "no text"}]))
    >>> items[0].id, str(items[1])
    ('a', "request:2: record has no text (a 'text' field with the article body is required)")
    """
    for i, rec in enumerate(records, 1):
        body = rec.get("text") if isinstance(rec, dict) else None
        digest = hashlib.sha256(str(body).encode("utf-8", "replace")).hexdigest()[:16]
        yield _from_record(rec, REQUEST, i, record_id(REQUEST, digest))


def read_file(path: Path, root: Path) -> Iterator[Article | Problem]:
    """Articles of one file, or problems naming file and line."""
    name = str(path)
    rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
    if not path.exists():
        yield Problem(name, 0, "no such file or folder (check the path; a folder is read recursively)")
        return
    if not path.is_file():  # reading a FIFO or a device would wait for ever
        yield Problem(name, 0, "not a regular file (a FIFO, socket or device): give files or folders of articles")
        return
    if not supported(path):
        yield Problem(name, 0, f"unsupported file type (expected one of {', '.join(SUFFIXES)})")
        return
    if name.endswith((".jsonl", ".jsonl.gz")):
        yield from _read_jsonl(path, name, rel)
        return
    try:
        raw = path.read_bytes()
    except OSError as e:
        yield Problem(name, 0, f"cannot read: {e.strerror or e}")
        return
    if not raw.strip():
        yield Problem(name, 0, EMPTY)
        return
    if b"\x00" in raw[:4096]:
        yield Problem(name, 0, BINARY)
        return
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        yield Problem(name, line, f"invalid UTF-8 (byte {raw[e.start]:#04x} at offset {e.start}): save the file as UTF-8")
        return
    if name.endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            yield Problem(name, e.lineno, f"broken JSON: {e.msg} at column {e.colno} (fix or remove the line)")
            return
        records = data if isinstance(data, list) else [data]
        for i, rec in enumerate(records):
            yield _from_record(rec, name, 0, record_id(rel, i) if len(records) > 1 else rel)
    else:
        yield _from_text(text, name, rel)


def _read_jsonl(path: Path, name: str, rel: str) -> Iterator[Article | Problem]:
    """One record a line, streamed: a file cut short (a truncated .gz) keeps the records before the cut."""
    lineno, records = 0, 0
    try:
        with (gzip.open if name.endswith(".gz") else open)(path, "rb") as fh:
            for lineno, line in enumerate(fh, 1):
                if lineno == 1 and b"\x00" in line[:4096]:
                    yield Problem(name, 0, BINARY)
                    return
                if not line.strip():
                    continue
                records += 1
                try:
                    rec = json.loads(line.decode("utf-8"))
                except UnicodeDecodeError as e:
                    yield Problem(name, lineno, f"invalid UTF-8 (byte {line[e.start]:#04x} at column {e.start + 1}): "
                                                    "save the file as UTF-8")
                    continue
                except json.JSONDecodeError as e:
                    yield Problem(name, lineno, f"broken JSON: {e.msg} at column {e.colno} (fix or remove the line)")
                    continue
                yield _from_record(rec, name, lineno, record_id(rel, lineno))
    except (OSError, EOFError, zlib.error) as e:
        yield Problem(name, lineno + 1, f"cannot read further ({e}): the file is cut short or corrupt; the "
                                        f"{records} lines before were read. Re-create it (gzip -t tests a .gz).")
        return
    if not records:
        yield Problem(name, 0, EMPTY)


def _from_record(rec: object, name: str, lineno: int, fallback_id: str) -> Article | Problem:
    if not isinstance(rec, dict):
        return Problem(name, lineno, f"expected a JSON object with id, title and text, got {type(rec).__name__}")
    text = rec.get("text")
    if not isinstance(text, str) or not text.strip():
        return Problem(name, lineno, "record has no text (a 'text' field with the article body is required)")
    meta = {k: str(rec[k]).strip() for k in META_FIELDS if rec.get(k) not in (None, "")}
    art_id = str(rec.get("id") or "").strip() or fallback_id
    title = str(rec.get("title") or "").strip() or _title_from_text(text)
    return Article(id=art_id, title=title, text=text, origin=name, line=lineno, **meta)


def _from_text(text: str, name: str, rel: str) -> Article | Problem:
    meta, body = _front_matter(text)
    if not body.strip():
        return Problem(name, 0, "no text after the front matter (the article body goes after the closing ---)")
    title = meta.pop("title", "")
    lines = [ln for ln in body.splitlines() if ln.strip()]
    if not title and lines and lines[0].lstrip().startswith("# "):
        title = lines[0].lstrip()[2:].strip()
    if "source" not in meta and lines and (m := _SOURCE_LINE.match(lines[-1])):
        meta["source"] = m.group(1)
    art_id = meta.pop("id", "") or rel
    meta = {k: v for k, v in meta.items() if k in META_FIELDS}
    return Article(id=art_id, title=title or _title_from_text(body), text=body, origin=name, **meta)


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    """``key: value`` lines between ``---`` fences at the top (a YAML subset)."""
    if not text.startswith("---"):
        return {}, text
    end = text.find("\n---", 3)
    if end < 0:
        return {}, text
    meta = {}
    for line in text[3:end].splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            meta[key.strip().lower()] = value.strip().strip("\"'")
    body = text[end + 4 :]
    return meta, body.lstrip("\n")


def _title_from_text(text: str) -> str:
    """No title given: the first sentence, cut at a word boundary near 90 characters."""
    spans = sentence_spans(text)
    first = text[spans[0][0] : spans[0][1]] if spans else text.strip()
    if len(first) <= _TITLE_MAX:
        return first
    cut = first.rfind(" ", 0, _TITLE_MAX)
    return first[: cut if cut > 0 else _TITLE_MAX].rstrip("،, ") + "…"
