"""What every face calls (HTTP API, Gradio API, CLI, LangChain): search and ask, and the one
home of their JSON shapes.

Example:
    >>> from rag.hits import Hit
    >>> hit_json(Hit(1, 0.812345, "a", "a::0", "T", "bbc", "", "2018-05-02", "text"))["score"]
    0.8123
"""

from __future__ import annotations

from rag.answer import Answer, Citation, answer
from rag.hits import Filters, Hit

HIT_FIELDS = ("rank", "score", "article_id", "chunk_id", "title", "source", "url", "date", "text")
CITATION_FIELDS = ("n", "article_id", "chunk_id", "title", "source", "url", "date", "quote")
ANSWER_K = 6  # passages an answer reads (more than a result list: evidence may sit lower)


def hit_json(h: Hit) -> dict:
    return {k: (round(h.score, 4) if k == "score" else getattr(h, k)) for k in HIT_FIELDS}


def citation_json(c: Citation) -> dict:
    return {k: getattr(c, k) for k in CITATION_FIELDS}


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
