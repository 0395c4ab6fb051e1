"""Does the evidence answer the question? Several signals, one calibrated decision (pure).

One threshold on one signal did not carry over to new questions: e5-small's cross-lingual
margins are thin. The signals are independent views of the same evidence:

- ``gap``: the best passage's cosine above the mean of the background ranks 20-60;
- ``sentence``: the best sentence's cosine to the question;
- ``aligned``: how well the question's words find their translations in that sentence
  (token alignment, :mod:`rag.answers.align`);
- ``names``: the share of the question's names and numbers that the evidence passages hold
  (matched across scripts, :mod:`rag.names`; 1 when the question has none).

A logistic model over them (``TUNING.relevance_weights``) is fitted on the calibration
questions only (``python -m evals.calibrate``); the report set never sees it. Fitted on near-miss
questions it found no separating signal, so the shipped weights use the gap alone
(docs/design.md, "Abstention").

Example:
    >>> s = Signals(gap=0.08, sentence=0.86, aligned=0.62, names=1.0)
    >>> 0.0 < s.probability() < 1.0
    True
"""

from __future__ import annotations

import math
from dataclasses import astuple, dataclass

import numpy as np

from rag.names import question_keys, text_keys
from rag.tuning import TUNING

FEATURES = ("gap", "sentence", "aligned", "names")


@dataclass
class Signals:
    gap: float
    sentence: float
    aligned: float
    names: float

    def probability(self) -> float:
        """The calibrated probability that the evidence answers the question."""
        z = TUNING.relevance_bias + float(np.dot(TUNING.relevance_weights, astuple(self)))
        return 1.0 / (1.0 + math.exp(-z))


def names_found(question: str, texts: list[str]) -> float:
    """Share of the question's name and number keys found in ``texts`` (1.0 when it has none).

    >>> names_found("Did Erdogan visit Berlin in 2018?", ["زار أردوغان ألمانيا عام 2018"])
    0.6666666666666666
    >>> names_found("what happened?", ["..."])
    1.0
    """
    keys = question_keys(question)
    if not keys:
        return 1.0
    held = set(text_keys(" ".join(texts)))
    return sum(k in held for k in keys) / len(keys)


def background_gap(top: float, ranked_scores: list[float], chunks: int = 0) -> float | None:
    """``top`` above the mean of the background ranks (``TUNING.background``) of an index of
    ``chunks``, read at the size the thresholds were calibrated at; None when the index is too
    small to have a background.

    >>> background_gap(0.9, [0.8] * 60)
    0.09999999999999998
    """
    lo, hi = TUNING.background
    if len(ranked_scores) < (lo + hi) // 2:
        return None
    return top - float(np.mean(ranked_scores[lo:hi])) + size_correction(chunks)


def size_correction(chunks: int) -> float:
    """What a question's gap loses to an index larger than the calibration index: the background
    ranks rise with the log of its size (``TUNING.gap_per_log_size``). Never negative: a smaller
    index is judged as calibrated.

    >>> size_correction(100), round(size_correction(TUNING.gap_reference_chunks * 20) / math.log(20), 4) > 0
    (0.0, True)
    """
    return TUNING.gap_per_log_size * max(0.0, math.log(max(chunks, 1) / TUNING.gap_reference_chunks))
