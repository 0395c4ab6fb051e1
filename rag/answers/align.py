"""Which sentence answers: token alignment beside the sentence vector (pure helpers).

e5-small's sentence vectors rank an English question's Arabic answer sentence first in only
0.70 of XQuAD questions (among its paragraph's sentences): cross-lingual margins are thin. A
multilingual encoder's middle layers align words with their translations (SimAlign, Jalili
Sabet et al. 2020), so the mean over question tokens of their best match in a sentence
("MaxSim", as in ColBERT) is a second, independent signal. The sum of the two, each
standardised over the candidates, picks the answer sentence in 0.75 (docs/design.md,
"Sentence alignment").

Example:
    >>> q = np.eye(3)[:2]                      # two question tokens
    >>> maxsim(q, np.eye(3)), maxsim(q, np.eye(3)[2:])
    (1.0, 0.0)
"""

from __future__ import annotations

import numpy as np


def maxsim(question: np.ndarray, sentence: np.ndarray) -> float:
    """Mean over question tokens of the best cosine with any sentence token (rows normalised)."""
    if not len(question) or not len(sentence):
        return 0.0
    return float((question @ sentence.T).max(axis=1).mean())


def standardised(x: np.ndarray) -> np.ndarray:
    """``x`` as z-scores (zeros when all equal).

    >>> standardised(np.array([1.0, 2.0, 3.0])).round(3).tolist()
    [-1.225, 0.0, 1.225]
    """
    sd = float(x.std())
    return (x - x.mean()) / sd if sd > 1e-9 else np.zeros_like(x)


def combined(dense: np.ndarray, aligned: np.ndarray) -> np.ndarray:
    """The order-deciding score: standardised sentence similarity plus standardised alignment."""
    return standardised(dense) + standardised(aligned)
