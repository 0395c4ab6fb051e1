"""Split an article into passages on Arabic-aware sentence boundaries, keeping offsets.

Example:
    >>> chunks = chunk_text("أ. " * 5, max_chars=6)
    >>> [(c.start, c.end, c.text) for c in chunks][:2]
    [(0, 5, 'أ. أ.'), (6, 11, 'أ. أ.')]
    >>> print(embedded_text("Title", "Passage."))
    Title
    Passage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.text import sentence_spans

CHUNKER_VERSION = "sent-pack-1"
_SOFT_BREAK = re.compile(r"[،,:;]\s|\s")


@dataclass(frozen=True)
class Chunk:
    """A passage: ``text == article_text[start:end]``."""

    index: int
    start: int
    end: int
    text: str


def _split_long(text: str, a: int, b: int, max_chars: int) -> list[tuple[int, int]]:
    """Cut a sentence longer than ``max_chars`` at the last comma or space before the limit."""
    out = []
    while b - a > max_chars:
        window = text[a : a + max_chars]
        cuts = [m.end() for m in _SOFT_BREAK.finditer(window) if m.end() > max_chars // 2]
        cut = a + (cuts[-1] if cuts else max_chars)
        out.append((a, cut))
        a = cut
        while a < b and text[a].isspace():
            a += 1
    if b > a:
        out.append((a, b))
    return out


def chunk_text(text: str, max_chars: int = 800) -> list[Chunk]:
    """Greedily pack whole sentences into passages of at most ``max_chars`` characters."""
    pieces = [p for a, b in sentence_spans(text) for p in _split_long(text, a, b, max_chars)]
    groups: list[tuple[int, int]] = []
    for a, b in pieces:
        if groups and b - groups[-1][0] <= max_chars:
            groups[-1] = (groups[-1][0], b)
        else:
            groups.append((a, b))
    return [Chunk(i, a, b, text[a:b]) for i, (a, b) in enumerate(groups)]


def embedded_text(title: str, passage: str) -> str:
    """What gets embedded for a passage: its article's title, a line break, the passage (the
    passage alone is stored and quoted; the title tells the model what the passage is about)."""
    return f"{title}\n{passage}" if title else passage
