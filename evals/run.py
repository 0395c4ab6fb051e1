"""Retrieval evaluation: build (or reuse) an index per set, rank articles, report metrics.

Run ``python -m evals --help``. Output folder: ``manifest.json``, ``questions.jsonl`` (one row
per question and configuration), ``summary.json`` and ``report.md``.

Example:
    >>> python -m evals --sets xquad-en --limit 50        # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import platform
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from evals.datasets import SETS, EvalSet
from evals.metrics import dedupe, percentile, summarize
from rag.answer import answer, condense
from rag.config import Settings, cache_dir
from rag.generate import LLMSettings, chat_model
from rag.index import LAYOUT, Index
from rag.lexical import LexicalIndex

CHUNK_K = 30  # chunks fetched per question before collapsing to articles


def _git_version() -> str:
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True,
                              cwd=Path(__file__).parent, timeout=10).stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def build_index(es: EvalSet, settings_kw: dict, embedder=None) -> tuple[Index, dict]:
    """Index the set's articles with the real ingest path; cached and incremental across runs."""
    blob = "\n".join(json.dumps(a, ensure_ascii=False, sort_keys=True) for a in es.articles)
    digest = hashlib.sha256(blob.encode()).hexdigest()
    model_tag = hashlib.sha256(json.dumps({**settings_kw, "layout": LAYOUT}, sort_keys=True).encode()).hexdigest()[:8]
    # Keyed by content, so sets over the same paragraphs (XQuAD en/ar) share one index.
    root = cache_dir() / "evals" / f"{es.name.split('-')[0]}-{digest[:12]}-{model_tag}"
    root.mkdir(parents=True, exist_ok=True)
    src = root / "articles.jsonl"
    src.write_text(blob + "\n", encoding="utf-8")
    index = Index.open(Settings(db=root / "db", **settings_kw), embedder=embedder)
    report = index.ingest([src])
    return index, {"corpus_sha256": digest, "articles": len(es.articles), "chunks": index.count()[1],
                   "ingest_seconds": round(report.seconds, 1), "indexed_now": report.articles}


def _query_text(q) -> str:
    """What retrieval sees: a follow-up is condensed with its previous question."""
    return condense(q.text, [{"role": "user", "content": q.context}] if q.context else None)


def evaluate(es: EvalSet, index: Index, config: str = "dense", qvecs=None, reranker=None) -> tuple[list[dict], dict]:
    """Rank articles for every answerable question with ``config``: dense, sentences, bm25, hybrid
    (the default), ``rerank`` (hybrid, then ``reranker``), or an analyzer ablation ``bm25:A`` /
    ``hybrid:A`` with A in raw, fold, taa, stem (see rag.lexical.ANALYZERS)."""
    from tqdm import tqdm

    rows = []
    lexical = None
    if ":" in config:  # e.g. bm25:raw, hybrid:stem (analyzers in rag.lexical.ANALYZERS)
        data = index._col.get(include=["documents"])
        lexical = LexicalIndex.build(data["ids"], data["documents"], config.split(":", 1)[1])
    for q, vec in tqdm(list(zip(es.questions, qvecs)), desc=f"{es.name}/{config}", unit="q"):
        if not q.gold:
            continue
        t = time.perf_counter()
        if lexical is not None and config.startswith("hybrid"):  # the default's fusion, another analyzer
            chunk_ids = [h.chunk_id for h in index.search_vector(vec, CHUNK_K, question=_query_text(q),
                                                                  lexical=lexical)]
        elif lexical is not None:  # BM25 alone with another analyzer
            chunk_ids = [cid for cid, _ in lexical.search(_query_text(q), CHUNK_K)]
        elif config == "rerank":  # the default's best chunks re-scored by the second stage, as search does
            first_stage = functools.partial(index.search_vector, vec, question=_query_text(q))
            chunk_ids = [h.chunk_id for h in index.reranked(_query_text(q), CHUNK_K, first_stage, reranker)]
        elif config == "bm25":
            chunk_ids = [cid for cid, _ in index.lexical.search(_query_text(q), CHUNK_K)]
        else:  # dense: chunk vectors only; sentences: + best sentence; hybrid: + BM25 (the default)
            hits = index.search_vector(vec, CHUNK_K, question=_query_text(q) if config == "hybrid" else None,
                                       sentences=config != "dense")
            chunk_ids = [h.chunk_id for h in hits]
        ms = (time.perf_counter() - t) * 1000
        rows.append({"set": es.name, "config": config, "id": q.id, "question": q.text,
                     "lang": f"{q.lang}->{q.doc_lang}", "gold": q.gold,
                     "ranked": dedupe([c.rsplit("::", 1)[0] for c in chunk_ids])[:10], "search_ms": round(ms, 2)})
    summary = summarize(rows)
    summary["search_ms_p50"] = round(percentile([r["search_ms"] for r in rows], 50), 2)
    summary["search_ms_p95"] = round(percentile([r["search_ms"] for r in rows], 95), 2)
    return rows, summary


