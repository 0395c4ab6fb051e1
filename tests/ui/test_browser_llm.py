"""The chat UI's LLM mode in a real browser, against `rag serve --llm-url` and the local LLM.

Its own module: one `rag serve` owns an index at a time, and the plain UI tests' server owns
the news index while their module runs.
"""

import re

import pytest

from tests.conftest import SEED_QUESTION
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


# The 1.5B model's sentences fail the check on some questions (evals/RESULTS.md): the next
# question is asked only when no sentence of the one before passed, so the checked mark is shown.
QUESTIONS = ("How many people were killed by the heat wave in Karachi?", SEED_QUESTION,
             "What did the Vienna zoo open for the giant pandas?")


def test_llm_mode_shows_checked_english_sentences_beside_the_arabic_quotes(browser, llm_server):
    pg = browser.new_page(viewport={"width": 1300, "height": 1000})
    tried = []
    for question in QUESTIONS:  # each in a new chat: a follow-up would be condensed with the one before
        pg.goto(llm_server, wait_until="load")
        status = pg.locator("#status")
        status.wait_for()
        assert "language model" in status.inner_text()  # the sidebar says which mode is on
        pg.locator("#mode label", has_text="llm").click()
        answer = _ask(pg, question, timeout=300_000)
        pg.locator(".rag-sources").first.wait_for()  # the last step: the answer with its note and sources
        text = answer.inner_text()
        # every LLM-mode answer says how its sentences fared; a missing note is a fallback
        notes = pg.locator(".rag-answer + .rag-checked")
        assert notes.count() == 1, f"no LLM mode note under: {text!r} ({pg.locator('.rag-mode').all_inner_texts()})"
        note = notes.first.inner_text()
        tried.append(note)
        assert "check against their quotes" in note or "checked against their quotes" in note, note
        if note.startswith("✓"):
            break
    _shot(pg, "llm-checked")
    assert note.startswith("✓"), f"no model sentence passed on {len(QUESTIONS)} questions: {tried}"
    english = [line for line in text.splitlines() if line and not line.startswith("According to")]
    assert english and all(re.search(r"[A-Za-z]{3}", line) and re.search(r"\[\d+\]", line) for line in english)
    assert pg.locator("mark.rag-quote").count() >= 1  # the Arabic quotes stay beside the sentences
    assert pg.locator("mark.rag-quote").first.evaluate("e => getComputedStyle(e.parentElement).direction") == "rtl"
    assert pg.evaluate("() => window.__pwned") is None  # the hostile article's markup stays text
    pg.close()
