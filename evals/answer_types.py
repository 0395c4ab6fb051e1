"""How often the answer-type veto (rag.answers.answer_type) fires, on answers made without it.

    python -m evals.answer_types --sets fresh-calibrate,xquad-en,xquad-ar,arcd

For each question that asks for a figure or a year and is answered without the veto: is it
vetoed when the figure may be in any quote (shipped), only in the first point, or in the first
two? Printed per set for answerable questions and for near misses (unanswerable ones).
"""

from __future__ import annotations

from typing import Annotated
from unittest import mock

import typer

from evals.datasets import SETS
from evals.run import build_index
from rag.answers import answer_type, extractive
from rag.settings import Settings

app = typer.Typer(add_completion=False)
VARIANTS = {"any quote (shipped)": lambda c: True, "first point": lambda c: c.point == 1,
            "first two points": lambda c: c.point <= 2}


@app.command()
def main(sets: Annotated[str, typer.Option(help="Comma-separated sets.")] = "fresh-calibrate") -> None:
    for name in sets.split(","):
        es = SETS[name]()
        index, _ = build_index(es, {"model": Settings().model})
        counts: dict[tuple[str, str], list[int]] = {}
        for q in es.questions:
            kind = answer_type.expected(q.text)
            if kind is None or q.kind == "followup":
                continue
            with mock.patch.object(answer_type, "holds", lambda *a: True):
                ans = extractive.answer(index, q.text)
            if ans.abstained:
                continue
            group = "near misses" if q.kind == "unanswerable" else "answerable"
            for variant, keep in VARIANTS.items():
                vetoed = not answer_type.holds(kind, q.text, [c.quote for c in ans.citations if keep(c)])
                counts.setdefault((group, variant), [0, 0])
                counts[(group, variant)][0] += vetoed
                counts[(group, variant)][1] += 1
        index.close()
        typer.echo(f"== {name}: typed questions answered without the veto; vetoed / answered")
        for (group, variant), (vetoed, n) in counts.items():
            typer.echo(f"  {group:12} {variant:20} {vetoed}/{n}")


if __name__ == "__main__":
    app()
