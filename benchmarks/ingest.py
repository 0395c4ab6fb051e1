"""Ingest speed: the project's ingest beside the limit and beside a naive LangChain pipeline.

Each arm runs in a process of its own over the same ANT articles (evenly spread over the
corpus), so its peak RSS is its own:

- ``raw``: torch fp32 encoding the chunk texts alone (title + passage), batch 32: the limit;
  ``raw-onnx`` / ``raw-int8``: the same on ONNX Runtime fp32 / int8;
  ``raw-bf16``: bfloat16 (OpenVINO on the exported graph; torch for a model that is not exported);
  ``raw-bf16-int8``: OpenVINO bf16 with int8 matrix multiplies;
- ``torch`` / ``onnx`` / ``int8`` / ``bf16`` / ``bf16-int8``: ``rag ingest`` into a fresh index on
  that runtime (``Settings.runtime``; the last three store vectors so computed, questions stay fp32),
  each sentence embedded again on its own (the default);
- ``late`` / ``late-int8``: sentence vectors pooled from the chunk's own forward pass
  (``Settings.sentence_vectors = "late"``), ONNX fp32 / int8;
- ``langchain``: RecursiveCharacterTextSplitter (800 characters), HuggingFaceEmbeddings with the
  same model, ``Chroma.from_documents`` (needs ``pip install -e .[bench]``).

    python benchmarks/ingest.py --articles 300            # all arms, a table of ratios
    python benchmarks/ingest.py --model embeddinggemma-300m --arms raw,torch
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# arm: (what runs, runtime, sentence vectors)
ARMS = {"raw": ("raw", "torch", None), "raw-onnx": ("raw", "onnx", None), "raw-int8": ("raw", "onnx-int8", None),
        "torch": ("ingest", "torch", "separate"), "onnx": ("ingest", "onnx", "separate"),
        "int8": ("ingest", "onnx-int8", "separate"), "late": ("ingest", "onnx", "late"),
        "late-int8": ("ingest", "onnx-int8", "late"), "bf16": ("ingest", "bf16", "separate"),
        "raw-bf16": ("raw", "bf16", None), "bf16-int8": ("ingest", "bf16-int8", "separate"),
        "raw-bf16-int8": ("raw", "bf16-int8", None), "langchain": ("langchain", "torch", None)}


def disk_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def run_arm(arm: str, articles: int, model: str) -> dict:
    """One arm in this process: {seconds, chunks, disk_mb, rss_mb}."""
    from benchmarks.speed import spread_articles
    from rag.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "articles.jsonl"
        src.write_text("".join(spread_articles(articles)), encoding="utf-8")
        db = Path(tmp) / "db"
        kind, runtime, sentence_vectors = ARMS[arm]
        if kind == "langchain":
            out = _langchain(src, db, model)
        else:
            from rag.embed.embedder import Embedder

            embedder = Embedder(model, runtime=runtime)  # loaded before the clock starts, in every arm
            embedder.embed_documents(["warm-up"])  # the int8 session too, which loads on first use
            if kind == "raw":
                from rag.chunk import chunk_text, embedded_text
                from rag.ingest.readers import Article, read_paths

                t = time.perf_counter()
                texts = [embedded_text(a.title, c.text) for a in read_paths([src]) if isinstance(a, Article)
                         for c in chunk_text(a.text, Settings().chunk_chars)]
                embedder.embed_documents(texts)
                out = {"seconds": time.perf_counter() - t, "chunks": len(texts)}
            else:
                from rag.index import Index

                settings = Settings(db=db, model=model, sentence_vectors=sentence_vectors, runtime=runtime)
                with Index.open(settings, embedder=embedder) as index:
                    report = index.ingest([src], progress=False)
                out = {"seconds": report.seconds, "chunks": report.chunks}
        out["disk_mb"] = disk_mb(db) if db.exists() else 0.0
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def _langchain(src: Path, db: Path, model: str) -> dict:
    """The pipeline a LangChain tutorial builds, with the same model and chunk size."""
    try:
        from langchain_chroma import Chroma
        from langchain_core.documents import Document
        from langchain_huggingface import HuggingFaceEmbeddings
        from langchain_text_splitters import RecursiveCharacterTextSplitter
    except ImportError as e:
        sys.exit(f"the langchain arm needs: pip install -e .[bench] ({e})")
    from rag.embed.embedder import resolve_model
    from rag.ingest.readers import Article, read_paths

    emb = HuggingFaceEmbeddings(model_name=resolve_model(model), encode_kwargs={"normalize_embeddings": True})
    t = time.perf_counter()
    docs = [Document(a.text, metadata={"id": a.id, "title": a.title}) for a in read_paths([src]) if isinstance(a, Article)]
    chunks = RecursiveCharacterTextSplitter(chunk_size=800, chunk_overlap=0).split_documents(docs)
    Chroma.from_documents(chunks, emb, persist_directory=str(db))
    return {"seconds": time.perf_counter() - t, "chunks": len(chunks)}


def main(argv: list[str] | None = None) -> int:
    from rag.settings import Settings

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=300)
    ap.add_argument("--model", default=Settings().model)
    ap.add_argument("--arms", default=",".join(ARMS), help=f"comma-separated, of {', '.join(ARMS)}")
    ap.add_argument("--arm", help=argparse.SUPPRESS)  # the child process: one arm, JSON on stdout
    args = ap.parse_args(argv)
    if args.arm:
        print(json.dumps(run_arm(args.arm, args.articles, args.model)))
        return 0
    rows = {}
    for arm in args.arms.split(","):
        done = subprocess.run([sys.executable, __file__, "--arm", arm, "--articles", str(args.articles),
                               "--model", args.model], capture_output=True, text=True, cwd=ROOT)
        if done.returncode:
            print(f"{arm}: failed\n{done.stderr[-2000:]}", file=sys.stderr)
            continue
        rows[arm] = json.loads(done.stdout.strip().splitlines()[-1])
    base = rows.get("raw")
    print(f"\n{args.articles} ANT articles, model {args.model}\n")
    print("| arm | chunks | seconds | chunks/s | vs raw encode | peak RSS MB | disk MB |\n|---|---|---|---|---|---|---|")
    for arm, r in rows.items():
        rate = r["chunks"] / r["seconds"]
        ratio = f"{rate / (base['chunks'] / base['seconds']):.2f}" if base else "–"
        print(f"| {arm} | {r['chunks']} | {r['seconds']:.1f} | {rate:.2f} | {ratio} | {r['rss_mb']:.0f} | {r['disk_mb']:.1f} |")
    if "langchain" in rows:
        lc = rows["langchain"]["chunks"] / rows["langchain"]["seconds"]
        for arm in rows:
            if ARMS[arm][0] == "ingest":  # the splitters cut differently: wall time over the same articles too
                print(f"\n{arm} ingest / naive LangChain pipeline: chunks/s "
                      f"{rows[arm]['chunks'] / rows[arm]['seconds'] / lc:.2f}, "
                      f"time {rows['langchain']['seconds'] / rows[arm]['seconds']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
