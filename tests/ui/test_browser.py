"""The chat UI in a real browser (Debian chromium via Playwright) against `rag serve`."""

from pathlib import Path

import pytest

from tests.conftest import REPO, SEED_DOUBT, SEED_QUESTION

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(scope="module")
def page(server):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: apt-get install chromium (test.sh does this)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        pg = browser.new_page(viewport={"width": 1200, "height": 1000})
        pg.goto(server, wait_until="load")
        yield pg
        browser.close()


def _ask(page, question):
    page.locator("#question textarea").fill(question)
    page.locator("#ask").click()


def test_seed_question_shows_citation_and_arabic_quote(page):
    ARTIFACTS.mkdir(exist_ok=True)
    _ask(page, SEED_QUESTION)
    mark = page.locator("mark.rag-quote", has_text=SEED_DOUBT).first
    mark.wait_for(timeout=120_000)
    source = page.locator(".rag-source", has=mark)
    assert source.get_attribute("id", timeout=5000).startswith("rag-src-")
    n = source.get_attribute("id").removeprefix("rag-src-")
    answer = page.locator(".rag-answer").last
    assert f"[{n}]" in answer.inner_text() and answer.get_attribute("dir") == "auto"
    # The quote is shown right to left (dir=auto resolves to rtl for Arabic text).
    assert mark.evaluate("e => getComputedStyle(e.parentElement).direction") == "rtl"
    assert "According to" in answer.inner_text()
    page.screenshot(path=str(ARTIFACTS / "ui-seed-question.png"), full_page=True)
