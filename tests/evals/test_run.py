"""The evaluation script end to end on a slice of XQuAD (real model, real index)."""

import json

import pytest

from evals.metrics import mrr_at_k, ndcg_at_k, recall_at_k

pytestmark = pytest.mark.slow


def test_metrics_on_known_rankings():
    assert ndcg_at_k(["g"], {"g"}) == 1.0 and ndcg_at_k(["x"] * 10 + ["g"], {"g"}) == 0.0
    assert recall_at_k(["a", "g"], {"g", "h"}, 2) == 0.5 and mrr_at_k(["a", "b", "g"], {"g"}) == pytest.approx(1 / 3)


def test_quick_run_writes_report_and_gates_on_the_baseline(tmp_path, monkeypatch):
    from evals.cli import main

    monkeypatch.setenv("RAG_CACHE", str(tmp_path / "cache"))
    base = tmp_path / "baseline.json"
    unreachable = {"questions": 40, "ndcg@10": 1.5, "recall@10": 1.5}
    base.write_text(json.dumps({"xquad-ar-ar/hybrid": unreachable}))
    out = tmp_path / "run"
    status = main(["--sets", "xquad-en,xquad-ar", "--limit", "40", "--out", str(out), "--baseline", str(base)])
    summary = json.loads((out / "summary.json").read_text())
    assert status == 1 and "DROP xquad-ar-ar/hybrid ndcg@10" in (out / "report.md").read_text()
    assert (out / "recall-at-k.png").stat().st_size > 10_000
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["sets"]["xquad-ar"]["articles"] == 240 and manifest["code_version"]
    assert 0 < manifest["sets"]["xquad-ar"]["query_embed_ms_p50"] <= manifest["sets"]["xquad-ar"]["query_embed_ms_p95"]
    assert "query embedding p50 / p95" in (out / "report.md").read_text()
    rows = [json.loads(x) for x in (out / "questions.jsonl").read_text().splitlines()]
    configs = {"dense", "sentences", "bm25", "hybrid", "bm25:raw", "hybrid:raw", "bm25:fold", "hybrid:fold"}  # ablations in one run
    assert len(rows) == 2 * len(configs) * 40 and {r["config"] for r in rows} == configs
    # The language-aware fusion: BM25 cannot help English questions and never touches them; their
    # names matched across scripts and their question form taken off lift them instead.
    assert summary["xquad-en-ar/bm25"]["ndcg@10"] < 0.3
    assert summary["xquad-en-ar/hybrid"]["ndcg@10"] >= summary["xquad-en-ar/sentences"]["ndcg@10"] > 0.7
    # the ablations ran with their own analyzer and the same language-aware fusion
    assert 0.5 < summary["xquad-ar-ar/bm25:raw"]["ndcg@10"] != summary["xquad-ar-ar/bm25"]["ndcg@10"]
    assert summary["xquad-en-ar/hybrid:raw"]["ndcg@10"] == summary["xquad-en-ar/hybrid"]["ndcg@10"]
    assert summary["xquad-ar-ar/hybrid"]["ndcg@10"] > 0.85 and summary["xquad-ar-ar/bm25"]["ndcg@10"] > 0.75
    # The TREC files give the same figures through ir-measures (pytrec_eval's trec_eval code).
    import ir_measures
    from ir_measures import RR, R, nDCG

    for name, config in (("xquad-ar-ar", "hybrid"), ("xquad-en-ar", "dense")):  # every question ranked
        qrels = list(ir_measures.read_trec_qrels(str(out / "trec" / f"{name}.qrels")))
        run = list(ir_measures.read_trec_run(str(out / "trec" / f"{name}.{config}.run")))
        agg = ir_measures.calc_aggregate([nDCG @ 10, R @ 1, R @ 5, R @ 10, RR @ 10], qrels, run)
        ours = summary[f"{name}/{config}"]
        assert agg[nDCG @ 10] == pytest.approx(ours["ndcg@10"], abs=1e-9)
        assert agg[RR @ 10] == pytest.approx(ours["mrr@10"], abs=1e-9)
        assert [agg[R @ k] for k in (1, 5, 10)] == pytest.approx([ours[f"recall@{k}"] for k in (1, 5, 10)], abs=1e-9)
    tests = json.loads((out / "significance.json").read_text())
    assert 0 < tests["xquad-en-ar/dense"]["p"] <= 1 and tests["xquad-en-ar/dense"]["delta_ndcg@10"] < 0
    assert "Paired randomization" in (out / "report.md").read_text()
    # The second set reused the first one's index (same paragraphs): only one was built.
    assert manifest["sets"]["xquad-ar"]["indexed_now"] == 0
    base.write_text(json.dumps({"xquad-ar-ar/hybrid": {"questions": 40, "ndcg@10": 0.5, "recall@10": 0.5}}))
    assert main(["--sets", "xquad-ar", "--limit", "40", "--configs", "hybrid", "--out", str(tmp_path / "r2"),
                 "--baseline", str(base)]) == 0


