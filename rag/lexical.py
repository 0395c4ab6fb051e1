"""BM25 over Arabic-normalised chunk text (bm25s), persisted beside Chroma.

Built at ingest time from the chunks in Chroma, saved in ``<db>/bm25/``, loaded once; never
rebuilt per query. Tokens are matched after :func:`rag.text.normalize_ar` folding and a light
stem (one article/preposition prefix and one suffix off): the stem lifted the fused ranking on
XQuAD Arabic and ARCD (README, "Ablations").

Example:
    >>> lex = LexicalIndex.build(["a::0", "b::0"], ["أمريكا وروسيا", "الصين"])
    >>> lex.search("امريكا", k=2)  # doctest: +ELLIPSIS
    [('a::0', 0.24...)]
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from rag.text import normalize_ar

LEXICAL_VERSION = "bm25-ar-2"  # a saved index of another version is rebuilt on load
_WORD = re.compile(r"\w+", re.UNICODE)
# Arabic function words and a few English ones; too frequent to help ranking.
STOPWORDS = frozenset(normalize_ar(w) for w in (
    "في من على إلى عن مع أن إن كان كانت التي الذي الذين هذا هذه ذلك تلك هو هي هم ما لا لم لن قد "
    "و أو ثم بعد قبل عند حتى كل بين منذ خلال إلا أي أيضا وقد وفي ومن وأن كما بها به له لها فيه فيها "
    "the a an of to in on for and or is are was were be by with as at from that this it"
).split())


_PREFIXES = ("وال", "بال", "كال", "فال", "لل", "ال")  # Light10-style (Larkey et al.), on folded text
_SUFFIXES = ("ها", "ان", "ات", "ون", "ين", "يه", "ية", "ه", "ة", "ي")


def light_stem(token: str) -> str:
    """Strip one article/preposition prefix and one plural/pronoun suffix, keeping ≥ 2 letters.

    >>> light_stem("والمفاوضات"), light_stem("بالحكومة")
    ('مفاوض', 'حكوم')
    """
    for p in _PREFIXES:
        if token.startswith(p) and len(token) - len(p) >= 2:
            token = token[len(p):]
            break
    for suf in _SUFFIXES:
        if token.endswith(suf) and len(token) - len(suf) >= 2:
            return token[: -len(suf)]
    return token


# The default is "stem"; the others exist for the evaluation's ablations.
ANALYZERS = {
    "fold": lambda t: t,
    "raw": None,  # no Arabic folding at all: lower-case words only
    "taa": lambda t: t.replace("ة", "ه"),
    "stem": light_stem,
}


def tokenize(text: str, analyzer: str = "stem") -> list[str]:
    """Folded, stemmed word tokens (by default), stopwords and one-letter tokens dropped.

    >>> tokenize("قالت الولاياتُ المتحدة إنّ أمريكا في ٢٠١٨", "fold")
    ['قالت', 'الولايات', 'المتحدة', 'امريكا', '2018']
    >>> tokenize("قالت الولاياتُ المتحدة إنّ أمريكا في ٢٠١٨")
    ['قالت', 'ولاي', 'متحد', 'امريكا', '2018']
    >>> tokenize("إن أمريكا في ٢٠١٨", "raw"), tokenize("الحكومة", "taa")
    (['أمريكا', '٢٠١٨'], ['الحكومه'])
    """
    if analyzer == "raw":
        return [t for t in _WORD.findall(text.lower()) if len(t) > 1 and normalize_ar(t) not in STOPWORDS]
    post = ANALYZERS[analyzer]
    return [post(t) for t in _WORD.findall(normalize_ar(text)) if len(t) > 1 and t not in STOPWORDS]


class LexicalIndex:
    """Chunk ids and a bm25s model; ``search`` returns (chunk id, score) best first."""

    def __init__(self, ids: list[str], model, analyzer: str = "stem"):
        self.ids = ids
        self.model = model
        self.analyzer = analyzer

    @classmethod
    def build(cls, ids: list[str], texts: list[str], analyzer: str = "stem") -> "LexicalIndex":
        return cls.from_tokens(ids, [tokenize(t, analyzer) for t in texts], analyzer)

    @classmethod
    def from_tokens(cls, ids: list[str], tokens: list[list[str]], analyzer: str = "stem") -> "LexicalIndex":
        """From texts already passed through :func:`tokenize` (the index keeps them per chunk)."""
        import bm25s

        model = bm25s.BM25()
        if ids:
            # The empty token keeps documents with no words indexable (and queries always valid).
            model.index([t or [""] for t in tokens], show_progress=False)
        return cls(list(ids), model, analyzer)

    def search(self, question: str, k: int = 10) -> list[tuple[str, float]]:
        if not self.ids:
            return []
        vocab = self.model.vocab_dict
        tokens = [t for t in tokenize(question, self.analyzer) if t in vocab]
        if not tokens:
            return []
        docs, scores = self.model.retrieve([[vocab[t] for t in tokens]], k=min(k, len(self.ids)), show_progress=False)
        return [(self.ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        if self.ids:  # an empty index (every article removed) is just its empty id list
            self.model.save(str(path), show_progress=False)
        (path / "ids.json").write_text(json.dumps({"version": LEXICAL_VERSION, "ids": self.ids}))

    @classmethod
    def load(cls, path: Path) -> "LexicalIndex | None":
        meta = path / "ids.json"
        if not meta.exists():
            return None
        data = json.loads(meta.read_text())
        if data.get("version") != LEXICAL_VERSION:
            return None
        import bm25s

        if not data["ids"]:
            return cls([], None)
        return cls(data["ids"], bm25s.BM25.load(str(path), show_progress=False))
