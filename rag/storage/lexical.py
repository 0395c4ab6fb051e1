"""BM25 over Arabic-normalised chunk text, persisted beside Chroma.

Built from the chunks in Chroma, saved in ``<db>/bm25/index.npz``, loaded once, and updated
with the articles an ingest adds, changes or removes (no other chunk is read again). Tokens are
matched after :func:`rag.text.normalize_ar` folding and a light stem (one article/preposition
prefix and one suffix off): the stem lifted the fused ranking on XQuAD Arabic and ARCD
(evals/RESULTS.md, "Ablations"). Beside the words it indexes each chunk's name keys
(:mod:`rag.names`), which match a question's names across scripts.

Example:
    >>> lex = LexicalIndex.build(["a::0", "b::0"], ["أمريكا وروسيا", "الصين"])
    >>> lex.search("امريكا", k=2)  # doctest: +ELLIPSIS
    [('a::0', 0.24...)]
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from rag.ids import article_of
from rag.names import NAMES_VERSION, question_keys, text_keys
from rag.text import normalize_ar

LEXICAL_VERSION = f"bm25-ar-2+{NAMES_VERSION}"  # a saved index of another version is rebuilt on load
INDEX_FILE = "index.npz"
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


class Bm25:
    """Lucene's BM25 (k1 1.5, b 0.75, bm25s's defaults) over each document's term counts, scored
    when asked. Documents are added and removed without analysing the others again: bm25s stores
    scores with the corpus's statistics already in them, so one new article re-indexed a whole
    archive (10–11 s; RESULTS 2026-12-07c). Immutable: a change returns a new index, so a
    reader keeps the one it started with.

    >>> bm = Bm25.build([["روسيا", "اتفاق"], ["روسيا", "روسيا", "الصين"], ["الصين"]])
    >>> bm.top([bm.vocab["روسيا"]], 3)  # doctest: +ELLIPSIS
    [(1, 0.231...), (0, 0.188...)]
    >>> bm.drop([True, False, True]).extend([["روسيا"]]).top([bm.vocab["روسيا"]], 3)  # doctest: +ELLIPSIS
    [(1, 0.094...), (0, 0.089...)]
    """

    K1, B = 1.5, 0.75

    def __init__(self, vocab: dict[str, int], counts, lengths: np.ndarray):
        self.vocab = vocab  # term → column; shared by the indexes derived from this one (it only grows)
        self.counts = counts  # scipy CSC, documents × terms: how often each term occurs in each document
        self.lengths = lengths  # terms per document
        df = np.diff(counts.indptr)  # documents holding each term
        n = len(lengths)
        self.idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        avg = float(lengths.mean()) if n else 1.0
        self.norm = (self.K1 * (1 - self.B + self.B * lengths / avg)).astype(np.float32)

    @classmethod
    def build(cls, docs: Iterable[list[str]], vocab: dict[str, int] | None = None) -> "Bm25":
        """From each document's terms, read one document at a time: a term becomes an int as it
        comes, so a whole archive's words are never all Python strings at once (RESULTS 2026-12-06b)."""
        from scipy import sparse

        vocab = {"": 0} if vocab is None else vocab  # "": what a document without terms holds
        indptr, indices, data, lengths = [0], [], [], []
        for doc in docs:
            ids = np.array([vocab.setdefault(t, len(vocab)) for t in doc] or [0], np.int32)
            terms, counts = np.unique(ids, return_counts=True)
            indices.append(terms)
            data.append(counts.astype(np.float32))
            indptr.append(indptr[-1] + len(terms))
            lengths.append(len(ids))
        rows = sparse.csr_matrix((np.concatenate(data) if data else np.zeros(0, np.float32),
                                  np.concatenate(indices) if indices else np.zeros(0, np.int32), indptr),
                                 shape=(len(lengths), len(vocab)))
        return cls(vocab, rows.tocsc(), np.array(lengths, np.float32))

    def extend(self, docs: Iterable[list[str]]) -> "Bm25":
        """This index with ``docs`` added after its documents."""
        from scipy import sparse

        new = Bm25.build(docs, self.vocab)
        old = self.counts.copy()
        old.resize((old.shape[0], len(self.vocab)))  # terms the new documents brought
        new.counts.resize((new.counts.shape[0], len(self.vocab)))
        return Bm25(self.vocab, sparse.vstack([old, new.counts], format="csc"),
                    np.concatenate([self.lengths, new.lengths]))

    def drop(self, gone) -> "Bm25":
        """This index without the documents where ``gone`` is true (the others keep their order)."""
        keep = ~np.asarray(gone, bool)
        return Bm25(self.vocab, self.counts[keep].tocsc(), self.lengths[keep])

    def _postings(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        """(documents, counts) of ``term``; none for a term only a later index holds."""
        c = self.counts
        if term >= c.shape[1]:
            return np.zeros(0, np.int32), np.zeros(0, np.float32)
        span = slice(c.indptr[term], c.indptr[term + 1])
        return c.indices[span], c.data[span]

    def scores(self, terms: list[int]) -> np.ndarray:
        """Each document's score for the query ``terms`` (a term asked twice counts twice)."""
        out = np.zeros(len(self.lengths), np.float32)
        for t in terms:
            rows, tf = self._postings(t)
            out[rows] += self.idf[t] * tf / (tf + self.norm[rows])
        return out

    def top(self, terms: list[int], k: int) -> list[tuple[int, float]]:
        """The ``k`` best (document, score) with a score above 0, best first."""
        s = self.scores(terms)
        k = min(k, len(s))
        if not k:
            return []
        best = np.argpartition(-s, k - 1)[:k]
        best = best[np.argsort(-s[best], kind="stable")]
        return [(int(d), float(s[d])) for d in best if s[d] > 0]

    def holding(self, term: int) -> np.ndarray:
        """Whether each document holds ``term``."""
        out = np.zeros(len(self.lengths), bool)
        out[self._postings(term)[0]] = True
        return out

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        c = self.counts
        # the shared vocabulary may hold terms of a later index: this one's columns only
        terms = "\n".join(sorted(self.vocab, key=self.vocab.get)[:c.shape[1]]).encode("utf-8")
        return {f"{prefix}_data": c.data, f"{prefix}_indices": c.indices, f"{prefix}_indptr": c.indptr,
                f"{prefix}_lengths": self.lengths, f"{prefix}_vocab": np.frombuffer(terms, np.uint8)}

    @classmethod
    def from_arrays(cls, a, prefix: str) -> "Bm25":
        from scipy import sparse

        terms = a[f"{prefix}_vocab"].tobytes().decode("utf-8").split("\n")
        lengths = a[f"{prefix}_lengths"]
        counts = sparse.csc_matrix((a[f"{prefix}_data"], a[f"{prefix}_indices"], a[f"{prefix}_indptr"]),
                                   shape=(len(lengths), len(terms)))
        return cls({t: i for i, t in enumerate(terms)}, counts, lengths)


class LexicalIndex:
    """Chunk ids and BM25 indexes of their words and of their name keys (:mod:`rag.names`);
    ``search`` returns (chunk id, score) best first, ``name_match`` scores given chunks.
    ``hashes``: the content hash of each article whose chunks it holds, which says what to
    update when the manifest changes (:meth:`updated`)."""

    def __init__(self, ids: list[str], model: Bm25 | None, analyzer: str = "stem", names: Bm25 | None = None,
                 hashes: dict[str, str] | None = None):
        self.ids = ids
        self.model = model
        self.analyzer = analyzer
        self.names = names
        self.hashes = hashes or {}
        self._position = {cid: i for i, cid in enumerate(ids)}

    @classmethod
    def build(cls, ids: list[str], texts: list[str], analyzer: str = "stem") -> "LexicalIndex":
        return cls.from_tokens(ids, [tokenize(t, analyzer) for t in texts], analyzer,
                               [text_keys(t) for t in texts])

    @classmethod
    def from_tokens(cls, ids: list[str], tokens: Iterable[list[str]], analyzer: str = "stem",
                    names: Iterable[list[str]] | None = None, hashes: dict[str, str] | None = None) -> "LexicalIndex":
        """From texts already passed through :func:`tokenize` (and :func:`rag.names.text_keys`
        for ``names``): the index keeps both per chunk."""
        if not ids:
            return cls([], None, analyzer, hashes=hashes)
        return cls(list(ids), Bm25.build(tokens), analyzer, Bm25.build(names) if names is not None else None, hashes)

    def updated(self, removed: set[str], ids: list[str], tokens: list[list[str]], names: list[list[str]],
                hashes: dict[str, str]) -> "LexicalIndex":
        """A new index: without the chunks of ``removed`` articles, with the chunks ``ids``
        added (their tokens and name keys), reflecting the articles' ``hashes``."""
        if self.model is None or self.names is None:
            return LexicalIndex.from_tokens(ids, tokens, self.analyzer, names, hashes)
        gone = np.array([article_of(cid) in removed for cid in self.ids], bool)
        kept = [cid for cid, g in zip(self.ids, gone) if not g]
        if not kept and not ids:
            return LexicalIndex([], None, self.analyzer, hashes=hashes)
        model, keys = self.model.drop(gone), self.names.drop(gone)
        if ids:
            model, keys = model.extend(tokens), keys.extend(names)
        return LexicalIndex(kept + list(ids), model, self.analyzer, keys, hashes)

    def name_match(self, question: str, chunk_ids: list[str]) -> dict[str, float]:
        """For each of ``chunk_ids``, the share of the question's name keys it holds, each key
        weighted by its BM25 idf (rare names count most); keys no chunk holds are ignored.

        >>> lex = LexicalIndex.build(["a::0", "b::0", "c::0"], ["قال غولدنسون", "قال نورمان", "مرحبا"])
        >>> lex.name_match("Did Goldenson meet Norman?", ["a::0", "b::0", "c::0"])
        {'a::0': 0.5, 'b::0': 0.5}
        """
        if self.names is None:
            return {}
        vocab = self.names.vocab
        keys = [k for k in question_keys(question) if k in vocab]
        wanted = [(cid, self._position[cid]) for cid in chunk_ids if cid in self._position]
        if not keys or not wanted:
            return {}
        held: dict[str, float] = {}
        total = 0.0
        for key in keys:
            found = self.names.holding(vocab[key])
            if not found.any():  # the vocabulary keeps the keys of removed chunks
                continue
            idf = float(self.names.idf[vocab[key]])
            total += idf
            for cid, i in wanted:
                if found[i]:
                    held[cid] = held.get(cid, 0.0) + idf
        return {cid: w / total for cid, w in held.items()} if total else {}

    def search(self, question: str, k: int = 10) -> list[tuple[str, float]]:
        if not self.ids:
            return []
        vocab = self.model.vocab
        tokens = [vocab[t] for t in tokenize(question, self.analyzer) if t in vocab]
        return [(self.ids[d], s) for d, s in self.model.top(tokens, k)] if tokens else []

    def save(self, path: Path) -> None:
        """One file, written beside and renamed: a crash leaves the old index or the new one."""
        path.mkdir(parents=True, exist_ok=True)
        arrays = {"meta": np.frombuffer(json.dumps({"version": LEXICAL_VERSION, "hashes": self.hashes}).encode(),
                                        np.uint8),
                  "ids": np.frombuffer("\n".join(self.ids).encode("utf-8"), np.uint8)}
        if self.model is not None:
            arrays.update(self.model.arrays("words"))
        if self.names is not None:
            arrays.update(self.names.arrays("names"))
        tmp = path / (INDEX_FILE + ".tmp")
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path / INDEX_FILE)
        for old in path.iterdir():  # bm25s's files, from before this format
            if old.name != INDEX_FILE:
                shutil.rmtree(old) if old.is_dir() else old.unlink()

    @classmethod
    def load(cls, path: Path) -> "LexicalIndex | None":
        """The saved index, or None if there is none of this version."""
        if not (path / INDEX_FILE).is_file():
            return None
        with np.load(path / INDEX_FILE, allow_pickle=False) as a:
            meta = json.loads(a["meta"].tobytes())
            if meta.get("version") != LEXICAL_VERSION:
                return None
            ids = a["ids"].tobytes().decode("utf-8").split("\n") if len(a["ids"]) else []
            model = Bm25.from_arrays(a, "words") if "words_data" in a else None
            names = Bm25.from_arrays(a, "names") if "names_data" in a else None
        return cls(ids, model if ids else None, names=names if ids else None, hashes=meta["hashes"])
