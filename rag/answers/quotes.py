"""Quotes a reader can use: one sentence, cut at a clause when long; one point per fact.

Pure helpers over offsets into the passage, so a quote stays a verbatim slice of its chunk.

Example:
    >>> s = "قال الوزير إن الاتفاق سيوقع الأسبوع المقبل، وأضاف أن الرسوم سترفع بنسبة 10 في المئة."
    >>> [s[a:b] for a, b in clause_windows(s, 0, len(s), 50)]
    ['قال الوزير إن الاتفاق سيوقع الأسبوع المقبل،', 'وأضاف أن الرسوم سترفع بنسبة 10 في المئة.']
"""

from __future__ import annotations

import re

from rag.text import normalize_ar

# A clause ends at a comma, colon or semicolon (Latin or Arabic) followed by a space.
_CLAUSE = re.compile(r"[,،:;؛](?=\s)")
_WORD = re.compile(r"\w+")
# Word sets this similar tell the same fact: agency copy that outlets re-edit (measured on
# pairs of ANT articles about one event; unrelated sentences of one story stay below 0.3).
SAME_FACT = 0.5


def clause_windows(text: str, a: int, b: int, max_chars: int) -> list[tuple[int, int]]:
    """Every run of whole clauses of ``text[a:b]`` at most ``max_chars`` long, longest first
    from each start; the whole span when it fits. A clause longer than ``max_chars`` is cut
    at the last space before the limit.

    >>> clause_windows("one, two, three", 0, 15, 10)
    [(0, 9), (5, 15)]
    """
    if b - a <= max_chars:
        return [(a, b)]
    cuts = [a] + [m.end() for m in _CLAUSE.finditer(text, a, b)] + [b]
    bounds = [(cuts[i], cuts[i + 1]) for i in range(len(cuts) - 1)]
    out = []
    for i, (start, _) in enumerate(bounds):
        start = _skip_space(text, start, b)
        end = None
        for _, e in bounds[i:]:
            if e - start > max_chars:
                break
            end = e
        if end is None:  # one long clause: up to the last space that fits
            space = text.rfind(" ", start, start + max_chars)
            end = space if space > start else start + max_chars
        end = _trim(text, start, end)
        if not out or out[-1][1] < end:
            out.append((start, end))
    return out


def _skip_space(text: str, i: int, b: int) -> int:
    while i < b and text[i].isspace():
        i += 1
    return i


def _trim(text: str, a: int, b: int) -> int:
    while b > a and text[b - 1].isspace():
        b -= 1
    return b


def words(text: str) -> set[str]:
    """Folded word set, for telling the same fact apart from another.

    >>> sorted(words("أعلن الرئيس، أمس"))
    ['اعلن', 'الرييس', 'امس']
    """
    return set(_WORD.findall(normalize_ar(text)))


def same_fact(x: set[str], y: set[str]) -> bool:
    """Whether two quotes' word sets (:func:`words`) overlap enough to be one fact.

    >>> same_fact(words("قتل 5 أشخاص في انفجار ببغداد"), words("قتل 5 أشخاص في انفجار في بغداد اليوم"))
    True
    >>> same_fact(words("قتل 5 أشخاص في انفجار ببغداد"), words("وصل الوزير إلى عمان"))
    False
    """
    if not x or not y:
        return False
    return len(x & y) / len(x | y) >= SAME_FACT
