"""Answer latency: the extractive answer (the baseline) and the checked LLM answer side by side.

For each question: the extractive answer's time, the LLM mode's first shown line (a sentence
that passed the check, or its quote) and its whole answer, with p50/p95 and the ratio to the
baseline. Targets on 2 cores for the seed question: first shown line ≤ 8 s, answer ≤ 20 s.
llama.cpp keeps the last prompt evaluated, so a repeated question is faster than a new one: the
first answer after the server started (printed apart) is what a reader's new question costs.

    rag llm-server &        # the local model, or any OpenAI-compatible endpoint
    python benchmarks/answer_latency.py --db index --llm-url http://127.0.0.1:8081/v1 --runs 3
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evals.metrics import percentile  # noqa: E402
from rag.answers.extractive import answer  # noqa: E402
from rag.answers import generate  # noqa: E402
from rag.answers.generate import chat_model, stream  # noqa: E402
from rag.index import Index  # noqa: E402
from rag.settings import Settings  # noqa: E402

SEED = "What did Russia say about the Gulf alliance?"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default="index")
    ap.add_argument("--llm-url", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--question", action="append", help=f"repeatable [default: {SEED!r}]")
    ap.add_argument("--one-request", action="store_true",
                    help="the baseline: every point in one model request (before 2026-12-03)")
    args = ap.parse_args()
    if args.one_request:
        generate.requests = lambda quotes: [quotes]
    index = Index.open(Settings(db=args.db))
    llm = chat_model(Settings(llm_url=args.llm_url))
    questions = args.question or [SEED]
    answer(index, questions[0])  # load the models once, outside the timings
    ext, first, whole, modes = [], [], [], []
    for q in questions:
        for _ in range(args.runs):
            t = time.perf_counter()
            answer(index, q)
            ext.append(time.perf_counter() - t)
            t, shown = time.perf_counter(), None
            for part in stream(index, q, llm):
                shown = shown or time.perf_counter() - t
                last = part
            whole.append(time.perf_counter() - t)
            first.append(shown)
            modes.append(f"{last.mode}: {last.checked} checked, {last.replaced} replaced")
    base = percentile(ext, 50)
    print(f"{'':28}{'p50 s':>8}{'p95 s':>8}{'× extractive':>14}")
    for name, xs in (("extractive answer", ext), ("LLM first shown line", first), ("LLM whole answer", whole)):
        print(f"{name:28}{percentile(xs, 50):8.2f}{percentile(xs, 95):8.2f}{percentile(xs, 50) / base:14.1f}")
    print(f"the first LLM answer after the model server started: first shown line {first[0]:.2f} s, "
          f"whole {whole[0]:.2f} s")
    print("targets: first shown line ≤ 8 s, whole answer ≤ 20 s;", "; ".join(dict.fromkeys(modes)))


if __name__ == "__main__":
    main()
