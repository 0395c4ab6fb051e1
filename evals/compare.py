"""``python -m evals.compare RUN_A RUN_B``: each set and configuration of two runs, question by
question: mean nDCG@10 and recall@10 of both, the difference, and a paired randomization p-value.

Example:
    >>> python -m evals.compare evals/runs/20261201-0400 evals/runs/20261201-0500   # doctest: +SKIP
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from evals.metrics import ndcg_at_k, paired_p, recall_at_k


def per_question(run: Path) -> dict[str, dict[str, tuple[float, float]]]:
    """``set/config`` → question id → (nDCG@10, recall@10), from a run's ``questions.jsonl``."""
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for line in (run / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if "ranked" in row:
            gold = set(row["gold"])
            out.setdefault(f"{row['set']}/{row['config']}", {})[row["id"]] = (
                ndcg_at_k(row["ranked"], gold), recall_at_k(row["ranked"], gold, 10))
    return out


def compare_runs(a: Path, b: Path) -> str:
    """A markdown table over the set/configurations both runs have, on their shared questions."""
    qa, qb = per_question(a), per_question(b)
    lines = [f"# {a.name} (A) against {b.name} (B)", "",
             "Paired randomization test on per-question nDCG@10 (10,000 permutations; two-sided).", "",
             "| set / config | questions | nDCG@10 A | nDCG@10 B | Δ | p | R@10 A | R@10 B |",
             "|---|---|---|---|---|---|---|---|"]
    for key in sorted(set(qa) & set(qb)):
        ids = sorted(set(qa[key]) & set(qb[key]))
        na, nb = [qa[key][i][0] for i in ids], [qb[key][i][0] for i in ids]
        ra, rb = [qa[key][i][1] for i in ids], [qb[key][i][1] for i in ids]
        mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
        lines.append(f"| {key} | {len(ids)} | {mean(na):.4f} | {mean(nb):.4f} | {mean(na) - mean(nb):+.4f} | "
                     f"{paired_p(na, nb):.4f} | {mean(ra):.4f} | {mean(rb):.4f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or not all((Path(p) / "questions.jsonl").exists() for p in args):
        print("usage: python -m evals.compare RUN_A RUN_B   (two folders written by python -m evals)", file=sys.stderr)
        return 2
    print(compare_runs(Path(args[0]), Path(args[1])), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
