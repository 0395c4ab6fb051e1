"""An OpenAI-compatible chat endpoint, so Open WebUI, LibreChat or the ``openai`` client can ask.

``POST /v1/chat/completions`` answers the last user message (earlier turns are the history)
with the same checked answer as ``/api/ask``: the text carries its [n] markers, and the
citations travel in the extension field ``citations`` (the objects of ``/api/ask``). Retrieval
filters go in the extension field ``rag`` (``k``, ``sources``, ``date_from``, ``date_to``).
Model ``newsrag`` answers extractively, ``newsrag-llm`` with the server's LLM (when it has one).
Streaming sends only checked text: while an LLM writes, the stream carries SSE comments.

Example:
    >>> from openai import OpenAI                                              # doctest: +SKIP
    >>> client = OpenAI(base_url="http://127.0.0.1:7860/v1", api_key="none")   # doctest: +SKIP
    >>> r = client.chat.completions.create(model="newsrag", messages=[         # doctest: +SKIP
    ...     {"role": "user", "content": "What did Russia say about the Gulf alliance?"}],
    ...     extra_body={"rag": {"sources": ["sputnik"]}})
    >>> r.choices[0].message.content, r.model_extra["citations"][0]["quote"]    # doctest: +SKIP
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import date
from typing import Literal

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rag.api import service

MODELS = {"newsrag": "extractive answers quoted from the articles",
          "newsrag-llm": "answers written by the server's LLM, every citation checked"}


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")  # name, tool_calls…: accepted, unused

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict] | None = None

    def text(self) -> str:
        """The content as text (a list of parts keeps its text parts)."""
        if isinstance(self.content, list):
            return " ".join(p.get("text", "") for p in self.content if p.get("type") == "text")
        return self.content or ""


class RagOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    k: int = Field(service.ANSWER_K, ge=1, le=50)
    sources: list[str] | None = Field(None, max_length=50)
    date_from: date | None = None
    date_to: date | None = None


class ChatRequest(BaseModel):
    # OpenAI clients send temperature, top_p, user…: accepted and ignored (answers are deterministic).
    model_config = ConfigDict(extra="allow")

    model: str = "newsrag"
    messages: list[Message] = Field(min_length=1)
    stream: bool = False
    rag: RagOptions = Field(default_factory=RagOptions, description="extension: retrieval options")


class ChatMessageOut(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class ChoiceOut(BaseModel):
    index: int = 0
    message: ChatMessageOut
    finish_reason: Literal["stop"] = "stop"


class ChatCompletionOut(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChoiceOut]
    usage: dict[str, int] = Field(default_factory=lambda: {"prompt_tokens": 0, "completion_tokens": 0,
                                                            "total_tokens": 0})
    citations: list[service.CitationOut] = Field(description="extension: the answer's sources, as /api/ask")
    abstained: bool = Field(description="extension: true when the sources do not answer")


class Refused(Exception):
    """A request this endpoint cannot answer, reported in OpenAI's error shape."""

    def __init__(self, code: int, message: str, param: str | None = None):
        super().__init__(message)
        self.code, self.param = code, param

    def response(self) -> JSONResponse:
        kind = "not_found_error" if self.code == 404 else "invalid_request_error"
        return JSONResponse({"error": {"message": str(self), "type": kind, "param": self.param, "code": None}},
                            status_code=self.code)


def _query(req: ChatRequest, llm) -> tuple[service.Query, object]:
    """The /api query for a chat request, and the LLM to write with (None: extractive)."""
    if req.model not in MODELS or (req.model == "newsrag-llm" and llm is None):
        offered = [m for m in MODELS if m == "newsrag" or llm is not None]
        raise Refused(status.HTTP_404_NOT_FOUND, f"model {req.model!r} is not offered here; use one of {offered}",
                      "model")
    turns = [m for m in req.messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user":
        raise Refused(422, "the last message must be the user's question", "messages")
    try:
        q = service.Query(question=turns[-1].text(), history=[{"role": t.role, "content": t.text()} for t in turns[:-1]],
                          **req.rag.model_dump())
    except ValidationError as e:
        field, message = service.first_error(e.errors())
        raise Refused(422, message, field) from None
    return q, llm if req.model == "newsrag-llm" else None


def _chunk(cid: str, created: int, model: str, delta: dict, finish: str | None = None, **extra) -> str:
    body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


def openai_router(index, llm=None) -> APIRouter:
    """``/v1/models`` and ``/v1/chat/completions`` over ``index``."""
    router = APIRouter(prefix="/v1", tags=["OpenAI-compatible"])

    @router.get("/models")
    def models() -> dict:
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "newsrag", "description": d}
                for m, d in MODELS.items() if m == "newsrag" or llm is not None]
        return {"object": "list", "data": data}

    @router.post("/chat/completions", response_model=ChatCompletionOut,
                 responses={200: {"content": {"text/event-stream": {}},
                                  "description": "with stream: chat.completion.chunk events, then [DONE]"}})
    def chat(req: ChatRequest):
        try:
            q, writer = _query(req, llm)
        except Refused as e:
            return e.response()
        cid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        args = (index, q.question, q.k, q.filters(), [t.model_dump() for t in q.history or []] or None, writer)
        if not req.stream:
            ans = service.answer_json(service.ask(*args))
            return ChatCompletionOut(id=cid, created=created, model=req.model, citations=ans["citations"],
                                     abstained=ans["abstained"], choices=[ChoiceOut(message=ChatMessageOut(
                                         content=ans["answer"]))])

        def events():
            yield _chunk(cid, created, req.model, {"role": "assistant", "content": ""})
            for kind, data in service.ask_events(*args):
                if kind != "answer":
                    yield ": working\n\n"  # a comment: keeps the connection alive, shows nothing unchecked
                    continue
                for line in data["answer"].splitlines(keepends=True):
                    yield _chunk(cid, created, req.model, {"content": line})
                yield _chunk(cid, created, req.model, {}, "stop", citations=data["citations"],
                             abstained=data["abstained"])
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return router
