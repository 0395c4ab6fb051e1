"""Fit the relevance model (rag.answers.relevance) on the calibration questions, never the report set.

    python -m evals.calibrate                       # news + fresh-calibrate
    python -m evals.calibrate --sets news --out evals/calibration.json
    python -m evals.calibrate --db archive          # the same questions over a whole archive

Prints the weights for ``rag.tuning`` (``relevance_weights``, ``relevance_bias``) and each
set's abstention with them; writes every question's signals so a change can be re-fitted.
Follow-ups are left out: their condensed query keeps the gap rule (docs/design.md, "Abstention").
"""

from __future__ import annotations

import json
from dataclasses import astuple
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer

from evals.datasets import SETS
from evals.run import build_index, open_existing
from rag.answers.relevance import FEATURES

app = typer.Typer(add_completion=False)


def signals_of(sets: list[str], db: Path | None = None) -> list[dict]:
    """One row per (non-follow-up) question: set, id, answerable, the index's chunks, and the
    signals; over each set's own index, or all over ``db`` (an archive holding their articles)."""
    from rag.answers import extractive as answer
    from rag.settings import Settings

    rows, embedder = [], None
    shared = open_existing(db, {"model": Settings().model})[0] if db else None
    try:
        for name in sets:
            es = SETS[name]()
            index = shared or build_index(es, {"model": Settings().model}, embedder=embedder)[0]
            embedder = index.embedder
            chunks = index.count()[1]
            for q in es.questions:
                if q.kind == "followup":
                    continue
                ev = answer.gather(index, q.text)
                found = answer.evidence(index, ev)
                if found is None or ev.gap is None:
                    continue
                rows.append({"set": name, "id": q.id, "answerable": q.kind != "unanswerable", "chunks": chunks,
                             **dict(zip(FEATURES, astuple(found[1])))})
            if index is not shared:
                index.close()
    finally:
        if shared:
            shared.close()
    return rows


def fit(rows: list[dict], c: float = 1.0) -> tuple[list[float], float]:
    """Logistic regression on standardised signals, returned on the raw scale."""
    from sklearn.linear_model import LogisticRegression

    x = np.array([[r[f] for f in FEATURES] for r in rows])
    y = np.array([r["answerable"] for r in rows])
    mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-9
    # Unanswerable questions are few: weigh the classes equally so abstention is not ignored.
    model = LogisticRegression(C=c, class_weight="balanced").fit((x - mu) / sd, y)
    w = model.coef_[0] / sd
    return [round(float(v), 3) for v in w], round(float(model.intercept_[0] - np.dot(model.coef_[0], mu / sd)), 3)


def abstention(rows: list[dict], weights, bias) -> dict[str, str]:
    """Per set: answerable wrongly abstained, unanswerable abstained."""
    out = {}
    for name in dict.fromkeys(r["set"] for r in rows):
        mine = [r for r in rows if r["set"] == name]
        p = [1 / (1 + np.exp(-(bias + np.dot(weights, [r[f] for f in FEATURES])))) for r in mine]
        ans = [pi for pi, r in zip(p, mine) if r["answerable"]]
        una = [pi for pi, r in zip(p, mine) if not r["answerable"]]
        out[name] = f"wrongly abstained {sum(pi < 0.5 for pi in ans)}/{len(ans)}, " \
                    f"unanswerable abstained {sum(pi < 0.5 for pi in una)}/{len(una)}"
    return out


@app.command()
def main(sets: Annotated[str, typer.Option(help="Calibration sets (never the report set).")] = "news,fresh-calibrate",
         out: Annotated[Path, typer.Option(help="Where the signals and the fit are written.")] =
         Path("evals/calibration.json"),
         db: Annotated[Optional[Path], typer.Option(help="Measure over this existing index (e.g. a whole archive "
                                                    "holding the sets' articles) instead of each set's own.")] = None,
         ) -> None:
    names = sets.split(",")
    if any("report" in n for n in names):
        raise typer.BadParameter("the report set is for reporting only: calibrate on other questions")
    rows = signals_of(names, db)
    weights, bias = fit(rows)
    typer.echo(f"relevance_weights = {tuple(weights)}  # {FEATURES}\nrelevance_bias = {bias}")
    for name, line in abstention(rows, weights, bias).items():
        typer.echo(f"{name}: {line}")
    out.write_text(json.dumps({"features": FEATURES, "weights": weights, "bias": bias, "rows": rows},
                              ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    app()