def test_answer_metrics_on_a_small_set(news_index):
    from evals.datasets import EvalSet, Question
    from evals.run import evaluate_answers

    karachi = "SK-internationalNews-1702-20180522"
    es = EvalSet("mini", [], [
        Question("f1", "How many people were killed by the heat wave in Karachi?", "en", "ar", [karachi], ["65"]),
        Question("u1", "What is the recipe for chocolate cake?", "en", "ar", [], [], kind="unanswerable"),
        Question("c1", "What temperature was reached there?", "en", "ar", [karachi], ["44"], kind="followup",
                 context="How many people were killed by the heat wave in Karachi?"),
    ])
    rows, summary = evaluate_answers(es, news_index)
    assert summary["citation_validity"] == 1.0 and summary["gold_cited"] == 1.0
    assert summary["unanswerable_abstained"] == "1/1" and summary["wrong_abstentions"] == "0/2"
    assert rows[0]["answer_in_quotes"] and summary["followup_recall@5_condensed"] == 1.0


def test_own_questions_over_own_articles(tmp_path, monkeypatch, shared):
    from evals.cli import main

    monkeypatch.setenv("RAG_CACHE", str(tmp_path / "cache"))
    qs = tmp_path / "mine.jsonl"
    qs.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in [
        {"question": "What did Russia say about the Gulf alliance?", "gold": ["seed-article.txt"],
         "answer": "يشكك في إمكانية تنفيذ الفكرة الأميركية"},
        {"question": "Who won the 2031 football world cup?", "gold": [], "answerable": False}]) + "\n")
    out = tmp_path / "run"
    assert main(["--questions", str(qs), "--corpus", str(shared / "corpus" / "seed-article.txt"),
                 "--configs", "dense,hybrid", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["own-mine/hybrid"]["questions"] == 1 and summary["own-mine/hybrid"]["recall@10"] == 1.0
    answers = summary["own-mine/answers-extractive"]
    assert answers["answer_in_quotes"] == 1.0 and answers["unanswerable_abstained"] == "1/1"
    assert (out / "trec" / "own-mine.hybrid.run").read_text().startswith("mine.jsonl#1 Q0 seed-article.txt 1 ")
    # The same questions on the index just built, opened as an existing one (as a whole archive
    # would be): the same ranking, nothing ingested.
    db = next((tmp_path / "cache" / "evals").glob("own-*/db"))
    again = tmp_path / "again"
    assert main(["--questions", str(qs), "--db", str(db), "--configs", "hybrid", "--out", str(again)]) == 0
    assert json.loads((again / "summary.json").read_text())["own-mine/hybrid"]["recall@10"] == 1.0
    assert json.loads((again / "manifest.json").read_text())["sets"]["own-mine"]["indexed_now"] == 0
    assert main(["--questions", str(qs), "--db", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "nowhere").exists()
