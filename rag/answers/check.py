"""The check every LLM-written sentence passes before it is shown (pure helpers).

A sentence is shown only if it cites a quote, is in the question's language, names only what
its quote names, gives only the quote's numbers and means what the quote means (the
similarity test lives in :mod:`rag.answers.generate`, with the model). Names are matched across
scripts by consonant skeleton (:mod:`rag.names`), or, for countries and languages whose
English and Arabic names differ ("Germany" / ألمانيا), by the CLDR names in Babel.

Example:
    >>> quote = "قال الرئيس أردوغان إن 65 شخصا قتلوا في إسطنبول"
    >>> problems("Erdogan said 65 people were killed in Istanbul [1].", quote, english=True)
    []
    >>> problems("Erdogan said 56 people were killed in Ankara [1].", quote, english=True)
    ['number 56 is not in the quote', 'name Ankara is not in the quote']
"""

from __future__ import annotations

import functools
import re

from rag.names import MIN_KEY, latin_skeleton, text_keys
from rag.text import is_arabic, normalize_ar

_MARKER = re.compile(r"\[(\d{1,2})\]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_SCALES = {"الف": 1e3, "الاف": 1e3, "مليون": 1e6, "ملايين": 1e6, "مليار": 1e9, "مليارات": 1e9,
           "thousand": 1e3, "million": 1e6, "billion": 1e9}  # folded (rag.text.normalize_ar)
_NAME = re.compile(r"\b[A-Z][A-Za-z]+")
# Capitalised words that are not names: sentence starters, titles, institutions, calendar words.
# A wrong title is left to the similarity test; a wrong person or place is caught here.
_NOT_NAMES = frozenset("""
the a an and or but in on at to for of from by with as after before during while when where who what which this
that these those it its he she they his her their there here then also both all some many most several no not
according however meanwhile earlier later today yesterday last next first second third new former
mr mrs ms dr president vice prime minister ministry foreign defense defence interior affairs deputy secretary
general chief head spokesman spokeswoman official officials king queen prince crown sheikh emir sultan leader
court parliament government cabinet party council committee commission security state states department army forces
force navy air national international federal central supreme united nations union league cup world club team
championship agency news bank company group organization organisation authority authorities ministry republic
kingdom islamic arab gulf middle east west north south northern southern eastern western prize award festival
film museum university police city region province capital embassy ambassador summit conference talks
celsius fahrenheit percent dollar dollars euro euros
january february march april may june july august september october november december
monday tuesday wednesday thursday friday saturday sunday
""".split())
# Parts of country names that say nothing on their own.
_GENERIC = frozenset(normalize_ar(w) for w in "المتحدة العربية جمهورية المملكة الاتحادية الديمقراطية الشعبية "
                     "الإسلامية جزر دولة الجنوبية الشمالية الوسطى".split())


def numbers(text: str) -> set[float]:
    """The values a text states, ``"65,000"``, ``"65 ألف"`` and ``"٦٥"`` alike.

    >>> sorted(numbers("قتل ٦٥ ألف شخص و3 جرحى"))
    [3.0, 65.0, 65000.0]
    >>> sorted(numbers("65,000 people and 1.5 million dollars"))
    [1.5, 65000.0, 1500000.0]
    """
    folded = normalize_ar(text)
    return {v for m in _NUMBER.finditer(folded) for v in _values(folded, m)}


def _values(folded: str, m: re.Match, strict: bool = False) -> set[float]:
    """The number at ``m``, and its value times a scale word after it ("1.5 million");
    ``strict``: the scaled value only, when there is one."""
    raw = m.group(0)
    if re.fullmatch(r"\d{1,3}(,\d{3})+", raw) or raw.count(",") > 1:  # thousands separators
        value = float(raw.replace(",", ""))
    else:  # "3,5": a decimal comma (French and Arabic sources)
        value = float(raw.replace(",", ".")) if raw.count(".") + raw.count(",") <= 1 else float(raw.split(",")[0])
    nxt = folded[m.end():m.end() + 12].split()
    if nxt and nxt[0] in _SCALES:
        return {value * _SCALES[nxt[0]]} if strict else {value, value * _SCALES[nxt[0]]}
    return {value}


@functools.cache
def _country_names() -> dict[str, list[str]]:
    """English name word (lower case) → folded Arabic name words (CLDR, via Babel)."""
    from babel import Locale

    en, ar = Locale("en"), Locale("ar")
    table: dict[str, list[str]] = {}
    for names_en, names_ar in ((en.territories, ar.territories), (en.languages, ar.languages)):
        for code, name in names_en.items():
            arabic = [w for w in normalize_ar(names_ar.get(code, "")).split() if w not in _GENERIC and len(w) >= 3]
            for word in re.findall(r"[A-Za-z]{4,}", name):
                if word.lower() not in ("united", "republic", "kingdom", "islands", "island", "state", "states"):
                    table.setdefault(word.lower(), []).extend(arabic)
    # Short names and demonyms that the four-letter rule above leaves out.
    for english, arabic in (("us", "امريك"), ("us", "الولايات"), ("usa", "امريك"), ("american", "امريك"),
                            ("uk", "بريطاني"), ("british", "بريطاني"), ("uae", "امارات"), ("eu", "اوروبي"),
                            ("un", "الامم"), ("iran", "ايران"), ("iraq", "عراق"), ("syria", "سوري"),
                            ("italy", "ايطالي"), ("oman", "عمان"), ("cuba", "كوب")):
        table.setdefault(english, []).append(arabic)
    return table


