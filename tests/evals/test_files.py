"""Files other tools read: TREC run and qrels, BEIR layout, and the paired comparison of two runs."""

import json

from evals.beir import write_beir
from evals.compare import compare_runs
from evals.datasets import EvalSet, Question


def test_beir_layout(tmp_path):
    es = EvalSet("mini", [{"id": "a1", "title": "T", "text": "نص", "source": "bbc", "date": "2018-05-02"}],
                 [Question("q1", "Who?", "en", "ar", ["a1"], ["x"]),
                  Question("q2", "Why?", "en", "ar", [], [], kind="unanswerable")])
    assert write_beir(es, tmp_path) == {"corpus": 1, "queries": 2, "qrels": 1}
    doc = json.loads((tmp_path / "corpus.jsonl").read_text())
    assert doc == {"_id": "a1", "title": "T", "text": "نص", "metadata": {"source": "bbc", "date": "2018-05-02"}}
    assert (tmp_path / "qrels" / "test.tsv").read_text() == "query-id\tcorpus-id\tscore\nq1\ta1\t1\n"
    assert [json.loads(x)["_id"] for x in (tmp_path / "queries.jsonl").read_text().splitlines()] == ["q1", "q2"]


def test_two_runs_compared_question_by_question(tmp_path):
    def run(name, ranked_q2):
        d = tmp_path / name
        d.mkdir()
        rows = [{"set": "s", "config": "hybrid", "id": f"q{i}", "gold": ["g"],
                 "ranked": ["g"] if i != 2 else ranked_q2} for i in range(1, 31)]
        (d / "questions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        return d

    table = compare_runs(run("a", ["x", "g"]), run("b", ["g"]))
    row = next(line for line in table.splitlines() if line.startswith("| s/hybrid"))
    cells = [c.strip() for c in row.split("|")[1:-1]]
    assert cells[1] == "30" and float(cells[4]) < 0 and float(cells[5]) > 0.05  # one question: not significant
