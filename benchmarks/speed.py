"""Ingest and search speed on real ANT articles, printed beside a baseline as ratios.

Ingest runs the real path (chunks, a vector per chunk and per sentence, BM25) into a fresh
temporary index; its baseline embeds the same chunk texts alone, which is what ingest cost
before sentence vectors. Search times each ranking over that index with the news QA set's
questions; the baseline is dense chunk vectors alone. Run it on a quiet machine:

    python benchmarks/speed.py --articles 300
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evals.datasets import NEWS_QA, SHARED  # noqa: E402
from evals.metrics import percentile  # noqa: E402
from rag.chunk import chunk_text, embedded_text  # noqa: E402
from rag.embed.embedder import Embedder  # noqa: E402
from rag.index import Index  # noqa: E402
from rag.ingest.readers import Article, read_paths  # noqa: E402
from rag.retrieve.recipes import RECIPES  # noqa: E402
from rag.settings import Settings  # noqa: E402


def spread_articles(n: int) -> list[str]:
    """``n`` ANT lines evenly spread over the corpus (every outlet and month)."""
    with gzip.open(SHARED / "corpus" / "ant-2018.jsonl.gz", "rt", encoding="utf-8") as fh:
        lines = fh.readlines()
    return lines[:: max(1, len(lines) // n)][:n]


def disk_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=300)
    ap.add_argument("--model", default=Settings().model)
    args = ap.parse_args(argv)

    t = time.perf_counter()
    embedder = Embedder(args.model)
    load_s = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "articles.jsonl"
        src.write_text("".join(spread_articles(args.articles)), encoding="utf-8")
        with Index.open(Settings(db=Path(tmp) / "db", model=args.model), embedder=embedder) as index:
            report = index.ingest([src])
            articles = [a for a in read_paths([src]) if isinstance(a, Article)]
            texts = [embedded_text(a.title, c.text) for a in articles for c in chunk_text(a.text, index.settings.chunk_chars)]
            n_sent = index.store.sentences.count()
            t = time.perf_counter()
            embedder.embed_passages(texts)
            base_s = time.perf_counter() - t

            questions = [json.loads(line)["question"] for line in NEWS_QA.read_text(encoding="utf-8").splitlines()
                         if line.strip()]
            vectors = embedder.embed_queries(questions)
            modes = {"dense (chunk vectors)": "dense", "sentences (chunk + best sentence)": "sentences",
                     "hybrid (the default)": "hybrid"}
            timings: dict[str, list[float]] = {}
            for _ in range(2):  # the first round warms Chroma's and BM25's caches
                for name, recipe in modes.items():
                    timings[name] = []
                    for q, v in zip(questions, vectors):
                        t = time.perf_counter()
                        index.search(q, 10, recipe=RECIPES[recipe], vector=v)
                        timings[name].append((time.perf_counter() - t) * 1000)
            size = disk_mb(Path(tmp) / "db")

    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nmodel {args.model}: loaded in {load_s:.1f} s; {report.articles} articles, {report.chunks} chunks, "
          f"{n_sent} sentence vectors; index {size:.1f} MB on disk; peak RSS {rss_mb:.0f} MB\n")
    print("| ingest | seconds | chunks/s | ratio |\n|---|---|---|---|")
    print(f"| baseline: embed the chunk texts alone | {base_s:.1f} | {report.chunks / base_s:.2f} | 1.00 |")
    print(f"| real ingest (chunks + sentences + Chroma + BM25) | {report.seconds:.1f} | "
          f"{report.chunks / report.seconds:.2f} | {report.seconds / base_s:.2f} |")
    base = percentile(timings["dense (chunk vectors)"], 50)
    print(f"\n| search, {len(questions)} questions, k=10 | p50 ms | p95 ms | p50 ratio |\n|---|---|---|---|")
    for name, ms in timings.items():
        print(f"| {name} | {percentile(ms, 50):.1f} | {percentile(ms, 95):.1f} | {percentile(ms, 50) / base:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
