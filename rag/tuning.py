"""The measured knobs of retrieval and answering, in one place, each with why it has its value.

Every value was chosen by a measurement on one set and checked on others; the figures and the
alternatives that lost are in ``evals/RESULTS.md`` and the reasons in ``docs/design.md``.
Change one only with a new measurement (``python -m evals ... --baseline evals/baseline.json``).

Example:
    >>> TUNING.hub_weight, TUNING.rerank_depth
    (0.25, 40)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tuning:
    # -- first stage (docs/design.md, "Sentence-level scoring" … "Per-article spread") --------
    # HNSW's default breadth (100) found 77 % of the true 200 best sentences for English
    # questions among the distractor mix; 1000 finds 97 % for ≈5 ms more per query.
    ef_search: int = 1000
    # Sentences fetched per query for sentence-level scoring (chunk + best sentence).
    sentence_depth: int = 200
    # Shorter sentences ("Reuters.") get no vector of their own: they match every question.
    min_sentence_chars: int = 25
    # Candidates taken from each ranking before fusion.
    fusion_depth: int = 30
    # Reciprocal-rank fusion constant (the usual 60).
    rrf_k: int = 60
    # BM25's weight for Arabic questions: 1.0 cost XQuAD Arabic 0.010 over sentence scoring,
    # 0.5 cost 0.005, 0.25 is neutral to positive (and a safety net for exact names and numbers).
    arabic_lexical_weight: float = 0.25
    # Share of the collection's mean vector taken off the question (hub correction): English
    # questions among distractors recall@10 0.931 → 0.946, no set loses over 0.002 nDCG@10.
    hub_weight: float = 0.25
    # Share of the mean content-free question taken off a non-Arabic question: distractor mix
    # recall@10 0.953 → 0.961; 0.5 put another story above the seed article for the seed question.
    form_weight: float = 0.25
    # Bonus for a chunk holding all the question's name keys; small beside the median gap of
    # 0.07 between the first and the tenth candidate, so it reorders near-ties only.
    name_weight: float = 0.03
    # Chunks of one article in a result list before other articles get their turn.
    per_article: int = 2

    # -- second stage (docs/design.md, "Quality profile") --------------------------------------
    # First-stage candidates the second stage re-scores: the best 20 chunks missed golds that
    # the best 30 articles hold.
    rerank_depth: int = 40
    # The second model's standardised score against the first stage's (3–8 measured alike; 2 a
    # little lower).
    rerank_weight: float = 3.0

    # -- abstention (docs/design.md, "Abstention"); calibrated on the news QA set --------------
    # An answerable question lifts its best passage above the mean of ranks 20–60 by ≥ 0.029;
    # unanswerable ones sit at 0.014–0.069 and off-topic probes over ANT reach 0.029.
    min_gap: float = 0.03
    # Follow-ups' condensed queries dilute the similarity (answerable from 0.020).
    followup_min_gap: float = 0.018
    # Between min_gap and confident_gap the answer carries a weak-match warning.
    confident_gap: float = 0.05
    background: tuple[int, int] = (20, 60)
    # The background ranks rise as an index grows, so the same question's gap shrinks: per e-fold
    # of chunks, answerable ones by 0.007, off-topic unanswerable ones by 0.0025 (RESULTS
    # 2026-12-03k). Gaps are read at the news index's size, where min_gap was set; of 0, 0.0035,
    # 0.0055 and 0.0075, this slope kept the calibration sets' abstentions both ways nearest
    # their own-size figures over a 43k-chunk archive.
    gap_per_log_size: float = 0.0035
    gap_reference_chunks: int = 1554
    # The relevance model over (gap, sentence, aligned, names) (rag.answers.relevance); answered when
    # p >= 0.5. `python -m evals.calibrate` found no signal beyond the gap that separates
    # near-miss questions (AUC 0.50-0.62), so this is the gap rule: p = 0.5 at gap = min_gap.
    relevance_weights: tuple[float, ...] = (100.0, 0.0, 0.0, 0.0)
    relevance_bias: float = -100.0 * 0.03
    # Below this probability an answer carries the weak-match warning.
    confident_probability: float = 0.88
    # Used only when the index is too small for a background.
    min_passage_score: float = 0.77

    # -- extractive evidence (docs/design.md, "Extractive evidence") ---------------------------
    # Points quoted. With the two knobs below, on the fresh calibration questions "answer inside
    # the quotes" went 0.571 (one sentence, 3 points, margin 0.03) → 0.857 (evals/RESULTS.md).
    max_evidence: int = 4
    # A quote also takes the next sentence when both fit in this many characters (0: never):
    # the fact asked for often follows the sentence that matches the question.
    join_next_chars: int = 300
    # Best sentences (by vector) reordered by token alignment too (rag.answers.align): the answer
    # sentence is among the first 8 of its paragraph for nearly every XQuAD question.
    align_shortlist: int = 8
    # Further sentences scoring within this of the best are quoted too.
    evidence_margin: float = 0.06
    # One sentence; with the next sentence a quote may reach twice this.
    max_quote_chars: int = 300

    # -- LLM answers (docs/design.md, "LLM answers") ----------------------------------------
    # An LLM sentence's cosine to its quote (the embedding model's vectors) below which it is
    # replaced by the quote. On 811 parallel English/Arabic XQuAD sentences 87 % of the true
    # translations pass and 3 % of the other sentences of the same paragraph (evals/RESULTS.md).
    min_render_similarity: float = 0.84


TUNING = Tuning()
