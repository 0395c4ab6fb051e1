"""The chat UI's LLM mode in a real browser, against `rag serve --llm-url` and the local LLM.

Its own module: one `rag serve` owns an index at a time, and the plain UI tests' server owns
the news index while their module runs.
"""

import re

import pytest

from tests.ui.test_browser import _ask, _shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def llm_server(news_db, llm_url, tmp_path_factory):
    """`rag serve` with the local LLM configured."""
    import sys

    from tests.conftest import free_port, running

    port = free_port()
    cmd = [sys.executable, "-m", "rag.cli", "serve", "--db", str(news_db), "--port", str(port), "--llm-url", llm_url]
    with running(cmd, f"http://127.0.0.1:{port}/api/health", tmp_path_factory.mktemp("serve-llm") / "serve.log"):
        yield f"http://127.0.0.1:{port}/"


def test_llm_mode_shows_checked_english_sentences_beside_the_arabic_quotes(browser, llm_server):
    pg = browser.new_page(viewport={"width": 1300, "height": 1000})
    pg.goto(llm_server, wait_until="load")
    status = pg.locator("#status")
    status.wait_for()
    assert "language model" in status.inner_text()  # the sidebar says which mode is on
    pg.locator("#mode label", has_text="llm").click()
    answer = _ask(pg, "How many people were killed by the heat wave in Karachi?")
    note = pg.locator(".rag-checked").last
    note.wait_for(timeout=300_000)
    _shot(pg, "llm-checked")
    assert "checked against their quotes" in note.inner_text()
    text = answer.inner_text()
    english = [line for line in text.splitlines() if line and not line.startswith("According to")]
    assert english and all(re.search(r"[A-Za-z]{3}", line) and re.search(r"\[\d+\]", line) for line in english)
    assert pg.locator("mark.rag-quote").count() >= 1  # the Arabic quotes stay beside the sentences
    assert pg.locator("mark.rag-quote").first.evaluate("e => getComputedStyle(e.parentElement).direction") == "rtl"
    pg.close()
