"""Sentence-level measurements on XQuAD, for the answer layer's two sentence-level choices.

    python -m evals.sentences choice --lang en --limit 300   # which sentence answers?
    python -m evals.sentences similarity                     # the LLM check's similarity threshold

``choice``: among the sentences of a question's gold paragraph, how often the first by stored
sentence vector, by token alignment, and by both (what ``rag.answers.extractive`` does) holds the answer.
``similarity``: cosines of XQuAD's parallel English/Arabic sentences (paragraphs with as many
sentences in both languages, paired by position) against the other sentences of the same
paragraph, as pass rates per threshold (``TUNING.min_render_similarity``).
"""

from __future__ import annotations

import json
import random
from typing import Annotated

import numpy as np
import typer

from evals.datasets import SHARED
from rag.answers.align import combined, maxsim
from rag.text import sentence_spans
from rag.tuning import TUNING

app = typer.Typer(add_completion=False)


def _paragraphs(lang: str):
    ar = json.loads((SHARED / "evals" / "xquad" / "xquad.ar.json").read_text(encoding="utf-8"))["data"]
    other = json.loads((SHARED / "evals" / "xquad" / f"xquad.{lang}.json").read_text(encoding="utf-8"))["data"]
    for a, o in zip(ar, other):
        yield from zip(a["paragraphs"], o["paragraphs"])


def _sentences(text: str) -> list[tuple[int, int]]:
    return [(a, b) for a, b in sentence_spans(text) if b - a >= TUNING.min_sentence_chars]


@app.command()
def choice(lang: Annotated[str, typer.Option(help="question language: en or ar")] = "en",
           limit: Annotated[int, typer.Option(help="questions (a seeded sample)")] = 300) -> None:
    from rag.embed.embedder import Embedder

    items = []
    for pa, pq in _paragraphs(lang):
        spans = _sentences(pa["context"])
        for qa_a, qa_q in zip(pa["qas"], pq["qas"]):
            start = qa_a["answers"][0]["answer_start"]
            gold = [i for i, (a, b) in enumerate(spans) if a <= start < b]
            if gold and len(spans) > 1:
                items.append((qa_q["question"], pa["context"], spans, gold[0]))
    random.Random(0).shuffle(items)
    items = items[:limit]
    emb, cache, right = Embedder(), {}, {"vector": 0, "alignment": 0, "both": 0}
    for question, context, spans, gold in items:
        if context not in cache:
            texts = [context[a:b] for a, b in spans]
            cache[context] = (emb.embed_passages(texts), emb.token_vectors(texts))
        vecs, toks = cache[context]
        dense = vecs @ emb.embed_queries([question])[0]
        qtok = emb.token_vectors([question], query=True)[0]
        aligned = np.array([maxsim(qtok, t) for t in toks])
        right["vector"] += int(np.argmax(dense) == gold)
        right["alignment"] += int(np.argmax(aligned) == gold)
        right["both"] += int(np.argmax(combined(dense, aligned)) == gold)
    typer.echo(f"XQuAD {lang}→ar, {len(items)} questions, answer sentence first: "
               + ", ".join(f"{k} {v / len(items):.3f}" for k, v in right.items()))


@app.command()
def similarity() -> None:
    from rag.embed.embedder import Embedder

    emb, pos, neg = Embedder(), [], []
    for pa, pe in _paragraphs("en"):
        sa = [pa["context"][a:b] for a, b in _sentences(pa["context"])]
        se = [pe["context"][a:b] for a, b in _sentences(pe["context"])]
        if len(sa) != len(se) or len(sa) < 2:
            continue
        sim = emb.embed_passages(se) @ emb.embed_passages(sa).T
        pos += list(np.diag(sim))
        neg += [float(sim[i, j]) for i in range(len(se)) for j in range(len(sa)) if i != j]
    pos, neg = np.array(pos), np.array(neg)
    typer.echo(f"{len(pos)} parallel pairs, {len(neg)} same-paragraph others")
    for t in np.arange(0.80, 0.905, 0.01):
        typer.echo(f"threshold {t:.2f}: translations pass {np.mean(pos >= t):.3f}, others pass {np.mean(neg >= t):.3f}")


if __name__ == "__main__":
    app()
