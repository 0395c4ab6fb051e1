"""What a search returns (:class:`Hit`) and what it may be narrowed by (:class:`Filters`).

Example:
    >>> f = Filters(sources=("BBC",), date_from="2018-03-01")
    >>> f.match("BBC", "2018-05-02"), f.match("CNN", "2018-05-02"), f.match("BBC", "2018-01-01")
    (True, False, False)
    >>> date_int("2018-05-02T10:00"), date_int("")
    (20180502, 0)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Hit:
    """One retrieved passage."""

    rank: int
    score: float  # the dense cosine: what users see and abstention is calibrated on
    article_id: str
    chunk_id: str
    title: str
    source: str
    url: str
    date: str
    text: str
    start: int = 0
    end: int = 0
    # What the first stage ranked by (chunk + best sentence, fused with BM25 or not): the second
    # stage weighs it against its own score. Comparable only within one result list.
    rank_score: float = 0.0

    @classmethod
    def from_chroma(cls, score: float, cid: str, doc: str, meta: dict, rank: int = 0) -> "Hit":
        return cls(rank=rank, score=score, article_id=meta["article_id"], chunk_id=cid, title=meta.get("title", ""),
                   source=meta.get("source", ""), url=meta.get("url", ""), date=meta.get("date", ""), text=doc,
                   start=meta.get("start", 0), end=meta.get("end", 0))


def renumber(hits: list[Hit]) -> list[Hit]:
    """Ranks 1..n in list order."""
    for i, h in enumerate(hits, 1):
        h.rank = i
    return hits


def date_int(date: str) -> int:
    """``YYYYMMDD`` of an ISO date (missing month or day as 00); 0 without a year."""
    digits = "".join(ch for ch in date[:10] if ch.isdigit())
    return int(digits[:8].ljust(8, "0")) if len(digits) >= 4 else 0


@dataclass(frozen=True)
class Filters:
    """Outlet and date-range filters (dates as ``YYYY-MM-DD``; both ends inclusive)."""

    sources: tuple[str, ...] = ()
    date_from: str | None = None
    date_to: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.sources or self.date_from or self.date_to)

    def bounds(self) -> tuple[int, int]:
        """The date range as ``YYYYMMDD`` integers, both ends inclusive (open ends: 0 and 99999999)."""
        lo = date_int(self.date_from) if self.date_from else 0
        hi = date_int(self.date_to) if self.date_to else 99_999_999
        return lo, hi

    def match(self, source: str, date: str) -> bool:
        if self.sources and source not in self.sources:
            return False
        lo, hi = self.bounds()  # no dates means any date
        return lo <= date_int(date) <= hi

