"""What kind of answer a question asks for, and whether quoted evidence holds one (pure helpers).

A near miss names the right people and places but asks for a detail the articles do not give
("How much was Maradona paid by Fujairah?" over an article on his departure): retrieval rightly
finds the article, so no similarity tells it apart (evals/RESULTS.md, "Abstention"). What can be
checked without a reader model is the answer's type: a "how many / how much / كم" question wants
a figure, a "what year / في أي عام" question a year, and the quotes must hold one that the
question does not already give. Other questions (who, what, why) are not typed here: names in
Arabic script cannot be told from other words without a tagger.

Example:
    >>> asked = expected("How many people died in the fire in 2018?")
    >>> asked, holds(asked, "How many people died in the fire in 2018?", ["قتل ٦٥ شخصا"])
    ('figure', True)
    >>> holds(asked, "How many people died in the fire in 2018?", ["اندلع الحريق عام 2018"])
    False
"""

from __future__ import annotations

import re

from rag.text import normalize_ar

FIGURE, YEAR = "figure", "year"

_EN_YEAR = re.compile(r"\b(?:what|which) year\b", re.I)
_EN_FIGURE = re.compile(
    r"\bhow (?:many|much|old|long|far|often|big|large|tall|high)\b|\bby how\b"
    r"|\bwhat (?:percentage|percent|share|proportion|number|amount|sum|age|price|cost|score|fine)\b", re.I)
# On folded text (rag.text.normalize_ar: alif and ya forms folded, diacritics dropped).
_AR_YEAR = re.compile(r"(?<!\w)(?:في|ب)?اي (?:عام|سن[ةه])(?!\w)")
_AR_FIGURE = re.compile(r"(?<!\w)(?:و|ف)?(?:كم|بكم)(?!\w)|(?<!\w)ما (?:عدد|نسب[ةه]|قيم[ةه]|حجم|مبلغ|سعر|عمر|مقدار)(?!\w)")

_DIGITS = re.compile(r"\d+(?:[.,]\d+)?")
# Figures written as words: the quotes of "how many" answers often spell them.
_NUMBER_WORDS = frozenset(normalize_ar(w) for w in (
    "one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty "
    "hundred hundreds thousand thousands million millions billion billions dozen dozens half quarter "
    "واحد واحدة اثنان اثنين اثنتين اثنتان ثلاث ثلاثة ثلاثين ثلاثون أربع أربعة أربعين أربعون خمس خمسة "
    "خمسين خمسون ست ستة ستين ستون سبع سبعة سبعين سبعون ثمان ثماني ثمانية ثمانين ثمانون تسع تسعة تسعين "
    "تسعون عشر عشرة عشرين عشرون مئة مائة مئات مئتين مئتان مائتين ألف ألفا آلاف مليون ملايين مليار "
    "مليارات نصف ربع عشرات "
    # the dual is a figure too: "two years", "two months"
    "عامين سنتين شهرين يومين أسبوعين ساعتين مرتين ضعفين ألفين مليونين").split())
_WEEKDAYS = frozenset(normalize_ar(w) for w in ("الاثنين", "الإثنين", "والاثنين", "الجمعة", "الخميس", "السبت"))
_PREFIXES = ("وال", "بال", "لل", "ال", "و", "ب", "ل")  # folded; a bare word is tried first
_WORD = re.compile(r"\w+")


def expected(question: str) -> str | None:
    """``"year"``, ``"figure"`` or None (the question is not typed here).

    >>> [expected(q) for q in ("In what year was it founded?", "كم عدد الضحايا؟",
    ...                         "في أي عام تأسست الفرقة؟", "ما قيمة الغرامة؟", "Who won?")]
    ['year', 'figure', 'year', 'figure', None]
    """
    if _EN_YEAR.search(question):
        return YEAR
    if _EN_FIGURE.search(question):
        return FIGURE
    folded = normalize_ar(question)
    if _AR_YEAR.search(folded):
        return YEAR
    if _AR_FIGURE.search(folded):
        return FIGURE
    return None


def _number_word(word: str) -> bool:
    """
    >>> [_number_word(w) for w in ("الآلاف", "وثلاثة", "Million", "مستشفى", "ستار", "الإثنين")]
    [True, True, True, False, False, False]
    """
    w = normalize_ar(word)
    if w in _WEEKDAYS:
        return False
    return w in _NUMBER_WORDS or any(w.startswith(p) and w[len(p):] in _NUMBER_WORDS for p in _PREFIXES)


def holds(kind: str | None, question: str, quotes: list[str]) -> bool:
    """Whether ``quotes`` give an answer of ``kind`` that ``question`` does not already give
    (always True for an untyped question)."""
    if kind is None:
        return True
    text = normalize_ar(" ".join(quotes))
    given = set(_DIGITS.findall(normalize_ar(question)))
    # A year is a figure too: AD, hijri (358 هـ) or "before the age of twenty" all answer it.
    if any(n not in given for n in _DIGITS.findall(text)):
        return True
    return any(_number_word(w) for w in _WORD.findall(text))
