"""Evaluation runs: build (or reuse) an index per set, rank articles with each recipe, check answers.

The command is :mod:`evals.cli` (``python -m evals --help``); tables and plots are :mod:`evals.report`.

Example:
    >>> rows, summary = evaluate(es, index, "hybrid", qvecs)        # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

from evals.datasets import EvalSet
from evals.metrics import dedupe, percentile, summarize
from rag.answers.extractive import condense
from rag.api.service import ask, citation_json
from rag.embed.embedder import stored_vectors
from rag.ids import article_of
from rag.index import Index
from rag.retrieve.recipes import RECIPES
from rag.settings import Settings, cache_dir
from rag.storage.store import LAYOUT

CHUNK_K = 30  # chunks fetched per question before collapsing to articles


def build_index(es: EvalSet, settings_kw: dict, embedder=None, reranker=None) -> tuple[Index, dict]:
    """Index the set's articles (or its ``paths``) with the real ingest path; cached and
    incremental across runs."""
    if es.paths:  # a user's corpus: keyed by where it is; ingest itself skips what is unchanged
        blob = "\n".join(es.paths)
    else:
        blob = "\n".join(json.dumps(a, ensure_ascii=False, sort_keys=True) for a in es.articles)
    digest = hashlib.sha256(blob.encode()).hexdigest()
    # fp32 runtimes give the same vectors and share an index; int8 and bf16 vectors get their own
    stored = stored_vectors(settings_kw.get("runtime") or Settings().runtime)
    key = {k: v for k, v in settings_kw.items() if k != "runtime"} | ({stored: True} if stored != "fp32" else {})
    model_tag = hashlib.sha256(json.dumps({**key, "layout": LAYOUT}, sort_keys=True).encode()).hexdigest()[:8]
    # Keyed by content, so sets over the same paragraphs (XQuAD en/ar) share one index.
    root = cache_dir() / "evals" / f"{es.name.split('-')[0]}-{digest[:12]}-{model_tag}"
    root.mkdir(parents=True, exist_ok=True)
    sources = es.paths
    if not es.paths:
        sources = [root / "articles.jsonl"]
        sources[0].write_text(blob + "\n", encoding="utf-8")
    index = Index.open(Settings(db=root / "db", **settings_kw), embedder=embedder, reranker=reranker)
    report = index.ingest(sources)
    if report.failed:
        print(f"warning: {report.failed} input(s) of {es.name} failed; the set is measured without them",
              file=sys.stderr)
    return index, {"corpus_sha256": digest, "articles": index.count()[0], "chunks": index.count()[1],
                   "ingest_seconds": round(report.seconds, 1), "indexed_now": report.articles}


def open_existing(db, settings_kw: dict, embedder=None, reranker=None) -> tuple[Index, dict]:
    """An index built elsewhere (a whole archive, say), measured as it is: nothing is ingested."""
    if not (Path(db) / "rag.json").is_file():
        raise ValueError(f"{db}: no index here (build one with `rag ingest FILES --db {db}`)")
    index = Index.open(Settings(db=db, **settings_kw), embedder=embedder, reranker=reranker)
    articles, chunks = index.count()
    return index, {"db": str(db), "articles": articles, "chunks": chunks, "indexed_now": 0}


def _query_text(q) -> str:
    """What retrieval sees: a follow-up is condensed with its previous question."""
    return condense(q.text, [{"role": "user", "content": q.context}] if q.context else None)


def evaluate(es: EvalSet, index: Index, config: str = "dense", qvecs=None) -> tuple[list[dict], dict]:
    """Rank articles for every answerable question with the recipe ``RECIPES[config]``: dense,
    sentences, bm25, hybrid (the default), rerank (hybrid, then the index's second stage), or an
    analyzer ablation ``bm25:A`` / ``hybrid:A`` (A in ``rag.storage.lexical.ANALYZERS``)."""
    from tqdm import tqdm

    recipe = RECIPES[config]
    rows = []
    for q, vec in tqdm(list(zip(es.questions, qvecs)), desc=f"{es.name}/{config}", unit="q"):
        if not q.gold:
            continue
        t = time.perf_counter()
        chunk_ids = [h.chunk_id for h in index.search(_query_text(q), CHUNK_K, recipe=recipe, vector=vec)]
        ms = (time.perf_counter() - t) * 1000
        rows.append({"set": es.name, "config": config, "id": q.id, "question": q.text,
                     "lang": f"{q.lang}->{q.doc_lang}", "gold": q.gold,
                     "ranked": dedupe([article_of(c) for c in chunk_ids])[:10], "search_ms": round(ms, 2)})
    summary = summarize(rows)
    summary["search_ms_p50"] = round(percentile([r["search_ms"] for r in rows], 50), 2)
    summary["search_ms_p95"] = round(percentile([r["search_ms"] for r in rows], 95), 2)
    return rows, summary


_BOILERPLATE = frozenset("found in article articles best match quoted arabic according to and naming with the "
                         "figure figures weak these passages may not answer question".split())


def own_words(ans) -> bool:
    """Whether an answer says something in words of the question's language beyond its quotes,
    attributions and fixed phrases: a name, a figure or a sentence of its own.

    >>> from rag.answers.extractive import Answer, Citation
    >>> c = [Citation(1, "a", "a::0", "", "bbc", "", "2018-05-01", "نص")]
    >>> own_words(Answer("q", "According to BBC Arabic (2018-05-01): «نص» [1]", False, c))
    False
    >>> own_words(Answer("q", "Found in 1 article. Best match: BBC Arabic, naming Erdogan.", False, c))
    True
    """
    import re

    from rag.outlets import outlet_name

    text = re.sub(r"«[^»]*»|\[\d+\]|\(\d{4}-\d{2}-\d{2}\)", " ", ans.answer)
    for c in ans.citations:
        text = text.replace(outlet_name(c.source) or c.title, " ")
    words = re.findall(r"[A-Za-z]+|\d+", text)
    return any(w.lower() not in _BOILERPLATE for w in words)


def evaluate_answers(es: EvalSet, index: Index, llm=None) -> tuple[list[dict], dict]:
    """Answers (extractive, or LLM-written with ``llm``): citation validity, gold cited,
    expected answer quoted, abstention, follow-ups, latency."""
    from tqdm import tqdm

    from evals.metrics import recall_at_k
    from rag.text import normalize_ar

    rows = []
    mode = "llm" if llm else "extractive"
    for q in tqdm(es.questions, desc=f"{es.name}/answers-{mode}", unit="q"):
        history = [{"role": "user", "content": q.context}] if q.context else None
        t = time.perf_counter()
        ans = ask(index, q.text, history=history, llm=llm)
        ms = (time.perf_counter() - t) * 1000
        chunks = {h.chunk_id: h.text for h in ans.passages}
        quotes = normalize_ar(" ".join(c.quote for c in ans.citations))
        row = {"set": es.name, "config": f"answers-{mode}", "mode": ans.mode,
               "invalid_citations": ans.invalid_citations, "checked": ans.checked, "replaced": ans.replaced,
               "own_words": own_words(ans),
               "id": q.id, "kind": q.kind, "lang": q.lang, "question": q.text,
               "abstained": ans.abstained, "confident": ans.confident, "answer": ans.answer, "ms": round(ms, 1),
               "citations": [{**citation_json(c), "valid": c.quote in chunks.get(c.chunk_id, "")} for c in ans.citations],
               "gold_cited": any(c.article_id in q.gold for c in ans.citations),
               "answer_in_quotes": bool(q.answers) and any(normalize_ar(a) in quotes for a in q.answers)}
        if q.kind == "followup":  # retrieval of the follow-up alone vs condensed with its context
            raw = dedupe([h.article_id for h in index.search(q.text, CHUNK_K)])  # what users get
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
        "llm_answers_kept": sum(r["checked"] > 0 for r in rows),  # at least one model sentence shown
        "english_beyond_quotes": share([r for r in rows if r["lang"] != "ar" and not r["abstained"]], "own_words"),
        "llm_sentences_checked": f"{sum(r['checked'] for r in rows)}/{sum(r['checked'] + r['replaced'] for r in rows)}",
        "invalid_citations_removed": sum(r["invalid_citations"] for r in rows),
        "answer_ms_p50": round(percentile([r["ms"] for r in rows], 50), 1),
        "answer_ms_p95": round(percentile([r["ms"] for r in rows], 95), 1),
    }
    return rows, summary
