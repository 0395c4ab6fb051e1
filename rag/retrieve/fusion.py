"""Fusion of dense and lexical rankings, aware of the question's language (pure helpers).

BM25 cannot match an English question to Arabic text (≈0.11 nDCG@10 on XQuAD English→Arabic),
so its weight is zero unless the question is written in Arabic; then reciprocal-rank fusion
lets exact Arabic words lift passages the dense model ranks too low. Other questions match
their names across scripts instead (:mod:`rag.names`, a bonus in :func:`sentence_scores`),
and their question form is taken off (:data:`QUESTION_FORMS`).

Example:
    >>> list(rrf([["a", "b", "c"], ["c", "d"]], [1.0, 1.0]))
    ['c', 'a', 'b', 'd']
    >>> lexical_weight("What did Russia say?"), lexical_weight("ماذا قالت روسيا؟")
    (0.0, 0.25)
    >>> per_article(["a::0", "a::1", "a::2", "b::0"], 2)
    ['a::0', 'a::1', 'b::0', 'a::2']
    >>> centred(np.array([1.0, 0.0]), np.array([0.4, 0.4]))
    array([ 0.9, -0.1])
"""

from __future__ import annotations

import numpy as np

from rag.ids import article_of
from rag.text import is_arabic
from rag.tuning import TUNING


def lexical_weight(question: str) -> float:
    """Weight of BM25 in the fusion for this question."""
    return TUNING.arabic_lexical_weight if is_arabic(question) else 0.0


def rrf(rankings: list[list[str]], weights: list[float], k: int = TUNING.rrf_k) -> dict[str, float]:
    """Weighted reciprocal-rank fusion: item → fused score, best first; ties keep the order of
    the first ranking."""
    scores: dict[str, float] = {}
    for ranking, w in zip(rankings, weights):
        if w <= 0:
            continue
        for rank, item in enumerate(ranking):
            scores[item] = scores.get(item, 0.0) + w / (k + rank + 1)
    first = {item: i for i, item in enumerate(dict.fromkeys(x for r in rankings for x in r))}
    return {item: scores[item] for item in sorted(scores, key=lambda item: (-scores[item], first[item]))}


# Questions with every content word taken out: their mean vector is what English questions
# share whatever they ask ("question form"), which no passage should be rewarded for matching.
# Taking it off the question (``TUNING.form_weight``) does on the question's side what the hub
# correction does on the passages' side (docs/design.md, "Question form").
QUESTION_FORMS = (
    "What is it?", "Who is he?", "Who was she?", "When did it happen?", "Where is it?",
    "Why did they do it?", "How many were there?", "How much was it?", "Which one?",
    "What did he say?", "What did they say about it?", "In what year was it?",
    "What kind of thing is it?", "How did it happen?", "What happened?", "Who did it?",
)


def centred(vector: np.ndarray, mean: np.ndarray, weight: float = TUNING.hub_weight) -> np.ndarray:
    """The question vector minus ``weight`` times the collection's mean vector (hub correction).

    Ranking by ``(q - w·mean)·d`` takes ``w·mean·d`` off every passage: passages close to the
    collection's centre ("hubs": generic news that is near every question) lose a little,
    passages close to the question and nothing else keep their place (docs/design.md,
    "Hub correction").
    """
    return vector - weight * mean


def per_article(chunk_ids: list[str], limit: int = TUNING.per_article) -> list[str]:
    """Demote an article's chunks beyond the first ``limit`` below every other article's.

    Several chunks of one long article must not crowd out other articles (or the same story
    told by other outlets). Article order is unchanged, so article-level metrics are too.
    """
    seen: dict[str, int] = {}
    head, tail = [], []
    for cid in chunk_ids:
        art = article_of(cid)
        seen[art] = seen.get(art, 0) + 1
        (head if seen[art] <= limit else tail).append(cid)
    return head + tail


def sentence_scores(chunk: dict[str, float], sentence: dict[str, float], floor: float,
                    names: dict[str, float] | None = None) -> dict[str, float]:
    """Chunk id → chunk score + best-sentence score (similarities to the centred question)
    + ``TUNING.name_weight`` × the share of the question's names the chunk holds (``names``, from
    :meth:`rag.storage.lexical.LexicalIndex.name_match`), best first; a chunk with no retrieved
    sentence gets ``floor`` (the weakest sentence retrieved) instead.

    One question usually matches one sentence (docs/design.md, "Sentence-level scoring"); the
    name bonus only reorders near-ties ("Names across scripts").

    >>> list(sentence_scores({"a": 0.80, "b": 0.82}, {"a": 0.90}, floor=0.75))
    ['a', 'b']
    >>> list(sentence_scores({"a": 0.80, "b": 0.82}, {}, floor=0.75, names={"a": 1.0}))
    ['a', 'b']
    """
    names = names or {}
    score = {c: chunk[c] + sentence.get(c, floor) + TUNING.name_weight * names.get(c, 0.0) for c in chunk}
    return dict(sorted(score.items(), key=lambda item: -item[1]))
