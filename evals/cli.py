"""``python -m evals``: measure retrieval (and answers) on the evaluation sets, against a baseline.

Writes ``manifest.json``, ``questions.jsonl`` (one row per question and configuration),
``summary.json``, ``report.md`` and ``recall-at-k.png`` to ``--out``; exits 1 when a gated
metric drops below ``--baseline``.

Example:
    >>> main(["--sets", "xquad-en", "--limit", "50"])        # doctest: +SKIP
"""

from __future__ import annotations

import functools
import json
import platform
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Optional, get_args

import typer

from evals.datasets import SETS, own
from evals.metrics import ndcg_at_k, percentile, summarize
from evals.report import (
    compare,
    dir_size,
    plot_curves,
    recall_curve,
    report_markdown,
    significance,
    trec_qrels,
    trec_run,
)
from evals.run import CHUNK_K, _query_text, build_index, evaluate, evaluate_answers, open_existing
from rag.embed.embedder import pick_runtime, resolve_model, stored_vectors
from rag.retrieve.recipes import RECIPES
from rag.settings import DEFAULT_MODEL, Settings

RUNTIMES = get_args(Settings.model_fields["runtime"].annotation)

app = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False, help=__doc__.splitlines()[0])


def _git_version() -> str:
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True,
                              cwd=Path(__file__).parent, timeout=10).stdout.strip() or "unknown"
    except OSError:
        return "unknown"


