"""``python -m evals.compare RUN_A RUN_B``: each set and configuration of two runs, question by
question: mean nDCG@10 and recall@10 of both, the difference, a paired randomization p-value,
and how many questions got exactly the same ranking (or the same answer) in both.

Example:
    >>> python -m evals.compare evals/runs/20261201-0400 evals/runs/20261201-0500   # doctest: +SKIP
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from evals.metrics import ndcg_at_k, paired_p, recall_at_k


def _rows(run: Path) -> dict[str, dict[str, dict]]:
    """``set/config`` → question id → row of a run's ``questions.jsonl``."""
    out: dict[str, dict[str, dict]] = {}
    for line in (run / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        out.setdefault(f"{row['set']}/{row['config']}", {})[row["id"]] = row
    return out


def _same(a: dict, b: dict) -> bool:
    """The same ranking, or the same answer with the same citations and abstention."""
    keys = ("ranked",) if "ranked" in a else ("answer", "abstained", "citations")
    return all(a.get(k) == b.get(k) for k in keys)


def identical(a: Path, b: Path) -> dict[str, str]:
    """``set/config`` → "same/shared" questions whose ranking (or answer) is identical in both runs."""
    ra, rb = _rows(a), _rows(b)
    out = {}
    for key in sorted(set(ra) & set(rb)):
        ids = set(ra[key]) & set(rb[key])
        out[key] = f"{sum(_same(ra[key][i], rb[key][i]) for i in ids)}/{len(ids)}"
    return out


def per_question(run: Path) -> dict[str, dict[str, tuple[float, float]]]:
    """``set/config`` → question id → (nDCG@10, recall@10), from a run's ``questions.jsonl``."""
    return {key: {qid: (ndcg_at_k(r["ranked"], set(r["gold"])), recall_at_k(r["ranked"], set(r["gold"]), 10))
                  for qid, r in rows.items()}
            for key, rows in _rows(run).items() if all("ranked" in r for r in rows.values())}


def compare_runs(a: Path, b: Path) -> str:
    """A markdown table over the set/configurations both runs have, on their shared questions."""
    qa, qb = per_question(a), per_question(b)
    lines = [f"# {a.name} (A) against {b.name} (B)", "",
             "Paired randomization test on per-question nDCG@10 (10,000 permutations; two-sided).", "",
             "| set / config | questions | nDCG@10 A | nDCG@10 B | Δ | p | R@10 A | R@10 B | identical |",
             "|---|---|---|---|---|---|---|---|---|"]
    same = identical(a, b)
    for key in sorted(set(qa) & set(qb)):
        ids = sorted(set(qa[key]) & set(qb[key]))
        na, nb = [qa[key][i][0] for i in ids], [qb[key][i][0] for i in ids]
        ra, rb = [qa[key][i][1] for i in ids], [qb[key][i][1] for i in ids]
        mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
        lines.append(f"| {key} | {len(ids)} | {mean(na):.4f} | {mean(nb):.4f} | {mean(na) - mean(nb):+.4f} | "
                     f"{paired_p(na, nb):.4f} | {mean(ra):.4f} | {mean(rb):.4f} | {same[key]} |")
    answers = [key for key in same if key not in qa]
    if answers:
        lines += ["", "| answers | identical (answer, citations, abstention) |", "|---|---|"]
        lines += [f"| {key} | {same[key]} |" for key in answers]
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
