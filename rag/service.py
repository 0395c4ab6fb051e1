"""What every face calls (HTTP API, Gradio API, CLI, LangChain): search and ask, and the one
home of their JSON shapes.

Example:
    >>> from rag.hits import Hit
    >>> hit_json(Hit(1, 0.812345, "a", "a::0", "T", "bbc", "", "2018-05-02", "text"))["score"]
    0.8123
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rag.answer import Answer, Citation, answer
from rag.hits import Filters, Hit

HIT_FIELDS = ("rank", "score", "article_id", "chunk_id", "title", "source", "url", "date", "text")
CITATION_FIELDS = ("n", "article_id", "chunk_id", "title", "source", "url", "date", "quote")
ANSWER_K = 6  # passages an answer reads (more than a result list: evidence may sit lower)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _text(v: str) -> str:
    if _SURROGATE.search(v):  # JSON can carry them, UTF-8 cannot: refuse here, not with a 500 later
        raise ValueError("contains a lone UTF-16 surrogate (invalid Unicode); send valid UTF-8 text")
    return v


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str = Field(max_length=20_000)

    @field_validator("content")
    @classmethod
    def _valid(cls, v: str) -> str:
        return _text(v)


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

    @field_validator("question")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("question is blank")
        return _text(v.strip())

    def filters(self) -> Filters:
        return Filters(sources=tuple(self.sources or ()),
                       date_from=self.date_from.isoformat() if self.date_from else None,
                       date_to=self.date_to.isoformat() if self.date_to else None)


def safe_url(url: str) -> str:
    """Only http(s) links leave the index: a ``javascript:`` URL from an article is dropped.

    >>> safe_url("https://bbc.com/x"), safe_url("javascript:alert(1)"), safe_url(" JavaScript:x")
    ('https://bbc.com/x', '', '')
    """
    return url if re.match(r"^https?://", url or "", re.I) else ""


def hit_json(h: Hit) -> dict:
    out = {k: (round(h.score, 4) if k == "score" else getattr(h, k)) for k in HIT_FIELDS}
    return out | {"url": safe_url(h.url)}


def citation_json(c: Citation) -> dict:
    return {k: getattr(c, k) for k in CITATION_FIELDS} | {"url": safe_url(c.url)}


def answer_json(a: Answer) -> dict:
    return {"question": a.question, "answer": a.answer, "abstained": a.abstained, "confident": a.confident,
            "mode": a.mode, "invalid_citations": a.invalid_citations,
            "citations": [citation_json(c) for c in a.citations]}


def search(index, question: str, k: int = 5, filters: Filters | None = None) -> dict:
    """``{"question", "results": [hit…]}``: the passages users get for ``question``."""
    return {"question": question, "results": [hit_json(h) for h in index.search(question, k, filters)]}


def ask(index, question: str, k: int = ANSWER_K, filters: Filters | None = None,
        history: list[dict] | None = None, llm=None) -> Answer:
    """The cited answer: written by ``llm`` (a LangChain chat model) when given, else extractive."""
    if llm is not None:
        from rag.generate import generate

        return generate(index, question, llm, k, filters, history)
    return answer(index, question, k, filters, history)