@app.command()
def run(
    sets: Annotated[str, typer.Option(help=f"Comma-separated, of {', '.join(SETS)}.")] = "xquad-en,xquad-ar,arcd,news",
    configs: Annotated[str, typer.Option(help=f"Recipes to compare, of {', '.join(RECIPES)}.")] =
        "dense,sentences,bm25,hybrid,bm25:raw,hybrid:raw,bm25:fold,hybrid:fold",
    limit: Annotated[Optional[int], typer.Option(help="First N questions per set (a quick run).")] = None,
    model: Annotated[Optional[str], typer.Option(help=f"Embedding model id or path [env RAG_MODEL, "
                                                 f"default {DEFAULT_MODEL}].")] = None,
    baseline: Annotated[Optional[Path], typer.Option(
        help="summary.json to compare with; exit 1 when a gated metric drops (e.g. evals/baseline.json).")] = None,
    rerank_model: Annotated[Optional[str], typer.Option(
        help="Second stage for the rerank recipe (and the answers), e.g. embeddinggemma-300m.")] = None,
    llm_url: Annotated[Optional[str], typer.Option(
        help="Also evaluate LLM answers from this OpenAI-compatible endpoint.")] = None,
    llm_every: Annotated[int, typer.Option(help="LLM answers for every Nth question only (they are slow).")] = 1,
    tolerance: Annotated[float, typer.Option(help="Allowed drop for gated metrics.")] = 0.01,
    sentence_vectors: Annotated[Optional[str], typer.Option(
        help="How the indexes make sentence vectors: late or separate [default: the product's].")] = None,
    runtime: Annotated[Optional[str], typer.Option(
        help=f"What computes the vectors: {', '.join(RUNTIMES)} [default: the product's].")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Output folder [evals/runs/<time>].")] = None,
    questions: Annotated[Optional[Path], typer.Option(
        help="Your own questions (JSONL: question, gold, optional answer, answerable, id); replaces --sets.")] = None,
    corpus: Annotated[Optional[list[Path]], typer.Option(
        help="Your own articles for --questions: files or folders as `rag ingest` reads them (repeatable).")] = None,
    db: Annotated[Optional[Path], typer.Option(
        help="Measure --questions on this existing index (e.g. a whole archive) instead of --corpus; "
             "nothing is ingested.")] = None,
) -> int:
    """Evaluate the recipes on the sets; print the report."""
    out = out or Path("evals/runs") / time.strftime("%Y%m%d-%H%M%S")
    model = model or Settings().model
    unknown = [c for c in configs.split(",") if c not in RECIPES]
    unknown += [] if questions else [s for s in sets.split(",") if s not in SETS]
    unknown += [sentence_vectors] if sentence_vectors not in (None, "late", "separate") else []
    unknown += [runtime] if runtime not in (None, *RUNTIMES) else []
    if unknown:
        typer.echo(f"error: unknown set, recipe or sentence-vector mode: {', '.join(unknown)}", err=True)
        raise typer.Exit(2)
    if db and not questions:
        typer.echo("error: --db measures your own --questions; the named sets build their own indexes", err=True)
        raise typer.Exit(2)
    if questions:
        if not corpus and not db:
            typer.echo("error: --questions needs --corpus (the articles the gold ids name) or --db", err=True)
            raise typer.Exit(2)
        try:
            own_set = own(questions, corpus or [], limit)
        except (OSError, ValueError) as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2) from None
        wanted = [(own_set.name, lambda: own_set)]
    else:
        wanted = [(name, functools.partial(SETS[name], limit=limit)) for name in sets.split(",")]
    out.mkdir(parents=True, exist_ok=True)
    settings_kw = ({"model": model} | ({"sentence_vectors": sentence_vectors} if sentence_vectors else {})
                   | ({"runtime": runtime} if runtime else {}))
    chosen = runtime or Settings().runtime
    manifest = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "code_version": _git_version(),
                "model": model, "chunker": Settings().chunk_chars,
                "sentence_vectors": sentence_vectors or Settings().sentence_vectors, "chunk_k": CHUNK_K,
                "runtime": pick_runtime(chosen, resolve_model(model)), "stored_vectors": stored_vectors(chosen),
                "machine": f"{platform.machine()}, {platform.python_version()}", "sets": {}}
    results: dict[str, dict] = {}
    curves: dict[str, list[float]] = {}
    answers: dict[str, dict] = {}
    embedder = reranker = None
    if rerank_model:
        from rag.retrieve.rerank import Reranker

        reranker = Reranker(rerank_model)  # one for all sets: its vector cache is shared
        manifest["rerank_model"] = rerank_model
    llm = None
    if llm_url:
        from rag.answers.generate import chat_model

        llm = chat_model(Settings(llm_url=llm_url))
    per_question: dict[str, dict[str, list[float]]] = {}  # set → config → nDCG@10 per question
    (out / "trec").mkdir(exist_ok=True)
    with open(out / "questions.jsonl", "w", encoding="utf-8") as per_q:
        for name, load in wanted:
            es = load()
            if db:
                try:
                    index, facts = open_existing(db, settings_kw, embedder, reranker)
                except ValueError as e:
                    typer.echo(f"error: {e}", err=True)
                    raise typer.Exit(2) from None
            else:
                index, facts = build_index(es, settings_kw, embedder, reranker)
            embedder = index.embedder  # load the model once for all sets
            try:
                qvecs, embed_ms = [], []
                for q in es.questions:  # one at a time, as a user's question is embedded
                    t0 = time.perf_counter()
                    qvecs.append(index.embedder.embed_queries([_query_text(q)])[0])
                    embed_ms.append((time.perf_counter() - t0) * 1000)
                facts["query_embed_ms_p50"] = round(percentile(embed_ms, 50), 1)
                facts["query_embed_ms_p95"] = round(percentile(embed_ms, 95), 1)
                answerable = [{"id": q.id, "gold": q.gold} for q in es.questions if q.gold]
                (out / "trec" / f"{es.name}.qrels").write_text(trec_qrels(answerable))
                for config in configs.split(","):
                    t0 = time.perf_counter()
                    rows, summary = evaluate(es, index, config, qvecs)
                    summary["seconds"] = round(time.perf_counter() - t0, 1)
                    summary["index_mb"] = dir_size(index.path) / 1e6
                    results[f"{es.name}/{config}"] = summary
                    langs = sorted({r["lang"] for r in rows})
                    for lang in langs if len(langs) > 1 else ():  # split by question → document language
                        results[f"{es.name}[{lang}]/{config}"] = {**summary, **summarize([r for r in rows if r["lang"] == lang])}
                    curves[f"{es.name}/{config}"] = recall_curve(rows)
                    per_question.setdefault(es.name, {})[config] = [ndcg_at_k(r["ranked"], set(r["gold"])) for r in rows]
                    (out / "trec" / f"{es.name}.{config}.run").write_text(trec_run(rows, config))
                    for row in rows:
                        per_q.write(json.dumps(row, ensure_ascii=False) + "\n")
                if es.paths or any(q.kind != "factoid" for q in es.questions):  # sets with answers to check
                    for model_ in [None] + ([llm] if llm else []):
                        sample = replace(es, questions=es.questions[::llm_every]) if model_ else es
                        rows, summary = evaluate_answers(sample, index, model_)
                        answers[f"{es.name}/answers-{'llm' if model_ else 'extractive'}"] = summary
                        for row in rows:
                            per_q.write(json.dumps(row, ensure_ascii=False) + "\n")
            finally:
                index.close()
            manifest["sets"][name] = facts
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    (out / "summary.json").write_text(json.dumps({**results, **answers}, indent=2))
    plot_curves(curves, out / "recall-at-k.png")
    tests = significance(per_question)
    (out / "significance.json").write_text(json.dumps(tests, indent=2))
    report = report_markdown(manifest, results, answers, tests) + "\n![recall@k](recall-at-k.png)\n"
    status = 0
    if baseline:
        drops = compare(results, json.loads(baseline.read_text()), tolerance)
        report += "\n## Against the baseline\n\n" + ("\n".join(f"- DROP {d}" for d in drops) or "No gated metric dropped.") + "\n"
        status = 1 if drops else 0
    (out / "report.md").write_text(report)
    typer.echo(report)
    typer.echo(f"written to {out}")
    return status


def main(argv: list[str] | None = None) -> int:
    """Run with ``argv`` (default: the command line); the exit status."""
    try:
        return app(args=argv, standalone_mode=False, prog_name="python -m evals") or 0
    except typer.Exit as e:
        return e.exit_code
    except Exception as e:  # click's usage errors: print them as the command line would
        import click

        if isinstance(e, click.ClickException):
            e.show()
            return e.exit_code
        raise


if __name__ == "__main__":
    sys.exit(main())