def _stem(word: str) -> str:
    # Arabic country names end in ا / ة / يا that their adjectives drop: روسيا → الروسي
    for end in ("يا", "ا", "ة"):
        if word.endswith(end) and len(word) - len(end) >= 3:
            return word[: -len(end)]
    return word


# Short skeletons ("Bush", bs; "Hilal", l) are matched against content words only: "Baudo" (bd)
# must not pass because the quote says بعد ("after").
_FUNCTION = frozenset("بعد قبل عند عن من الي علي في مع بين كل قد لقد حتي ثم او ام اذا اذ لكن بل غير دون تحت فوق "
                      "حول خلال ضد لدي منذ هذا هذه ذلك تلك التي الذي الذين كان كانت ان انه انها لن لم ما هو هي".split())


def _content_keys(folded_quote: str) -> set[str]:
    keys = set()
    for w in re.findall(r"\w+", folded_quote):
        if w in _FUNCTION or len(w) < 3 or w.isdigit():
            continue
        keys.update(text_keys(w, shortest=1))
    return keys


def name_in(word: str, key: str, quote_keys: set[str], folded_quote: str) -> bool:
    """Whether the quote names ``word`` (with skeleton ``key``): by skeleton, or as a
    country or language whose Arabic name differs.

    >>> q = "قالت ألمانيا والحكومة الروسية"
    >>> [name_in(w, k, set(text_keys(q)), normalize_ar(q)) for w, k in [("Germany", "grmn"), ("Russian", "rsn")]]
    [True, True]
    """
    if len(key) >= MIN_KEY and (key in quote_keys or any(
            len(k) >= MIN_KEY and (key.startswith(k) or k.startswith(key)) for k in quote_keys)):
        return True
    if len(key) < MIN_KEY and key in _content_keys(folded_quote):
        return True
    w = word.lower()
    for english, arabic in _country_names().items():
        if (w == english or (w.startswith(english) and len(english) >= 4)) and \
                any(_stem(a) in folded_quote for a in arabic):
            return True
    return False


def problems(sentence: str, quote: str, english: bool) -> list[str]:
    """Why ``sentence`` may not be shown beside ``quote`` (empty: it passes). ``english``: the
    question was not in Arabic, so the sentence must not be either."""
    out = []
    if not _MARKER.search(sentence):
        out.append("no citation")
    body = _MARKER.sub("", sentence)
    if is_arabic(body) == english:
        out.append("not in the question's language")
    stated = numbers(quote)
    folded_body = normalize_ar(body)
    for m in _NUMBER.finditer(folded_body):
        if not _values(folded_body, m, strict=True) & stated:
            out.append(f"number {m.group(0)} is not in the quote")
    # تش writes the "ch" that Latin skeletons read as s (كراتشي, Karachi)
    quote_keys, folded = set(text_keys(quote.replace("تش", "ش"), shortest=1)), normalize_ar(quote)
    for i, word in enumerate(_NAME.findall(body)):
        opener = i == 0 and body.lstrip().startswith(word) and word.lower().endswith(("ly", "ing", "ed"))
        if word.lower() not in _NOT_NAMES and not opener and not name_in(word, latin_skeleton(word), quote_keys, folded):
            out.append(f"name {word} is not in the quote")
    if negated(quote) != negated(body):
        out.append("the quote's negation or doubt is " + ("missing" if negated(quote) else "added"))
    return list(dict.fromkeys(out))


# Negation and doubt: a small model turning "doubts it can be done" into "can be done" keeps
# every name and most of the meaning vector, so polarity is checked on its own.
_NEGATION_EN = re.compile(r"\b(not|no|never|nor|none|cannot|without|unlikely|doubt\w*|den(?:y|ies|ied)|"
                          r"reject\w*|refus\w*|skeptic\w*|sceptic\w*)\b|n't\b", re.I)
_NEGATION_AR = frozenset(normalize_ar(w) for w in "لا لن لم ليس ليست لسنا غير عدم دون يشكك تشكك شكوك نفى نفت ينفي تنفي "
                         "رفض يرفض ترفض".split())
_STILL = re.compile(r"\b(?:لا|ما) (?:يزال|تزال|زال|زالت|يزالون)\b")  # "still": not a negation


def negated(text: str) -> bool:
    """Whether a sentence (English or Arabic) negates or doubts.

    >>> negated("يشكك الجانب الروسي في إمكانية تنفيذ الفكرة"), negated("Russia doubts it"), negated("لا تزال المبادرة في مهدها")
    (True, True, False)
    """
    if _NEGATION_EN.search(text):
        return True
    folded = _STILL.sub(" ", normalize_ar(text))
    return any(w in _NEGATION_AR for w in re.findall(r"\w+", folded))

