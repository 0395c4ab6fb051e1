"""BM25 at archive scale: building it, adding an article to it, and asking it, beside bm25s.

The project's BM25 (`rag.storage.lexical.Bm25`) keeps term counts and scores when asked, so an
ingest updates it in place; bm25s, which it replaced, stores finished scores and had to re-index
every chunk for one new article. Both index the same tokens (the chunks of the ANT archive as
the indexer cuts and analyses them; no embedding is needed), and their top 10 are compared:

    python benchmarks/lexical.py                 # the whole archive (≈ 74k chunks)
    python benchmarks/lexical.py --articles 3000
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.chunk import chunk_text  # noqa: E402
from rag.ids import chunk_id  # noqa: E402
from rag.ingest.readers import Article, read_paths  # noqa: E402
from rag.names import text_keys  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.storage.lexical import LexicalIndex, tokenize  # noqa: E402

ANT = ROOT.parent / "shared" / "corpus" / "ant-2018.jsonl.gz"
QUESTIONS = ROOT / "evals" / "news-qa.jsonl"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def _bm25s(words: list[list[str]]):
    """bm25s as the project built it before (tokens as int ids, bm25s's own defaults)."""
    import bm25s

    vocab = {"": 0}
    ids = [np.array([vocab.setdefault(t, len(vocab)) for t in doc] or [0], np.int32) for doc in words]
    model = bm25s.BM25()
    model.index((ids, vocab), show_progress=False)
    return model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, help="the first N articles (default: all)")
    args = ap.parse_args()

    chunk_chars = Settings().chunk_chars
    ids, words, names, owner = [], [], [], []
    articles = (a for a in read_paths([ANT]) if isinstance(a, Article))
    for n, article in enumerate(tqdm(articles, total=args.articles, desc="chunking and analysing", unit=" articles")):
        if args.articles and n >= args.articles:
            break
        for c in chunk_text(article.text, chunk_chars):
            ids.append(chunk_id(article.id, c.index))
            words.append(tokenize(c.text))
            names.append(text_keys(c.text))
            owner.append(article.id)
    last = owner[-1]
    cut = owner.index(last)  # the last article's chunks: what one new article adds
    print(f"{len(set(owner))} articles, {len(ids)} chunks, {sum(map(len, words)) / 1e6:.1f} M words")

    rows = []
    before = _rss_mb()
    old, t_old = _timed(lambda: (_bm25s(words), _bm25s(names)))
    rss_old = _rss_mb() - before
    new, t_new = _timed(lambda: LexicalIndex.from_tokens(ids, words, names=names))
    rows.append(("full build (words + names)", t_old, t_new))
    base = LexicalIndex.from_tokens(ids[:cut], words[:cut], names=names[:cut])
    _, t_add = _timed(lambda: base.updated(set(), ids[cut:], words[cut:], names[cut:], {}))
    rows.append((f"one article added ({len(ids) - cut} chunks)", t_old, t_add))
    _, t_change = _timed(lambda: new.updated({last}, ids[cut:], words[cut:], names[cut:], {}))
    rows.append(("one article changed", t_old, t_change))
    with tempfile.TemporaryDirectory() as tmp:
        _, t_save = _timed(lambda: new.save(Path(tmp) / "bm25"))
        size = (Path(tmp) / "bm25" / "index.npz").stat().st_size / 1e6
        _, t_load = _timed(lambda: LexicalIndex.load(Path(tmp) / "bm25"))

    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines()]
    asked = [[new.model.vocab[t] for t in tokenize(q) if t in new.model.vocab] for q in questions]
    asked = [q for q in asked if q]
    lat_old, lat_new, same, worst = [], [], 0, 0.0
    for q in asked:
        (docs, scores), t = _timed(lambda: old[0].retrieve([q], k=10, show_progress=False))
        lat_old.append(t)
        got, t = _timed(lambda: new.model.top(q, 10))
        lat_new.append(t)
        theirs = [float(s) for s in scores[0] if s > 0]  # scores, not ids: ties may be ordered either way
        ours = [s for _, s in got]
        same += len(theirs) == len(ours) and np.allclose(theirs, ours, atol=1e-4)
        worst = max([worst] + [abs(a - b) for a, b in zip(theirs, ours)])
    p50_old, p50_new = np.median(lat_old), np.median(lat_new)
    rows.append((f"a question's top 10 (p50 of {len(asked)})", p50_old, p50_new))

    print("\n| step | bm25s s | ours s | bm25s / ours |\n|---|---|---|---|")
    for name, a, b in rows:
        print(f"| {name} | {a:.4f} | {b:.4f} | {a / b:.1f}× |")
    print(f"\nsave {t_save:.2f} s, load {t_load:.2f} s, {size:.0f} MB on disk; bm25s's build raised peak RSS "
          f"by {rss_old:.0f} MB; the same top-10 scores for {same}/{len(asked)} questions "
          f"(largest difference {worst:.1e})")


if __name__ == "__main__":
    main()