def evaluate_answers(es: EvalSet, index: Index, llm=None) -> tuple[list[dict], dict]:
    """Answers (extractive, or LLM-written with ``llm``): citation validity, gold cited,
    expected answer quoted, abstention, follow-ups, latency."""
    from tqdm import tqdm

    from evals.metrics import recall_at_k
    from rag.generate import generate
    from rag.text import normalize_ar

    rows = []
    mode = "llm" if llm else "extractive"
    for q in tqdm(es.questions, desc=f"{es.name}/answers-{mode}", unit="q"):
        history = [{"role": "user", "content": q.context}] if q.context else None
        t = time.perf_counter()
        ans = generate(index, q.text, llm, history=history) if llm else answer(index, q.text, history=history)
        ms = (time.perf_counter() - t) * 1000
        chunks = {h.chunk_id: h.text for h in ans.passages}
        quotes = normalize_ar(" ".join(c.quote for c in ans.citations))
        row = {"set": es.name, "config": f"answers-{mode}", "mode": ans.mode,
               "invalid_citations": ans.invalid_citations,
               "id": q.id, "kind": q.kind, "lang": q.lang, "question": q.text,
               "abstained": ans.abstained, "confident": ans.confident, "answer": ans.answer, "ms": round(ms, 1),
               "citations": [{**c.as_json(), "valid": c.quote in chunks.get(c.chunk_id, "")} for c in ans.citations],
               "gold_cited": any(c.article_id in q.gold for c in ans.citations),
               "answer_in_quotes": bool(q.answers) and any(normalize_ar(a) in quotes for a in q.answers)}
        if q.kind == "followup":  # retrieval of the follow-up alone vs condensed with its context
            raw = dedupe([h.article_id for h in index.search(q.text, CHUNK_K)])
            cond = dedupe([h.article_id for h in index.search(_query_text(q), CHUNK_K)])
            row["followup_recall@5"] = {"raw": recall_at_k(raw, set(q.gold), 5) > 0,
                                        "condensed": recall_at_k(cond, set(q.gold), 5) > 0}
        rows.append(row)
    answerable = [r for r in rows if r["kind"] != "unanswerable"]
    unanswerable = [r for r in rows if r["kind"] == "unanswerable"]
    abstained = [r for r in rows if r["abstained"]]
    cites = [c for r in rows for c in r["citations"]]
    followups = [r["followup_recall@5"] for r in rows if "followup_recall@5" in r]

    def share(xs, key):
        return sum(1 for x in xs if x[key]) / len(xs) if xs else 0.0

    summary = {
        "questions": len(rows),
        "citation_validity": sum(c["valid"] for c in cites) / len(cites) if cites else 1.0,
        "gold_cited": share(answerable, "gold_cited"),
        "answer_in_quotes": share(answerable, "answer_in_quotes"),
        "wrong_abstentions": f"{sum(r['abstained'] for r in answerable)}/{len(answerable)}",
        "unanswerable_abstained": f"{sum(r['abstained'] for r in unanswerable)}/{len(unanswerable)}",
        "abstention_precision": sum(r["kind"] == "unanswerable" for r in abstained) / len(abstained) if abstained else 0.0,
        "abstention_recall": share(unanswerable, "abstained"),
        "followup_recall@5_raw": sum(f["raw"] for f in followups) / len(followups) if followups else 0.0,
        "followup_recall@5_condensed": sum(f["condensed"] for f in followups) / len(followups) if followups else 0.0,
        "llm_answers_kept": sum(r["mode"] == "llm" for r in rows),
        "invalid_citations_removed": sum(r["invalid_citations"] for r in rows),
        "answer_ms_p50": round(percentile([r["ms"] for r in rows], 50), 1),
        "answer_ms_p95": round(percentile([r["ms"] for r in rows], 95), 1),
    }
    return rows, summary


