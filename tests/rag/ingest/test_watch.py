"""A served index that grows while it answers: `POST /api/ingest`, `rag serve --watch DIR`, and
`rag ingest` through the server, against a real `rag serve` over its own on-disk index."""

import json
import os
import subprocess
import sys
import threading
import time

import httpx
import pytest

from tests.conftest import SEED, SEED_DOUBT, SEED_QUESTION, free_port, running

pytestmark = pytest.mark.slow

# Sentences long enough that one article makes several chunks; each names its version.
BODY = ("أعلنت وكالة الفضاء الأردنية إطلاق القمر الصناعي {v} من قاعدة في وادي رم لرصد التصحر والمياه الجوفية. "
        "وقال مدير الوكالة إن القمر {v} سيصور المملكة كل ثلاثة أيام بدقة عشرة أمتار ويرسل صوره إلى محطة في عمان. ")


def _article(aid: str, version: str, n: int = 8) -> dict:
    return {"id": aid, "title": f"إطلاق القمر الصناعي {version}", "source": "test", "date": "2018-06-01",
            "text": BODY.format(v=version) * n}


@pytest.fixture(scope="module")
def live(tmp_path_factory, shared):
    """`rag serve` over a fresh index holding the seed article, watching an empty inbox."""
    root = tmp_path_factory.mktemp("live")
    inbox, db = root / "inbox", root / "db"
    inbox.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    cmd = [sys.executable, "-m", "rag.cli", "serve", "--db", str(db), "--port", str(port), "--ingest", str(SEED),
           "--watch", str(inbox)]
    with running(cmd, url + "api/health", root / "serve.log"), httpx.Client(base_url=url, timeout=300) as http:
        yield http, inbox, db, root / "serve.log"


def _ids(http, question: str, k: int = 10) -> list[str]:
    return [r["article_id"] for r in http.post("/api/search", json={"question": question, "k": k}).json()["results"]]


def _until(condition, what: str, timeout: float = 120):
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.5)


def test_posted_articles_are_searchable_at_once_and_bad_records_are_named(live):
    http, *_ = live
    before = http.get("/api/health").json()["articles"]
    out = http.post("/api/ingest", json={"articles": [_article("sat-1", "ALPHA"), {"title": "no body"}, "text"]})
    assert out.status_code == 200, out.text
    report = out.json()
    assert (report["articles"], report["failed"], report["index_articles"]) == (1, 2, before + 1)
    assert [p["record"] for p in report["problems"]] == [2, 3] and "text" in report["problems"][0]["message"]
    assert _ids(http, "Jordan satellite launch Wadi Rum", 3)[0] == "sat-1"
    again = http.post("/api/ingest", json={"articles": [_article("sat-1", "ALPHA")]}).json()
    assert (again["articles"], again["skipped"]) == (0, 1)  # posting it twice changes nothing
    assert http.post("/api/ingest", json={"articles": []}).status_code == 422
    assert http.post("/api/ingest", json={"records": [{"text": "x"}]}).status_code == 422  # a misspelt field


def test_readers_during_an_update_see_the_old_article_or_the_new_one(live):
    http, *_ = live
    http.post("/api/ingest", json={"articles": [_article("sat-2", "OLDVER")]}).raise_for_status()
    seen, stop = [], threading.Event()

    def read():
        with httpx.Client(base_url=str(http.base_url), timeout=300) as own:
            while not stop.is_set():
                res = own.post("/api/search", json={"question": "القمر الصناعي من وادي رم", "k": 20}).json()["results"]
                texts = [r["text"] for r in res if r["article_id"] == "sat-2"]
                seen.append({v for v in ("OLDVER", "NEWVER") for t in texts if v in t} if texts else {"missing"})

    readers = [threading.Thread(target=read) for _ in range(2)]
    for t in readers:
        t.start()
    time.sleep(1)
    for n in range(3):  # each update replaces all chunks of the article
        version = "NEWVER" if n % 2 == 0 else "OLDVER"
        http.post("/api/ingest", json={"articles": [_article("sat-2", version, 8 + n)]}).raise_for_status()
    time.sleep(1)
    stop.set()
    for t in readers:
        t.join()
    assert len(seen) > 10 and all(s in ({"OLDVER"}, {"NEWVER"}) for s in seen), seen
    assert {"OLDVER"} in seen and {"NEWVER"} in seen


def test_a_watched_folder_is_indexed_as_files_arrive_change_and_go(live):
    http, inbox, _, log = live
    path = inbox / "wire.jsonl"
    tmp = inbox / ".wire.jsonl.part"  # written beside, then renamed: how feeds deliver files
    tmp.write_text(json.dumps(_article("wire-1", "GAMMA"), ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.rename(path)
    _until(lambda: "wire-1" in _ids(http, "Jordan satellite launch Wadi Rum"), "a new file's article is searchable")
    changed = dict(_article("wire-1", "DELTA"), text="افتتح متحف العقبة جناحا جديدا للمخطوطات البحرية القديمة.")
    path.write_text(json.dumps(changed, ensure_ascii=False) + "\nnot json\n", encoding="utf-8")
    _until(lambda: _ids(http, "Aqaba museum manuscripts wing", 1) == ["wire-1"], "a changed article is replaced")
    _until(lambda: "wire.jsonl:2: broken JSON" in log.read_text(), "the broken line is named in the server log")
    path.unlink()
    _until(lambda: "wire-1" not in _ids(http, "Aqaba museum manuscripts wing"), "a deleted file's article goes")
    assert SEED_DOUBT in http.post("/api/ask", json={"question": SEED_QUESTION}).text  # the rest stays


def test_cli_ingest_search_and_ask_go_through_the_server(live, tmp_path):
    http, _, db, _ = live
    url = str(http.base_url)

    def rag(*args):
        return subprocess.run([sys.executable, "-m", "rag.cli", *args, "--db", str(db)], capture_output=True,
                              text=True, timeout=300, env={**os.environ, "PYTHONIOENCODING": "utf-8"})

    feed = tmp_path / "feed.jsonl"
    feed.write_text(json.dumps(_article("cli-1", "EPSILON"), ensure_ascii=False) + "\n{broken\n", encoding="utf-8")
    out = rag("ingest", str(feed), "-q")
    assert out.returncode == 1 and url in out.stderr, out.stderr  # one bad line: exit 1, the rest indexed
    assert f"{feed}:2: broken JSON" in out.stderr and "1 articles indexed" in out.stdout
    found = json.loads(rag("search", "Jordan satellite EPSILON", "-k", "10", "--json").stdout)
    assert "cli-1" in [r["article_id"] for r in found["results"]]
    rebuild = rag("ingest", str(feed), "--rebuild")
    assert rebuild.returncode == 2 and "stop that server" in rebuild.stderr and "Traceback" not in rebuild.stderr
