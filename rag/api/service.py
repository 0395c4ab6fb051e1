"""What every face calls (HTTP API, Gradio API, CLI, LangChain): search and ask, and the one
home of their JSON shapes.

Example:
    >>> from rag.hits import Hit
    >>> hit_json(Hit(1, 0.812345, "a", "a::0", "T", "bbc", "", "2018-05-02", "text"))["score"]
    0.8123
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rag.answers.extractive import Answer, Citation, answer
from rag.hits import Filters, Hit

ANSWER_K = 6  # passages an answer reads (more than a result list: evidence may sit lower)


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str = Field(max_length=20_000)


class Query(BaseModel):
    """A question with optional filters, as every face accepts it. Unknown fields are refused
    (typos should not pass).

    >>> Query(question="  Iran? ").question, Query(question="x", k=3, sources=["bbc"]).filters().sources
    ('Iran?', ('bbc',))
    """

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=2000, description="English or Arabic")
    k: int = Field(5, ge=1, le=50, description="passages to retrieve")
    sources: list[str] | None = Field(None, max_length=50, description="outlet codes or names")
    date_from: date | None = None
    date_to: date | None = None
    history: list[Turn] | None = Field(None, max_length=50, description="earlier turns of a chat")
    mode: Literal["extractive", "llm"] = Field("extractive", description="llm needs a configured LLM (ask only)")
    stream: bool = Field(False, description="ask only: server-sent events (status, draft, answer)")

    @field_validator("question")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("question is blank")
        return v.strip()

    def filters(self) -> Filters:
        return Filters(sources=tuple(self.sources or ()),
                       date_from=self.date_from.isoformat() if self.date_from else None,
                       date_to=self.date_to.isoformat() if self.date_to else None)


def first_error(errors: list[dict], skip: int = 0) -> tuple[str, str]:
    """(field, "field: what is wrong") of the first of pydantic ``errors`` (``skip`` leading
    parts of its location, e.g. FastAPI's ``body``); the input itself is never repeated.

    >>> first_error([{"loc": ("body", "rag", "k"), "msg": "Input should be greater than or equal to 1"}], skip=1)
    ('rag.k', 'rag.k: Input should be greater than or equal to 1')
    """
    field = ".".join(map(str, errors[0]["loc"][skip:]))
    return field, f"{field}: {errors[0]['msg']}"


def safe_url(url: str) -> str:
    """Only http(s) links leave the index: a ``javascript:`` URL from an article is dropped.

    >>> safe_url("https://bbc.com/x"), safe_url("javascript:alert(1)"), safe_url(" JavaScript:x")
    ('https://bbc.com/x', '', '')
    """
    return url if re.match(r"^https?://", url or "", re.I) else ""


class HitOut(BaseModel):
    """One passage of a search result."""

    rank: int
    score: float = Field(description="cosine similarity of passage and question (dense, 4 decimals)")
    article_id: str
    chunk_id: str = Field(description="<article id>::<n>")
    title: str
    source: str
    url: str = Field(description="http(s) link, or empty")
    date: str
    text: str = Field(description="the passage, exactly as stored")


class SearchOut(BaseModel):
    question: str
    results: list[HitOut]


class CitationOut(BaseModel):
    """One numbered source of an answer; ``quote`` occurs verbatim in the text of ``chunk_id``."""

    n: int
    article_id: str
    chunk_id: str
    title: str
    source: str
    url: str
    date: str
    quote: str
    point: int = Field(description="citations with the same point tell one fact (several outlets)")


class AnswerOut(BaseModel):
    question: str
    answer: str = Field(description="text with [n] markers")
    abstained: bool = Field(description="true when the sources do not answer the question")
    confident: bool
    mode: Literal["extractive", "llm"]
    invalid_citations: int = Field(description="LLM lines without a valid citation (dropped, never shown)")
    checked: int = Field(0, description="LLM sentences shown, each checked against its quote")
    replaced: int = Field(0, description="LLM sentences that failed the check, shown as their quote instead")
    citations: list[CitationOut]


class IngestIn(BaseModel):
    """Articles for ``POST /api/ingest``: each record as a line of a .jsonl file."""

    model_config = ConfigDict(extra="forbid")

    articles: list = Field(min_length=1, max_length=1000, description=(
        "records with text and any of id, title, abstract, source, url, date, category, author; "
        "a record whose id is indexed replaces that article"))


class ProblemOut(BaseModel):
    record: int = Field(description="1-based position in ``articles``")
    message: str


class IngestOut(BaseModel):
    articles: int = Field(description="new or changed, now searchable")
    chunks: int
    skipped: int = Field(description="unchanged")
    failed: int
    seconds: float
    problems: list[ProblemOut]
    index_articles: int
    index_chunks: int


def ingest_json(index, records: list) -> dict:
    """Index posted records; the report with each refused record's position and reason."""
    report = index.ingest_records(records)
    articles, chunks = index.count()
    return IngestOut(articles=report.articles, chunks=report.chunks, skipped=report.skipped, failed=report.failed,
                     seconds=round(report.seconds, 2), index_articles=articles, index_chunks=chunks,
                     problems=[ProblemOut(record=p.line, message=p.message) for p in report.problems]).model_dump()


def hit_json(h: Hit) -> dict:
    fields = {k: getattr(h, k) for k in HitOut.model_fields}
    return HitOut(**fields | {"score": round(h.score, 4), "url": safe_url(h.url)}).model_dump()


def citation_json(c: Citation) -> dict:
    return CitationOut(**{k: getattr(c, k) for k in CitationOut.model_fields} | {"url": safe_url(c.url)}).model_dump()


def answer_json(a: Answer) -> dict:
    return AnswerOut(question=a.question, answer=a.answer, abstained=a.abstained, confident=a.confident,
                     mode=a.mode, invalid_citations=a.invalid_citations, checked=a.checked, replaced=a.replaced,
                     citations=[citation_json(c) for c in a.citations]).model_dump()


def search(index, question: str, k: int = 5, filters: Filters | None = None) -> dict:
    """``{"question", "results": [hit…]}``: the passages users get for ``question``."""
    return {"question": question, "results": [hit_json(h) for h in index.search(question, k, filters)]}


def ask(index, question: str, k: int = ANSWER_K, filters: Filters | None = None,
        history: list[dict] | None = None, llm=None) -> Answer:
    """The cited answer: written by ``llm`` (a LangChain chat model) when given, else extractive."""
    if llm is not None:
        from rag.answers.generate import generate

        return generate(index, question, llm, k, filters, history)
    return answer(index, question, k, filters, history)


def ask_events(index, question: str, k: int = ANSWER_K, filters: Filters | None = None,
               history: list[dict] | None = None, llm=None) -> Iterator[tuple[str, str | dict]]:
    """The answer as events: ``("status", text)``, then with ``llm`` ``("draft", line)`` for each
    line as soon as it is checked, and last ``("answer", answer JSON)``."""
    yield "status", "searching the articles"
    if llm is None:
        yield "answer", answer_json(ask(index, question, k, filters, history))
        return
    from rag.answers.generate import stream

    for part in stream(index, question, llm, k, filters, history):
        if isinstance(part, Answer):
            yield "answer", answer_json(part)
        else:
            yield "draft", part
