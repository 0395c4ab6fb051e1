"""The first line of an extractive answer, in the question's language (pure helpers).

Without a translation model an English reader cannot read the Arabic quotes, but can be told
what was found: how many articles, the best one's outlet and date, the question's names the
quote contains (in the question's own spelling, matched across scripts by :mod:`rag.names`),
and the figures it gives. Nothing is translated or guessed: Arabic names the question does not
spell are not romanised, because Arabic script leaves out most vowels (docs/design.md,
"Extractive answers").

Example:
    >>> lead("How many guests did Erdogan invite?", "دعا أردوغان 65 ضيفا", ["Sky News Arabia (2018-05-22)"], 2)
    'Found in 2 articles. Best match: Sky News Arabia (2018-05-22), naming Erdogan, with the figure 65. Quoted in Arabic:'
"""

from __future__ import annotations

import re

from rag.names import question_names, text_keys
from rag.text import is_arabic, normalize_ar

_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


def figures(quote: str, limit: int = 3) -> list[str]:
    """The numbers a quote gives, in ASCII digits, each once.

    >>> figures("قتل ٦٥ شخصا و12 جريحا عام 2018")
    ['65', '12', '2018']
    """
    return list(dict.fromkeys(_NUMBER.findall(normalize_ar(quote))))[:limit]


def shared_names(question: str, quote: str) -> list[str]:
    """The question's names (as the question spells them) that the quote contains.

    >>> shared_names("What did Lavrov say about Pompeo?", "قال لافروف إن سوريا")
    ['Lavrov']
    """
    keys = set(text_keys(quote))
    return [w for k, w in question_names(question).items() if not k.isdigit() and k in keys]


def lead(question: str, quote: str, outlets: list[str], articles: int, arabic: bool = False) -> str:
    """One line before the quotes: what was found (``articles``), where (``outlets`` of the
    best point, already with dates) and what the best ``quote`` holds."""
    if arabic:
        return f"وُجد في {articles} {'مقال' if articles == 1 else 'مقالات'}، والأقرب أولًا:"
    text = f"Found in {articles} article{'s' if articles != 1 else ''}. Best match: {' and '.join(outlets)}"
    names = shared_names(question, quote)
    if names:
        text += ", naming " + ", ".join(names)
    nums = figures(quote)
    if nums:
        text += f", with the figure{'s' if len(nums) > 1 else ''} " + ", ".join(nums)
    return text + (". Quoted in Arabic:" if is_arabic(quote) else ". Quoted:")
