"""Id formats, in one place: chunk ids ``<article id>::<n>``, sentence ids ``<chunk id>#<start>``,
and the ids of records that bring none, ``<file>#<n>`` (the n-th line or list item).

A sentence id is derived from its chunk's text (the offset of the sentence in the chunk), so
sentence vectors are found and deleted by id, never by a ``where`` scan, and a sentence id
names its chunk without fetching metadata.

Example:
    >>> chunk_id("seed-article.txt", 1), article_of("a::b::2"), chunk_of("a::0#57")
    ('seed-article.txt::1', 'a::b', 'a::0')
    >>> sentence_ids([("a::0", "First sentence here, long enough. Short.")])
    ['a::0#0']
"""

from __future__ import annotations

from rag.text import sentence_spans
from rag.tuning import TUNING


def record_id(file: str, n: int) -> str:
    return f"{file}#{n}"


def chunk_id(article_id: str, n: int) -> str:
    return f"{article_id}::{n}"


def article_of(chunk_id: str) -> str:
    return chunk_id.rsplit("::", 1)[0]


def sentence_id(chunk_id: str, start: int) -> str:
    return f"{chunk_id}#{start}"


def chunk_of(sentence_id: str) -> str:
    return sentence_id.rsplit("#", 1)[0]


def vector_sentences(text: str) -> list[tuple[int, int]]:
    """The (start, end) spans of a chunk's sentences that get a vector of their own."""
    return [(a, b) for a, b in sentence_spans(text) if b - a >= TUNING.min_sentence_chars]


def sentence_ids(chunks: list[tuple[str, str]]) -> list[str]:
    """Ids of the stored sentence vectors of (chunk id, chunk text) pairs."""
    return [sentence_id(cid, a) for cid, text in chunks for a, _ in vector_sentences(text)]
