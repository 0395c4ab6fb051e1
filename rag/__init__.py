"""News QA: retrieval and exact-quote cited answers over (mostly Arabic) news, offline.

Example:
    >>> import rag                                                         # doctest: +SKIP
    >>> with rag.open_index("rag-index") as index:                          # doctest: +SKIP
    ...     index.ingest(["corpus/"])
    ...     hits = index.search("What did Russia say about the Gulf alliance?", k=3)
    ...     ans = rag.answer(index, "What did Russia say about the Gulf alliance?")
    ...     print(ans.answer, ans.citations[0].quote)
"""

__version__ = "0.1.0"

from rag.answers.extractive import Answer, Citation, answer  # noqa: E402
from rag.hits import Filters, Hit  # noqa: E402
from rag.index import Index  # noqa: E402
from rag.retrieve.recipes import RECIPES, Recipe  # noqa: E402
from rag.settings import Settings  # noqa: E402


def open_index(db="rag-index", **settings) -> Index:
    """Open (or create) the index in directory ``db``; ``settings`` as in :class:`Settings`."""
    return Index.open(Settings(db=db, **settings))


__all__ = ["RECIPES", "Answer", "Citation", "Filters", "Hit", "Index", "Recipe", "Settings", "answer", "open_index"]
