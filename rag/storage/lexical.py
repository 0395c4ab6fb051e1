"""BM25 over Arabic-normalised chunk text (bm25s), persisted beside Chroma.

Built at ingest time from the chunks in Chroma, saved in ``<db>/bm25/``, loaded once; never
rebuilt per query. Tokens are matched after :func:`rag.text.normalize_ar` folding and a light
stem (one article/preposition prefix and one suffix off): the stem lifted the fused ranking on
XQuAD Arabic and ARCD (evals/RESULTS.md, "Ablations"). Beside the words it indexes each chunk's name keys
(:mod:`rag.names`), which match a question's names across scripts.

Example:
    >>> lex = LexicalIndex.build(["a::0", "b::0"], ["أمريكا وروسيا", "الصين"])
    >>> lex.search("امريكا", k=2)  # doctest: +ELLIPSIS
    [('a::0', 0.24...)]
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from pathlib import Path

from rag.names import NAMES_VERSION, question_keys, text_keys
from rag.text import normalize_ar

LEXICAL_VERSION = f"bm25-ar-2+{NAMES_VERSION}"  # a saved index of another version is rebuilt on load
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


def _bm25(tokens: Iterable[list[str]]):
    """A bm25s model of documents' tokens, read one document at a time: each word becomes an int
    id as it comes, so a whole archive's words are never all Python strings at once (74k chunks:
    peak 1.25 → 0.65 GB, RESULTS 2026-12-06b); the scores are the same."""
    import bm25s
    import numpy as np

    vocab = {"": 0}  # the empty token keeps documents with no words indexable (and queries always valid)
    ids = [np.array([vocab.setdefault(t, len(vocab)) for t in doc] or [0], np.int32) for doc in tokens]
    model = bm25s.BM25()
    model.index((ids, vocab), show_progress=False)
    return model


class LexicalIndex:
    """Chunk ids and bm25s models of their words and of their name keys (:mod:`rag.names`);
    ``search`` returns (chunk id, score) best first, ``name_match`` scores given chunks."""

    def __init__(self, ids: list[str], model, analyzer: str = "stem", names=None):
        self.ids = ids
        self.model = model
        self.analyzer = analyzer
        self.names = names
        self._position = {cid: i for i, cid in enumerate(ids)}

    @classmethod
    def build(cls, ids: list[str], texts: list[str], analyzer: str = "stem") -> "LexicalIndex":
        return cls.from_tokens(ids, [tokenize(t, analyzer) for t in texts], analyzer,
                               [text_keys(t) for t in texts])

    @classmethod
    def from_tokens(cls, ids: list[str], tokens: Iterable[list[str]], analyzer: str = "stem",
                    names: Iterable[list[str]] | None = None) -> "LexicalIndex":
        """From texts already passed through :func:`tokenize` (and :func:`rag.names.text_keys`
        for ``names``): the index keeps both per chunk."""
        if not ids:
            return cls([], None, analyzer)
        return cls(list(ids), _bm25(tokens), analyzer, _bm25(names) if names is not None else None)

    def name_match(self, question: str, chunk_ids: list[str]) -> dict[str, float]:
        """For each of ``chunk_ids``, the share of the question's name keys it holds, each key
        weighted by its BM25 idf (rare names count most); keys no chunk holds are ignored.

        >>> lex = LexicalIndex.build(["a::0", "b::0", "c::0"], ["قال غولدنسون", "قال نورمان", "مرحبا"])
        >>> lex.name_match("Did Goldenson meet Norman?", ["a::0", "b::0", "c::0"])
        {'a::0': 0.5, 'b::0': 0.5}
        """
        if self.names is None:
            return {}
        vocab = self.names.vocab_dict
        keys = [k for k in question_keys(question) if k in vocab]
        wanted = [(cid, self._position[cid]) for cid in chunk_ids if cid in self._position]
        if not keys or not wanted:
            return {}
        n = len(self.ids)
        held: dict[str, float] = {}
        total = 0.0
        for key in keys:
            found = self.names.get_scores([vocab[key]]) > 0
            df = int(found.sum())
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            total += idf
            for cid, i in wanted:
                if found[i]:
                    held[cid] = held.get(cid, 0.0) + idf
        return {cid: w / total for cid, w in held.items()} if total else {}

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
            if self.names is not None:
                self.names.save(str(path / "names"), show_progress=False)
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
        names = path / "names"
        return cls(data["ids"], bm25s.BM25.load(str(path), show_progress=False),
                   names=bm25s.BM25.load(str(names), show_progress=False) if names.exists() else None)
