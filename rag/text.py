"""Pure text helpers: Arabic-aware sentence spans, matching normalisation, language guess.

Display text is never changed: these helpers return offsets into the original string,
or a folded copy used only for matching.

Example:
    >>> text = "قال الوزير: «لا». ثم غادر؟ Yes."
    >>> [text[a:b] for a, b in sentence_spans(text)]
    ['قال الوزير: «لا».', 'ثم غادر؟', 'Yes.']
    >>> normalize_ar("أَمْرِيكا إلى")
    'امريكا الي'
"""

from __future__ import annotations

import re
import unicodedata

NORMALIZATION_VERSION = "ar-fold-1"

# Sentence ends: Latin and Arabic question marks, Arabic semicolon, full stop, ellipsis.
# A full stop between digits (3.5) or after a single Latin capital (U.S.) does not end one.
_END = ".!?؟؛…"
_CLOSERS = "\"'”’»)]}›"
_SENT_RE = re.compile(
    rf"""(?:[{_END}]+(?<![A-Z]\.)(?<!\b[A-Z]\.)[{re.escape(_CLOSERS)}]*(?=\s|$))"""
    r"|\n+"
)

_TASHKEEL = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed]")
_CONTROLS = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\u0640]")  # bidi, ZW, tatweel
_FOLD = str.maketrans({
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ؤ": "و", "ئ": "ي",
    **{chr(0x660 + i): str(i) for i in range(10)},  # Arabic-Indic digits
    **{chr(0x6F0 + i): str(i) for i in range(10)},  # Eastern Arabic-Indic digits
})
_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
_LATIN = re.compile("[A-Za-z]")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of ``text``, whitespace trimmed.

    Ends are ``. ! ? ؟ ؛ …`` (with any closing quotes «» “” after them) and line breaks.

    >>> sentence_spans("Hi there. Bye")
    [(0, 9), (10, 13)]
    """
    spans, start = [], 0
    for m in _SENT_RE.finditer(text):
        end = m.end() if m.group(0)[0] != "\n" else m.start()
        _add_trimmed(text, start, end, spans)
        start = m.end()
    _add_trimmed(text, start, len(text), spans)
    return spans


def _add_trimmed(text: str, a: int, b: int, out: list) -> None:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    if b > a:
        out.append((a, b))


def normalize_ar(text: str) -> str:
    """Fold Arabic spelling variants for matching (never for display).

    Alef/hamza forms → ا, ى → ي, ؤ → و, ئ → ي; tashkeel, tatweel, bidi and zero-width
    controls removed; Arabic-Indic digits → ASCII; NFKC first, lower-cased.

    >>> normalize_ar("الـقـرآن ٢٠١٨")
    'القران 2018'
    """
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROLS.sub("", _TASHKEEL.sub("", text))
    return text.translate(_FOLD).lower()


def is_arabic(text: str) -> bool:
    """True when Arabic letters outnumber Latin ones.

    >>> is_arabic("ماذا قالت روسيا؟"), is_arabic("What did Russia say?")
    (True, False)
    """
    return len(_ARABIC.findall(text)) > len(_LATIN.findall(text))


# Bidi embeddings, overrides and isolates, and control characters but line breaks and tabs:
# printed raw they can reorder or hide what a terminal shows (e.g. a title spoofing an id).
_UNPRINTABLE = re.compile("[\u202a-\u202e\u2066-\u2069\x00-\x08\x0b-\x1f\x7f-\x9f]")


def visible(text: str) -> str:
    r"""``text`` safe for a terminal: bidi overrides and control characters shown as ``<U+XXXX>``.

    >>> visible("id\u202eevil"), visible("سطر\nثان")
    ('id<U+202E>evil', 'سطر\nثان')
    """
    return _UNPRINTABLE.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)