def recall_curve(rows: list[dict], max_k: int = 10) -> list[float]:
    """Recall@1..max_k averaged over rows."""
    from evals.metrics import recall_at_k

    return [sum(recall_at_k(r["ranked"], set(r["gold"]), k) for r in rows) / len(rows) for k in range(1, max_k + 1)]


def plot_curves(curves: dict[str, list[float]], path: Path) -> None:
    """One PNG: recall@k per set and configuration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = sorted({key.split("/")[0] for key in curves})
    fig, axes = plt.subplots(1, len(sets), figsize=(4.5 * len(sets), 3.6), squeeze=False)
    for ax, name in zip(axes[0], sets):
        for key, ys in curves.items():
            if key.startswith(name + "/"):
                ax.plot(range(1, len(ys) + 1), ys, marker="o", ms=3, label=key.split("/")[1])
        ax.set_title(name)
        ax.set_xlabel("k (articles)")
        ax.set_ylabel("recall@k")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


GATED = ("ndcg@10", "recall@10")


def compare(results: dict[str, dict], baseline: dict[str, dict], tolerance: float) -> list[str]:
    """Gated metrics that dropped more than ``tolerance`` below the baseline.

    >>> run = {"x/dense": {"questions": 9, "ndcg@10": 0.80, "recall@10": 0.9}}
    >>> compare(run, {"x/dense": {"questions": 9, "ndcg@10": 0.85, "recall@10": 0.9}}, 0.01)
    ['x/dense ndcg@10: 0.800 < baseline 0.850 - 0.01']
    """
    drops = []
    for key, base in baseline.items():
        if key not in results or results[key]["questions"] != base["questions"]:
            continue  # only like with like: a --limit run is not comparable
        for metric in GATED:
            if results[key][metric] < base[metric] - tolerance:
                drops.append(f"{key} {metric}: {results[key][metric]:.3f} < baseline {base[metric]:.3f} - {tolerance}")
    return drops


def _dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def report_markdown(manifest: dict, results: dict[str, dict], answers: dict[str, dict] | None = None) -> str:
    lines = [f"# Retrieval evaluation ({manifest['started']})", "",
             f"Code {manifest['code_version']}, model `{manifest['model']}`, machine {manifest['machine']}.", "",
             "| set | config | questions | nDCG@10 | R@1 | R@5 | R@10 | MRR@10 | search p50 / p95 ms | index MB |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    stages = [f"- {name}: {f['articles']} articles, {f['chunks']} chunks; query embedding p50 / p95 "
              f"{f['query_embed_ms_p50']} / {f['query_embed_ms_p95']} ms" for name, f in manifest["sets"].items()]
    lines[4:4] = ["Per set (search latency per configuration is in the table):", *stages, ""] if stages else []
    for key, s in results.items():
        name, config = key.split("/", 1)
        lines.append(f"| {name} | {config} | {s['questions']} | {s['ndcg@10']:.3f} | {s['recall@1']:.3f} | "
                     f"{s['recall@5']:.3f} | {s['recall@10']:.3f} | {s['mrr@10']:.3f} | "
                     f"{s['search_ms_p50']} / {s['search_ms_p95']} | {s['index_mb']:.1f} |")
    for name, a in (answers or {}).items():
        lines += ["", f"## Answers: {name}", "", "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {v:.3f} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in a.items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals", description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="xquad-en,xquad-ar,arcd,news", help=f"comma-separated, of {', '.join(SETS)}")
    ap.add_argument("--configs", default="dense,sentences,bm25,hybrid,bm25:raw,hybrid:raw,bm25:fold,hybrid:fold",
                    help="retrieval configurations to compare (also bm25:taa, hybrid:taa, rerank)")
    ap.add_argument("--limit", type=int, default=None, help="first N questions per set (a quick run)")
    ap.add_argument("--model", default=Settings().model, help="embedding model id or path")
    ap.add_argument("--baseline", type=Path, default=None,
                    help="summary.json to compare with; exit 1 when a gated metric drops (e.g. evals/baseline.json)")
    ap.add_argument("--rerank-model", default=None, help="second stage for the rerank config, e.g. embeddinggemma-300m")
    ap.add_argument("--llm-url", default=None, help="also evaluate LLM answers from this OpenAI-compatible endpoint")
    ap.add_argument("--llm-every", type=int, default=1, help="LLM answers for every Nth question only (they are slow)")
    ap.add_argument("--tolerance", type=float, default=0.01, help="allowed drop for gated metrics")
    ap.add_argument("--out", type=Path, default=Path("evals/runs") / time.strftime("%Y%m%d-%H%M%S"))
    args = ap.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    settings_kw = {"model": args.model}
    manifest = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "code_version": _git_version(),
                "model": args.model, "chunker": Settings().chunk_chars, "chunk_k": CHUNK_K,
                "machine": f"{platform.machine()}, {platform.python_version()}", "sets": {}}
    results: dict[str, dict] = {}
    curves: dict[str, list[float]] = {}
    answers: dict[str, dict] = {}
    embedder = None
    reranker = None
    if args.rerank_model:
        from rag.rerank import Reranker

        reranker = Reranker(args.rerank_model)
        manifest["rerank_model"] = args.rerank_model
    with open(args.out / "questions.jsonl", "w", encoding="utf-8") as per_q:
        for name in args.sets.split(","):
            es = SETS[name](limit=args.limit)
            index, facts = build_index(es, settings_kw, embedder)
            embedder = index.embedder  # load the model once for all sets
            try:
                qvecs, embed_ms = [], []
                for q in es.questions:  # one at a time, as a user's question is embedded
                    t0 = time.perf_counter()
                    qvecs.append(index.embedder.embed_queries([_query_text(q)])[0])
                    embed_ms.append((time.perf_counter() - t0) * 1000)
                facts["query_embed_ms_p50"] = round(percentile(embed_ms, 50), 1)
                facts["query_embed_ms_p95"] = round(percentile(embed_ms, 95), 1)
                for config in args.configs.split(","):
                    t0 = time.perf_counter()
                    rows, summary = evaluate(es, index, config, qvecs, reranker)
                    summary["seconds"] = round(time.perf_counter() - t0, 1)
                    summary["index_mb"] = _dir_size(index.path) / 1e6
                    results[f"{es.name}/{config}"] = summary
                    langs = sorted({r["lang"] for r in rows})
                    for lang in langs if len(langs) > 1 else ():  # split by question → document language
                        results[f"{es.name}[{lang}]/{config}"] = {**summary, **summarize([r for r in rows if r["lang"] == lang])}
                    curves[f"{es.name}/{config}"] = recall_curve(rows)
                    for row in rows:
                        per_q.write(json.dumps(row, ensure_ascii=False) + "\n")
                if any(q.kind != "factoid" for q in es.questions):  # sets with answers to check
                    for llm in [None] + ([chat_model(LLMSettings(url=args.llm_url))] if args.llm_url else []):
                        sample = replace(es, questions=es.questions[::args.llm_every]) if llm else es
                        rows, summary = evaluate_answers(sample, index, llm)
                        answers[f"{es.name}/answers-{'llm' if llm else 'extractive'}"] = summary
                        for row in rows:
                            per_q.write(json.dumps(row, ensure_ascii=False) + "\n")
            finally:
                index.close()
            manifest["sets"][name] = facts
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    (args.out / "summary.json").write_text(json.dumps({**results, **answers},
                                                      indent=2))
    plot_curves(curves, args.out / "recall-at-k.png")
    report = report_markdown(manifest, results, answers) + "\n![recall@k](recall-at-k.png)\n"
    status = 0
    if args.baseline:
        drops = compare(results, json.loads(args.baseline.read_text()), args.tolerance)
        report += "\n## Against the baseline\n\n" + ("\n".join(f"- DROP {d}" for d in drops) or "No gated metric dropped.") + "\n"
        status = 1 if drops else 0
    (args.out / "report.md").write_text(report)
    print(report)
    print(f"written to {args.out}")
    return status


if __name__ == "__main__":
    sys.exit(main())
