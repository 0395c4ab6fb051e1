"""Name keys: proper names matched across Latin and Arabic script (pure helpers).

An English question names "Josh Norman" or "Goldenson"; the Arabic article writes جوش نورمان or
غولدنسون. A small embedding model often misses rare names across scripts, and BM25 over Arabic
words cannot see them at all. Both spellings reduce to the same consonant skeleton once vowels
(and the letters Arabic uses for them) are dropped and the consonants folded into classes that
transliteration keeps apart (p/b, v/f, j/g, c/k/q, s/z, th/t…): ``nrmn``, ``gldnsn``. Numbers
are keys as they are. A chunk that holds a question's keys gets a small bonus among the dense
candidates (:func:`rag.retrieve.fusion.sentence_scores`): on XQuAD English questions among 2,000 news
articles nDCG@10 0.848 → 0.865, recall@10 0.946 → 0.953 (docs/design.md, "Names across scripts").

Example:
    >>> question_keys("How many balls did Josh Norman intercept in 2015?")
    ['nrmn', '2015']
    >>> text_keys("اعترض جوش نورمان الكرة عام ٢٠١٥")
    ['trd', 'nrmn', '2015']
"""

from __future__ import annotations

import re

from rag.text import normalize_ar

NAMES_VERSION = "names-1"
MIN_KEY = 3  # consonants: shorter skeletons match too many unrelated words

_AR_CLASSES = {c: k for chars, k in [
    ("بپ", "b"), ("تطث", "t"), ("دضذ", "d"), ("سصزشظ", "s"), ("جغگ", "g"), ("كقخک", "k"),
    ("فڤ", "f"), ("ل", "l"), ("م", "m"), ("ن", "n"), ("ر", "r")] for c in chars}
_LATIN_DIGRAPHS = [("ph", "f"), ("ck", "k"), ("kh", "k"), ("gh", "g"), ("sh", "s"), ("th", "t"),
                   ("ch", "s"), ("x", "ks")]
_LATIN_CLASSES = {"p": "b", "v": "f", "z": "s", "j": "g", "c": "k", "q": "k"}
_LATIN_DROPPED = set("aeiouyhw")
_ARTICLE = ("وال", "بال", "كال", "فال", "لل", "ال")  # on folded text
_WORD = re.compile(r"\w+")
_LATIN = re.compile(r"[a-z]")
# Capitalised words that are not names: question words, pronouns, sentence starters.
_NOT_NAMES = frozenset(
    "what who whom whose which when where why how the a an of in on at to for and or is are was were "
    "did do does name be by with from that this these those as it its into his her their there "
    "under during after before according besides other many most some one two three four five six "
    "seven eight nine ten if can could would should will may might i we you they he she".split())


def _collapse(classes) -> str:
    out: list[str] = []
    for k in classes:
        if k and (not out or out[-1] != k):
            out.append(k)
    return "".join(out)


def latin_skeleton(word: str) -> str:
    """Consonant classes of a Latin-script word.

    >>> latin_skeleton("Goldenson"), latin_skeleton("Brookhaven"), latin_skeleton("Cyprus")
    ('gldnsn', 'brkfn', 'sbrs')
    """
    w = word.lower()
    for a, b in _LATIN_DIGRAPHS:
        w = w.replace(a, b)
    w = re.sub(r"c(?=[eiy])", "s", w)
    return _collapse(None if c in _LATIN_DROPPED or not c.isalpha() else _LATIN_CLASSES.get(c, c) for c in w)


def arabic_skeleton(word: str) -> str:
    """On folded text (:func:`rag.text.normalize_ar`); letters that write vowels are dropped.

    >>> arabic_skeleton("غولدنسون"), arabic_skeleton("بروكهيفن"), arabic_skeleton("قبرص")
    ('gldnsn', 'brkfn', 'kbrs')
    """
    return _collapse(_AR_CLASSES.get(c) for c in word)


def text_keys(text: str, shortest: int = MIN_KEY) -> list[str]:
    """Keys of every word of a passage (either script), in order; repeated keys stay repeated.
    Keys shorter than ``shortest`` consonants are left out."""
    keys = []
    for w in _WORD.findall(normalize_ar(text)):
        if w.isdigit():
            keys.append(w)
            continue
        if _LATIN.match(w):
            keys.append(latin_skeleton(w))
            continue
        for p in _ARTICLE:  # the article (with a glued conjunction or preposition) is not the name
            if w.startswith(p) and len(w) - len(p) >= 3:
                w = w[len(p):]
                break
        key = arabic_skeleton(w)
        keys.append(key)
        if w[0] in "بلكف" and len(key) > shortest:  # a one-letter preposition may be glued on
            keys.append(key[1:])
    return [k for k in keys if k.isdigit() or len(k) >= shortest]


def question_keys(question: str) -> list[str]:
    """Keys of the question's names (capitalised words) and numbers, each once."""
    return list(question_names(question))


def question_names(text: str) -> dict[str, str]:
    """Key → the word as written, for the names (capitalised words) and numbers of an
    English-script text, each key once.

    >>> question_names("Did Putin meet Trump in Helsinki in 2018?")
    {'btn': 'Putin', 'trmb': 'Trump', 'lsnk': 'Helsinki', '2018': '2018'}
    """
    names: dict[str, str] = {}
    for w in _WORD.findall(text):
        if w.isdigit():
            key = normalize_ar(w)
        elif w[0].isupper() and w.lower() not in _NOT_NAMES:
            key = latin_skeleton(w)
        else:
            continue
        if key.isdigit() or len(key) >= MIN_KEY:
            names.setdefault(key, w)
    return names
