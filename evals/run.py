"""Retrieval evaluation: build (or reuse) an index per set, rank articles, report metrics.

Run ``python -m evals --help``. Output folder: ``manifest.json``, ``questions.jsonl`` (one row
per question and configuration), ``summary.json`` and ``report.md``.

Example:
    >>> python -m evals --sets xquad-en --limit 50        # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

from evals.datasets import SETS, EvalSet
from evals.metrics import dedupe, percentile, summarize
from rag.config import Settings, cache_dir
from rag.index import Index

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
    model_tag = hashlib.sha256(json.dumps(settings_kw, sort_keys=True).encode()).hexdigest()[:8]
    # Keyed by content, so sets over the same paragraphs (XQuAD en/ar) share one index.
    root = cache_dir() / "evals" / f"{es.name.split('-')[0]}-{digest[:12]}-{model_tag}"
    root.mkdir(parents=True, exist_ok=True)
    src = root / "articles.jsonl"
    src.write_text(blob + "\n", encoding="utf-8")
    index = Index.open(Settings(db=root / "db", **settings_kw), embedder=embedder)
    report = index.ingest([src])
    return index, {"corpus_sha256": digest, "articles": len(es.articles), "chunks": index.count()[1],
                   "ingest_seconds": round(report.seconds, 1), "indexed_now": report.articles}


def evaluate(es: EvalSet, index: Index, config: str = "dense", qvecs=None) -> tuple[list[dict], dict]:
    """Rank articles for every question with ``config`` (dense, bm25 or hybrid)."""
    from tqdm import tqdm

    rows = []
    for q, vec in tqdm(list(zip(es.questions, qvecs)), desc=f"{es.name}/{config}", unit="q"):
        t = time.perf_counter()
        if config == "bm25":
            chunk_ids = [cid for cid, _ in index.lexical.search(q.text, CHUNK_K)]
        else:
            hits = index.search_vector(vec, CHUNK_K, question=q.text if config == "hybrid" else None)
            chunk_ids = [h.chunk_id for h in hits]
        ms = (time.perf_counter() - t) * 1000
        rows.append({"set": es.name, "config": config, "id": q.id, "question": q.text,
                     "lang": f"{q.lang}->{q.doc_lang}", "gold": q.gold,
                     "ranked": dedupe([c.rsplit("::", 1)[0] for c in chunk_ids])[:10], "search_ms": round(ms, 2)})
    summary = summarize(rows)
    summary["search_ms_p50"] = round(percentile([r["search_ms"] for r in rows], 50), 2)
    summary["search_ms_p95"] = round(percentile([r["search_ms"] for r in rows], 95), 2)
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


def report_markdown(manifest: dict, results: dict[str, dict]) -> str:
    lines = [f"# Retrieval evaluation ({manifest['started']})", "",
             f"Code {manifest['code_version']}, model `{manifest['model']}`, machine {manifest['machine']}.", "",
             "| set | config | questions | nDCG@10 | R@1 | R@5 | R@10 | MRR@10 | search p50 / p95 ms | index MB |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for key, s in results.items():
        name, config = key.split("/")
        lines.append(f"| {name} | {config} | {s['questions']} | {s['ndcg@10']:.3f} | {s['recall@1']:.3f} | "
                     f"{s['recall@5']:.3f} | {s['recall@10']:.3f} | {s['mrr@10']:.3f} | "
                     f"{s['search_ms_p50']} / {s['search_ms_p95']} | {s['index_mb']:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals", description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="xquad-en,xquad-ar,arcd", help=f"comma-separated, of {', '.join(SETS)}")
    ap.add_argument("--configs", default="dense,bm25,hybrid", help="retrieval configurations to compare")
    ap.add_argument("--limit", type=int, default=None, help="first N questions per set (a quick run)")
    ap.add_argument("--model", default=Settings().model, help="embedding model id or path")
    ap.add_argument("--baseline", type=Path, default=None,
                    help="summary.json to compare with; exit 1 when a gated metric drops (e.g. evals/baseline.json)")
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
    embedder = None
    with open(args.out / "questions.jsonl", "w", encoding="utf-8") as per_q:
        for name in args.sets.split(","):
            es = SETS[name](limit=args.limit)
            index, facts = build_index(es, settings_kw, embedder)
            embedder = index.embedder  # load the model once for all sets
            try:
                t0 = time.perf_counter()
                qvecs = index.embedder.embed_queries([q.text for q in es.questions])
                facts["query_embed_ms_mean"] = round((time.perf_counter() - t0) * 1000 / len(es.questions), 1)
                for config in args.configs.split(","):
                    rows, summary = evaluate(es, index, config, qvecs)
                    summary["index_mb"] = _dir_size(index.path) / 1e6
                    results[f"{es.name}/{config}"] = summary
                    curves[f"{es.name}/{config}"] = recall_curve(rows)
                    for row in rows:
                        per_q.write(json.dumps(row, ensure_ascii=False) + "\n")
            finally:
                index.close()
            manifest["sets"][name] = facts
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    (args.out / "summary.json").write_text(json.dumps(results, indent=2))
    plot_curves(curves, args.out / "recall-at-k.png")
    report = report_markdown(manifest, results) + "\n![recall@k](recall-at-k.png)\n"
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
