"""The server of ``rag serve``: the JSON API (FastAPI), the chat UI mounted at ``/``, and launch.

One process owns the index; the API answers with the same JSON as the CLI's ``--json``.
OpenAPI schema at ``/openapi.json``, interactive docs at ``/docs``.

Example:
    >>> import httpx                                                     # doctest: +SKIP
    >>> httpx.post("http://127.0.0.1:7860/api/ask",                       # doctest: +SKIP
    ...            json={"question": "What did Russia say about the Gulf alliance?"}).json()
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Literal

from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel, Field

from rag import __version__
from rag.answers.generate import status as llm_status
from rag.api import service
from rag.api.openai_api import Refused, openai_router
from rag.api.service import AnswerOut, IngestIn, IngestOut, Query, SearchOut
from rag.index import Index
from ui.app import CSS, build_app


class HealthOut(BaseModel):
    status: str
    version: str
    articles: int
    chunks: int
    sentences: int
    model: str
    dim: int | None
    layout: str | None = Field(description="what the index stores (a new layout needs a rebuild)")
    llm: bool = Field(description="a language model is configured")
    mode: Literal["extractive", "llm"] = Field(description="llm when the configured model answers now")
    llm_ready: bool
    hint: str = Field(description="the answer mode in words, and how to turn the local model on")


def sse(event: str, data) -> str:
    """One server-sent event, its data as JSON.

    >>> sse("status", "searching")
    'event: status\\ndata: "searching"\\n\\n'
    """
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _basic_auth(auth: tuple[str, str] | None):
    """A dependency that checks HTTP basic credentials when ``auth`` is set."""
    if auth is None:
        return []
    basic = HTTPBasic()

    def check(cred: HTTPBasicCredentials = Depends(basic)) -> None:
        ok = secrets.compare_digest(cred.username.encode(), auth[0].encode()) & \
            secrets.compare_digest(cred.password.encode(), auth[1].encode())
        if not ok:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong user or password",
                                headers={"WWW-Authenticate": "Basic"})

    return [Depends(check)]


def build_api(index: Index, auth: tuple[str, str] | None = None, llm=None) -> FastAPI:
    """FastAPI app with ``/api/search``, ``/api/ask``, ``/api/ingest`` and ``/api/health`` over ``index``.

    With ``auth=(user, password)`` every endpoint needs HTTP basic credentials; ``llm`` (a
    LangChain chat model) enables ``"mode": "llm"`` on ``/api/ask``.
    """
    # The schema and docs pages are routes of our own, so that auth covers them like the rest.
    app = FastAPI(title="News QA API", version=__version__, dependencies=_basic_auth(auth),
                  description="Cited answers and passage search over the indexed news articles.",
                  docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Where and what, never the input echoed back: it may not even be encodable (a lone surrogate).
        errors = [{k: e[k] for k in ("type", "loc", "msg") if k in e} for e in exc.errors()]
        if request.url.path.startswith("/v1/"):  # OpenAI clients read {"error": {"message"}} only
            field, message = service.first_error(errors, skip=1)
            return Refused(422, message, field).response()
        return JSONResponse({"detail": errors}, status_code=422)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi() -> dict:
        return app.openapi()

    @app.get("/docs", include_in_schema=False)
    def docs():
        return get_swagger_ui_html(openapi_url="/openapi.json", title="News QA API")

    @app.get("/redoc", include_in_schema=False)
    def redoc():
        return get_redoc_html(openapi_url="/openapi.json", title="News QA API")

    @app.post("/api/search", response_model=SearchOut)
    def search(q: Query) -> dict:
        return service.search(index, q.question, q.k, q.filters())

    @app.post("/api/ask", response_model=AnswerOut, responses={200: {"content": {"text/event-stream": {}}, "description":
              "with \"stream\": true, server-sent events: status, draft (unchecked LLM text), answer (AnswerOut)"}})
    def ask(q: Query):
        history = [t.model_dump() for t in q.history] if q.history else None
        if q.mode == "llm" and llm is None:
            raise HTTPException(422,
                                "mode 'llm' needs a language model: start the server with --llm-url")
        args = (index, q.question, max(q.k, service.ANSWER_K), q.filters(), history, llm if q.mode == "llm" else None)
        if q.stream:
            return StreamingResponse((sse(e, d) for e, d in service.ask_events(*args)), media_type="text/event-stream")
        return service.answer_json(service.ask(*args))

    @app.post("/api/ingest", response_model=IngestOut)
    def ingest(body: IngestIn) -> dict:
        """Add or replace articles while serving: searchable when this returns. A refused record
        is reported by its position; the others are indexed."""
        return service.ingest_json(index, body.articles)

    @app.get("/api/health", response_model=HealthOut)
    def health() -> dict:
        articles, chunks = index.count()
        info = index.info
        return {"status": "ok", "version": __version__, "articles": articles, "chunks": chunks,
                "sentences": index.store.size("sentences"), "model": info.model if info else index.settings.model,
                "dim": info.dim if info else None, "layout": info.layout if info else None, "llm": llm is not None,
                **{k: v for k, v in llm_status(llm).items() if k != "llm_configured"}}

    app.include_router(openai_router(index, llm))
    return app


def create_app(index, auth: tuple[str, str] | None = None, llm=None):
    """One FastAPI app: the JSON API under /api and the chat UI at /."""
    import gradio as gr  # after ui.app, which turns Gradio's analytics off before gradio loads

    app = build_api(index, auth, llm)
    return gr.mount_gradio_app(app, build_app(index, llm), path="/", css=CSS, auth=auth, footer_links=["api"],
                               show_error=True)


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc arenas (as ``MALLOC_ARENA_MAX`` would) before the server's threads start:
    one arena per worker thread kept freed query buffers, 1,524 → 982 MB peak at 38 % of ANT
    (evals/RESULTS.md, 2026-12-03f). False where there is no glibc."""
    import ctypes
    import ctypes.util

    try:
        return bool(ctypes.CDLL(ctypes.util.find_library("c")).mallopt(-8, arenas))  # -8: M_ARENA_MAX
    except (OSError, AttributeError, TypeError):
        return False


def launch(index, host: str = "127.0.0.1", port: int = 7860, auth: tuple[str, str] | None = None, llm=None,
           watch: Path | None = None):
    """Serve UI and API (loopback by default), ingesting the folder ``watch`` as it changes.
    Blocks until stopped."""
    import threading

    import uvicorn

    app = create_app(index, auth, llm)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    stop = threading.Event()
    if watch is not None:
        from rag.ingest.watch import watch as watch_folder

        threading.Thread(target=watch_folder, args=(index, watch, stop), daemon=True, name="watch").start()
        print(f"watching {watch}: new and changed articles are indexed as they arrive", flush=True)
    print(f"chat UI on {url}  ·  API docs on {url}docs", flush=True)
    index.store.lock.announce(url)  # other `rag` commands on this index ask here
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        stop.set()
