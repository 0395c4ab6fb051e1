"""``python -m evals.beir OUT [SET]``: an evaluation set in BEIR layout, for tools of the field.

Writes ``OUT/corpus.jsonl`` (``_id``, ``title``, ``text``, ``metadata``), ``OUT/queries.jsonl``
(``_id``, ``text``, ``metadata``: language, kind, expected answer) and ``OUT/qrels/test.tsv``
(``query-id``, ``corpus-id``, ``score``; answerable questions only). SET defaults to ``news``.

Example:
    >>> python -m evals.beir /tmp/news-beir        # doctest: +SKIP
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from evals.datasets import SETS, EvalSet


def write_beir(es: EvalSet, out: Path) -> dict[str, int]:
    """Write ``es`` to ``out``; the counts written."""
    (out / "qrels").mkdir(parents=True, exist_ok=True)
    with open(out / "corpus.jsonl", "w", encoding="utf-8") as fh:
        for a in es.articles:
            meta = {k: a[k] for k in ("source", "date", "url", "category") if a.get(k)}
            fh.write(json.dumps({"_id": a["id"], "title": a.get("title", ""), "text": a["text"], "metadata": meta},
                                ensure_ascii=False) + "\n")
    with open(out / "queries.jsonl", "w", encoding="utf-8") as fh:
        for q in es.questions:
            meta = {"lang": q.lang, "kind": q.kind, "answers": q.answers, "context": q.context}
            fh.write(json.dumps({"_id": q.id, "text": q.text, "metadata": meta}, ensure_ascii=False) + "\n")
    pairs = [(q.id, g) for q in es.questions for g in q.gold]
    (out / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{g}\t1\n" for q, g in pairs))
    return {"corpus": len(es.articles), "queries": len(es.questions), "qrels": len(pairs)}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not 1 <= len(args) <= 2 or (len(args) == 2 and args[1] not in SETS):
        print(f"usage: python -m evals.beir OUT [SET]   (SET one of {', '.join(SETS)}; default news)", file=sys.stderr)
        return 2
    counts = write_beir(SETS[args[1] if len(args) == 2 else "news"](), Path(args[0]))
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
