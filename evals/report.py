"""Reports of an evaluation run: recall curves, the plot, the markdown table, the baseline gate.

Example:
    >>> compare({"x/dense": {"questions": 9, "ndcg@10": 0.9, "recall@10": 0.9}},
    ...         {"x/dense": {"questions": 9, "ndcg@10": 0.9, "recall@10": 0.9}}, 0.01)
    []
"""

from __future__ import annotations

from pathlib import Path

from evals.metrics import paired_p, recall_at_k


def recall_curve(rows: list[dict], max_k: int = 10) -> list[float]:
    """Recall@1..max_k averaged over rows."""
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


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def report_markdown(manifest: dict, results: dict[str, dict], answers: dict[str, dict] | None = None,
                    tests: dict[str, dict] | None = None) -> str:
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
    if tests:
        lines += ["", "## Against the default (hybrid), same questions", "",
                  "Paired randomization test on per-question nDCG@10 (10,000 permutations; two-sided).", "",
                  "| set / config | Δ nDCG@10 | p |", "|---|---|---|"]
        lines += [f"| {key} | {t['delta_ndcg@10']:+.4f} | {t['p']:.4f} |" for key, t in tests.items()]
    return "\n".join(lines) + "\n"


def trec_run(rows: list[dict], tag: str) -> str:
    """TREC run lines (``qid Q0 doc rank score tag``) of per-question rows, for trec_eval or
    ir-measures; the score falls with the rank.

    >>> print(trec_run([{"id": "q1", "ranked": ["a", "b"], "gold": ["b"]}], "hybrid"), end="")
    q1 Q0 a 1 10 hybrid
    q1 Q0 b 2 9 hybrid
    """
    return "".join(f"{r['id']} Q0 {doc} {i} {10 - i + 1} {tag}\n" for r in rows for i, doc in enumerate(r["ranked"], 1))


def trec_qrels(rows: list[dict]) -> str:
    """TREC qrels lines (``qid 0 doc 1``) of the rows' gold articles."""
    return "".join(f"{r['id']} 0 {g} 1\n" for r in rows for g in r["gold"])


def significance(per_question: dict[str, dict[str, list[float]]], against: str = "hybrid") -> dict[str, dict]:
    """For each set and configuration: mean nDCG@10 difference to ``against`` on the same
    questions, and its paired randomization p-value."""
    out = {}
    for name, configs in per_question.items():
        if against not in configs:
            continue
        for config, scores in configs.items():
            if config != against:
                base = configs[against]
                out[f"{name}/{config}"] = {"delta_ndcg@10": round(sum(scores) / len(scores) - sum(base) / len(base), 4),
                                           "p": round(paired_p(scores, base), 4)}
    return out
