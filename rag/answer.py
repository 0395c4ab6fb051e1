"""Extractive answers: evidence sentences quoted exactly from the best passages, or abstention.

No LLM: the question and the sentences of the top passages are embedded with the same
multilingual model, so an English question finds Arabic evidence; every quote is a slice
of the cited chunk, so it is verbatim by construction (and checked again below).

Example:
    >>> ans = answer(index, "What did Russia say about the Gulf alliance?")   # doctest: +SKIP
    >>> print(ans.answer)                                                        # doctest: +SKIP
    According to وكالة سبوتنيك الروسية: «… يشكك في إمكانية تنفيذ الفكرة الأميركية …» [1]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from rag.hits import Filters, Hit
from rag.index import Index
from rag.outlets import outlet_name
from rag.recipes import BACKGROUND, EVIDENCE
from rag.text import is_arabic, sentence_spans
from rag.tuning import TUNING

# Relevance is judged against a background: e5 similarities are compressed (off-topic
# passages score 0.70-0.80 too), but an answerable question lifts its best passage above the
# mean of the background ranks (TUNING.background). Questions about years after the newest
# article are checked separately (see ``later_years``); docs/design.md, "Abstention".
_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|2[01]\d\d)(?!\d)")


@dataclass
class Citation:
    n: int
    article_id: str
    chunk_id: str
    title: str
    source: str
    url: str
    date: str
    quote: str
    score: float = 0.0
    passage: str = ""  # the whole cited chunk, for display


@dataclass
class Answer:
    question: str
    answer: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    passages: list[Hit] = field(default_factory=list)
    confident: bool = False
    mode: str = "extractive"  # or "llm"; "extractive" also when an LLM answer fell back
    invalid_citations: int = 0  # LLM citations removed by the check (never shown)


def condense(question: str, history: list[dict] | None) -> str:
    """The retrieval query for a chat turn: the previous user question, then this one.

    Deterministic (no LLM): a follow-up such as "What did he say about Iran?" borrows the
    subject of the turn before it. Only retrieval uses this; the raw question is answered.

    >>> condense("What did he say about Iran?", [{"role": "user", "content": "Who is Lavrov?"}])
    'Who is Lavrov? What did he say about Iran?'
    """
    previous = [t["content"].strip() for t in (history or []) if t.get("role") == "user" and t.get("content")]
    return f"{previous[-1]} {question}" if previous else question


@dataclass
class Evidence:
    """What retrieval found for one chat turn; shared by the extractive and generative modes."""

    question: str
    query: str  # what retrieval saw (condensed with the conversation)
    qvec: np.ndarray
    hits: list[Hit]
    margin: float  # relevance above the background; negative means "not answered"
    later: list[str] = field(default_factory=list)  # years asked about after the newest article

    @property
    def arabic(self) -> bool:
        return is_arabic(self.question)


def gather(index: Index, question: str, k: int = 6, filters: Filters | None = None,
           history: list[dict] | None = None, query: str | None = None) -> Evidence:
    """Retrieve ``k`` passages for a chat turn and judge how well they match.

    ``query`` overrides the deterministic condensation (e.g. an LLM's standalone question).
    """
    question = question.strip()
    query = query or condense(question, history)
    vectors = index.embedder.embed_queries([question] if query == question else [question, query])
    ranked = index.search(query, max(k, TUNING.background[1]), recipe=BACKGROUND, vector=vectors[-1])
    # With sentence-scored chunks the seed question's doubt sentence lost its place to other
    # Russia stories: evidence reads the chunks it was calibrated on (rag.recipes.EVIDENCE).
    hits = index.search(query, k, filters, recipe=EVIDENCE, vector=vectors[-1])
    top = max((h.score for h in hits), default=0.0)  # the best passage's own cosine, however ranked
    min_gap = TUNING.followup_min_gap if query != question else TUNING.min_gap
    margin = relevance(top, ranked, min_gap) if hits else -1.0
    return Evidence(question, query, vectors[0], hits, margin, later_years(question, index.date_range()))


def later_years(question: str, dates: tuple[str, str] | None) -> list[str]:
    """Years the question names that are all later than the newest article (else empty).

    Such a question asks about events the sources cannot have reported, unless a passage
    looks ahead to that year (checked on the evidence).

    >>> later_years("Who won the 2022 World Cup?", ("2018-02-01", "2018-10-31"))
    ['2022']
    >>> later_years("Did the 2018 vote and the 2022 plan change?", ("2018-02-01", "2018-10-31"))
    []
    """
    years = _YEAR.findall(question)
    if not dates or not years or not all(y > dates[1][:4] for y in years):
        return []
    return years


def answer(index: Index, question: str, k: int = 6, filters: Filters | None = None,
           history: list[dict] | None = None) -> Answer:
    """Retrieve ``k`` passages (within ``filters``) and answer ``question`` from their sentences.

    ``history``: earlier turns (``{"role", "content"}``) of a conversation, for follow-ups.
    """
    return extract(index, gather(index, question, k, filters, history))


def extract(index: Index, ev: Evidence) -> Answer:
    """The extractive answer for retrieved evidence: quoted sentences, or abstention."""
    question, hits, arabic = ev.question, ev.hits, ev.arabic
    if ev.margin < 0:
        return abstain(ev)
    candidates, svecs = _sentences(index, hits)
    if not candidates:
        return abstain(ev)
    # Sentence evidence counts most; the passage score breaks ties toward the better passage.
    scores = svecs @ ev.qvec + 0.25 * np.array([h.score for h, _, _ in candidates])
    order = np.argsort(-scores)
    chosen = [i for i in order if scores[i] >= scores[order[0]] - TUNING.evidence_margin][:TUNING.max_evidence]
    spans = _with_next_sentence([candidates[i] + (float(scores[i]),) for i in chosen])
    citations = [cite(n, h, a, b, score) for n, (h, a, b, score) in enumerate(spans, 1)]
    assert all(c.quote in c.passage for c in citations)
    confident = ev.margin >= TUNING.confident_gap - TUNING.min_gap
    if ev.later and not (confident and any(y in c.quote for y in ev.later for c in citations)):
        return abstain(ev)  # asks about a year after the sources, and nothing speaks of it
    text = compose(citations, arabic)
    if not confident:
        text += "\n" + WEAK[arabic]
    return Answer(question, text, False, citations, hits, confident)


def _sentences(index: Index, hits: list[Hit]) -> tuple[list[tuple[Hit, int, int]], np.ndarray]:
    """Every sentence of ``hits`` as (hit, start, end), with the vector stored for it at ingest."""
    stored = index.sentence_vectors(hits)
    candidates, vecs = [], []
    for h in hits:
        for a, b, v in sorted(stored.get(h.chunk_id, ()), key=lambda x: x[0]):
            candidates.append((h, a, b))
            vecs.append(v)
    return candidates, np.array(vecs, dtype=np.float32)


def _with_next_sentence(chosen: list[tuple]) -> list[tuple]:
    """Each (hit, start, end, score) extended to the end of the next sentence of its chunk,
    overlapping quotes merged, in reading order.

    A best-matching sentence often sets the scene ("the plane crashed after take-off from
    Havana") and the next one holds the fact asked for ("it was flying to Holguin"); measured
    on the news set, quoting both raised "answer inside the quotes" from 0.86 to 0.93.
    """
    out: list[list] = []
    for h, a, b, score in sorted(chosen, key=lambda c: (c[0].rank, c[1])):
        nxt = min((e for s, e in sentence_spans(h.text) if s >= b), default=b)
        if nxt - a <= 2 * TUNING.max_quote_chars:  # many articles put each sentence on its own line
            b = nxt
        if out and out[-1][0] is h and a <= out[-1][2]:
            out[-1][2], out[-1][3] = max(b, out[-1][2]), max(score, out[-1][3])
        else:
            out.append([h, a, b, score])
    return [tuple(x) for x in out]


def cite(n: int, h: Hit, a: int, b: int, score: float = 0.0) -> Citation:
    """Citation ``n`` quoting ``h.text[a:b]``."""
    return Citation(n=n, article_id=h.article_id, chunk_id=h.chunk_id, title=h.title, source=h.source,
                    url=h.url, date=h.date, quote=h.text[a:b], score=score, passage=h.text)


WEAK = {False: "(Weak match: these passages may not answer the question.)",
        True: "(تطابق ضعيف: قد لا تجيب هذه المقاطع عن السؤال.)"}


def relevance(top: float, ranked: list[Hit], min_gap: float = TUNING.min_gap) -> float:
    """How far score ``top`` stands above the background, less ``min_gap``; negative means
    "not answered"."""
    lo, hi = TUNING.background
    if len(ranked) < (lo + hi) // 2:
        return top - TUNING.min_passage_score
    background = float(np.mean([h.score for h in ranked[lo:hi]]))
    return top - background - min_gap


def _lead(c: Citation, arabic: bool) -> str:
    who = outlet_name(c.source) or c.title
    when = f" ({c.date[:10]})" if c.date else ""
    return f"بحسب {who}{when}:" if arabic else f"According to {who}{when}:"


def compose(citations: list[Citation], arabic: bool) -> str:
    """One line per cited article: a lead naming outlet and date, then the exact quotes."""
    lines, last = [], None
    for c in citations:
        quote = f"«{c.quote}» [{c.n}]"
        if c.article_id == last:
            lines[-1] += " " + quote
        else:
            lines.append(f"{_lead(c, arabic)} {quote}")
        last = c.article_id
    return "\n".join(lines)


def abstain(ev: Evidence) -> Answer:
    """"The sources do not answer this", with the nearest passages."""
    text = ("لا تجيب المصادر المتاحة عن هذا السؤال. أقرب المقاطع معروضة أدناه."
            if ev.arabic else "The sources do not answer this question. The nearest passages are listed below.")
    return Answer(ev.question, text, True, [], ev.hits)
