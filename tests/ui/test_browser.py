"""The chat UI in a real browser (Debian chromium via Playwright) against `rag serve`.

Each test saves a screenshot of the state it checks to test-artifacts/.
"""


import pytest

from tests.conftest import EVIL_QUESTION, REPO, SEED_DOUBT, SEED_QUESTION

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = REPO / "test-artifacts"
# Records every text the chat shows, to prove that answers arrive in steps.
RECORD = """() => {
  window.__seen = [];
  const chat = document.querySelector('#chat');
  new MutationObserver(() => window.__seen.push(chat.innerText)).observe(
      chat, {subtree: true, childList: true, characterData: true});
}"""


@pytest.fixture
def page(browser, server):
    pg = browser.new_page(viewport={"width": 1300, "height": 1000})
    pg.requested = []  # every URL the page asks for: the UI must work with no network
    pg.on("request", lambda req: pg.requested.append(req.url))
    pg.goto(server, wait_until="load")
    pg.locator("#question textarea").wait_for()
    yield pg
    pg.close()


def _ask(page, question, timeout=120_000):
    n = page.locator(".rag-answer").count()
    page.locator("#question textarea").fill(question)
    page.locator("#ask").click()
    page.locator(".rag-answer").nth(n).wait_for(timeout=timeout)
    page.wait_for_function("() => !document.querySelector('#chat .rag-pending')", timeout=timeout)
    return page.locator(".rag-answer").nth(n)


def _shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"ui-{name}.png"), full_page=True)


def test_english_seed_question_streams_and_cites_the_arabic_quote(page, server):
    page.evaluate(RECORD)
    answer = _ask(page, SEED_QUESTION)
    mark = page.locator("mark.rag-quote", has_text=SEED_DOUBT).first
    mark.wait_for(timeout=30_000)
    source = page.locator(".rag-source", has=mark)
    n = source.get_attribute("id").rsplit("-", 1)[1]
    assert f"[{n}]" in answer.inner_text() and answer.get_attribute("dir") == "auto"
    assert "According to" in answer.inner_text()
    # dir=auto resolves to right-to-left for the Arabic passage.
    assert mark.evaluate("e => getComputedStyle(e.parentElement).direction") == "rtl"
    assert source.locator("mark").inner_text() in source.locator(".rag-passage").inner_text()
    seen = page.evaluate("window.__seen")
    assert any("Searching the articles" in s for s in seen), "the pending state was never shown"
    assert "Searching the articles" not in seen[-1] and SEED_DOUBT in seen[-1]
    # Clicking [n] brings its source into view.
    page.mouse.wheel(0, -5000)
    answer.locator(f"a.rag-ref:has-text('[{n}]')").first.click()
    page.wait_for_timeout(500)
    assert source.evaluate("e => { const r = e.getBoundingClientRect();"
                           " return r.top < window.innerHeight && r.bottom > 0; }")
    _shot(page, "english-seed-question")
    outside = [u for u in page.requested if not u.startswith((server, "data:", "blob:"))]
    assert not outside, f"the page fetched from outside the machine: {outside[:5]}"


def test_arabic_question_rtl(page):
    answer = _ask(page, "كم ساعة أمهلت السعودية السفير الكندي لمغادرة أراضيها؟")
    lead, quotes = answer.inner_text().split("\n", 1)
    assert lead.startswith("وُجد في") and quotes.startswith("بحسب")
    assert answer.evaluate("e => getComputedStyle(e).direction") == "rtl"
    assert "24 ساعة" in page.locator("mark.rag-quote").first.inner_text()
    user = page.locator("#chat [dir=auto]", has_text="كم ساعة").first
    assert user.evaluate("e => getComputedStyle(e).direction") == "rtl"
    _shot(page, "arabic-question")


def test_date_filter_changes_the_sources(page):
    question = "What did Iran say about the accusations of chemical weapons in Syria?"
    _ask(page, question)
    before = page.locator(".rag-sources").last.inner_text()
    assert "2018-04-08" in before  # CNN Arabic's article of that day answers it
    for box, value in (("#date-from", "2018-08-01"), ("#date-to", "2018-10-31")):
        field = page.locator(f"{box} input, {box} textarea").first
        field.fill(value)
        field.press("Tab")  # leave the field, as a person does: its change reaches Gradio before the click
    _ask(page, question)
    after = page.locator(".rag-sources").last.inner_text()
    assert "2018-04-08" not in after and after != before
    dates = page.locator(".rag-sources").last.locator(".rag-meta").all_inner_texts()
    assert all("2018-08" in d or "2018-09" in d or "2018-10" in d for d in dates if "2018" in d)
    _shot(page, "date-filter")


def test_not_in_the_sources_state(page):
    answer = _ask(page, "What is the recipe for chocolate cake?")
    assert "do not answer" in answer.inner_text()
    assert "rag-abstain" in answer.get_attribute("class")
    assert "Nearest passages" in page.locator(".rag-sources").last.inner_text()
    _shot(page, "not-in-sources")


def test_script_injection_article_is_inert(page):
    _ask(page, EVIL_QUESTION)
    sources = page.locator(".rag-sources").last
    text = sources.inner_text()
    assert "<script>" in text and "onerror" in text  # shown as text...
    page.wait_for_timeout(500)
    assert page.evaluate("window.__pwned") is None  # ...and nothing ran
    assert sources.locator("script, img").count() == 0
    assert all(not (h or "").startswith("javascript:") for h in
               sources.locator("a").evaluate_all("els => els.map(e => e.getAttribute('href'))"))
    _shot(page, "script-injection")

