"""The chat UI (Gradio Blocks): cited answers, sources under each answer, Arabic right to left.

Everything that comes from an article is HTML-escaped here, before Gradio sees it. The app is
served by :mod:`rag.api.server`; its API endpoints call :mod:`rag.api.service`, as the HTTP API does.

Example:
    >>> demo = build_app(index)          # doctest: +SKIP
"""

from __future__ import annotations

import html
import logging
import os
import re

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home, before gradio loads

from rag.answers.extractive import Answer  # noqa: E402
from rag.answers.generate import llm_ready  # noqa: E402
from rag.answers.generate import status as llm_status  # noqa: E402
from rag.api import service  # noqa: E402
from rag.hits import Filters  # noqa: E402
from rag.outlets import outlet_name  # noqa: E402

EXAMPLES = [
    "What did Russia say about the Gulf alliance?",
    "ماذا قال نائب وزير الخارجية الروسي عن التحالف الأميركي في الخليج؟",
]
CSS = """
.rag-answer { line-height: 1.7; }
.rag-sources { margin-top: .6em; border-top: 1px solid #ddd; padding-top: .4em; font-size: .92em; }
.rag-source { margin: .35em 0; }
.rag-quote { background: #fff3b0; border-radius: 3px; }
.rag-meta { color: #666; font-size: .9em; }
.rag-abstain { color: #8a4b00; }
#chat code, #chat pre { direction: ltr; unicode-bidi: isolate; text-align: left; }
"""


def _e(text: str) -> str:
    return html.escape(text or "", quote=True)


def render_answer(ans: Answer, anchor: str = "a") -> str:
    """HTML for one answer: the text with [n] markers, then its sources (all escaped).

    ``anchor`` makes the ids of this answer's sources unique in the page, so that [n]
    jumps to the source of the same answer.

    >>> from rag.answers.extractive import Answer, Citation
    >>> c = Citation(1, "a", "a::0", "<b>T</b>", "bbc", "javascript:x", "2018", "q<script>")
    >>> out = render_answer(Answer("?", "x «q<script>» [1]", False, [c]))
    >>> "<script>" in out, "&lt;script&gt;" in out, "javascript:" in out
    (False, True, False)
    """
    body = _e(ans.answer)
    body = re.sub(r"\[(\d+)\]", rf'<a href="#rag-src-{anchor}-\1" class="rag-ref">[\1]</a>', body)
    body = body.replace("\n", "<br>")
    cls = "rag-answer rag-abstain" if ans.abstained else "rag-answer"
    parts = [f'<div class="{cls}" dir="auto">{body}</div>']
    if ans.mode == "llm":
        note = (f"✓ Written by the language model: {ans.checked} sentence(s) checked against their quotes "
                "(names, numbers, meaning)." if ans.checked else
                "✗ No sentence of the language model passed the check against their quotes (names, numbers, meaning).")
        if ans.replaced:
            note += f" {ans.replaced} that failed {'is' if ans.replaced == 1 else 'are'} shown as the quote."
        if ans.invalid_citations:
            note += f" {ans.invalid_citations} line(s) dropped (uncited, repeated or cut off)."
        parts.append(f'<div class="rag-meta rag-mode rag-checked">{_e(note)}</div>')
    if ans.citations:
        items = []
        for c in ans.citations:
            passage = c.passage or c.quote
            i = passage.find(c.quote)
            shown = (_e(passage[:i]) + f'<mark class="rag-quote">{_e(c.quote)}</mark>'
                     + _e(passage[i + len(c.quote):])) if i >= 0 else f'<mark class="rag-quote">{_e(c.quote)}</mark>'
            url = service.safe_url(c.url)
            title = f'<a href="{_e(url)}" target="_blank" rel="noopener noreferrer">{_e(c.title)}</a>' if url else _e(c.title)
            meta = " · ".join(_e(x) for x in (outlet_name(c.source), c.date) if x)
            items.append(f'<div class="rag-source" id="rag-src-{anchor}-{c.n}"><b>[{c.n}]</b> '
                         f'<span dir="auto">{title}</span> <span class="rag-meta">{meta}</span>'
                         f'<div class="rag-passage" dir="auto">{shown}</div></div>')
        parts.append('<div class="rag-sources"><b>Sources</b>' + "".join(items) + "</div>")
    elif ans.passages:
        near = "".join(f'<div class="rag-source" dir="auto">{_e(h.title)} <span class="rag-meta">'
                       f"{_e(outlet_name(h.source))} {_e(h.date)} · {h.score:.2f}</span></div>"
                       for h in ans.passages[:3])
        parts.append(f'<div class="rag-sources"><b>Nearest passages</b>{near}</div>')
    return "".join(parts)


def _stream_steps(ans: Answer, anchor: str):
    """What the chat shows while an answer arrives: its lines one by one, marked as still coming
    (for the reader, and for a browser test that must not take a partial answer for the whole),
    then the whole answer with its sources."""
    lines = ans.answer.split("\n")
    for i in range(1, len(lines)):
        partial = Answer(ans.question, "\n".join(lines[:i]), ans.abstained)
        yield render_answer(partial, anchor) + '<div class="rag-pending rag-meta" aria-busy="true">…</div>'
    yield render_answer(ans, anchor)


def _filters(sources, date_from: str, date_to: str) -> Filters:
    """Filters from the side panel; a malformed date is refused with a message."""
    dates = []
    for label, value in (("From", date_from), ("To", date_to)):
        value = (value or "").strip()
        if value and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError(f"{label} date must look like 2018-08-27, not {value!r}")
        dates.append(value or None)
    return Filters(sources=tuple(sources or ()), date_from=dates[0], date_to=dates[1])


def _query(gr, **fields) -> service.Query:
    """The API's own validation for the Gradio endpoints: a bad field is named, nothing else leaks."""
    from pydantic import ValidationError

    try:
        return service.Query(**fields)
    except ValidationError as e:
        raise gr.Error(service.first_error(e.errors())[1]) from None


def _guarded(gr, work):
    """Run ``work``; an unexpected error is logged here and reaches the client as a plain message."""
    try:
        return work()
    except Exception:
        logging.getLogger(__name__).exception("Gradio API call failed")
        raise gr.Error("internal error; the server log has the details") from None


def status_text(index, llm) -> str:
    """The sidebar's status: the index size (it grows while the server ingests) and the answer mode."""
    articles, chunks = index.count()
    st = llm_status(llm)
    mode = "written by the language model (checked)" if st["llm_ready"] else "extractive quotes"
    return f"**Index:** {articles:,} articles, {chunks:,} passages  \n**Answers:** {mode}  \n{_e(st['hint'])}"


def build_app(index, llm=None):
    """The Gradio Blocks app over an open :class:`rag.index.Index` (``llm``: a LangChain chat model)."""
    import itertools

    import gradio as gr

    counter = itertools.count(1)
    outlets = [(outlet_name(src), src) for src in index.sources()]

    def respond(message: str, history: list, asked: list, sources, date_from, date_to, mode="extractive"):
        message, asked = (message or "").strip(), list(asked or [])  # "New chat" may reset it to None
        if not message:
            yield "", history, asked
            return
        try:
            filters = _filters(sources, date_from, date_to)
        except ValueError as e:
            gr.Warning(str(e))
            yield message, history, asked
            return
        history = history + [{"role": "user", "content": f'<div dir="auto">{_e(message)}</div>'},
                             {"role": "assistant", "content": '<div class="rag-pending">Searching the articles…</div>'}]
        yield "", history, asked
        turns = [{"role": "user", "content": q} for q in asked]  # raw questions, for follow-ups
        asked = asked + [message]
        anchor = f"m{next(counter)}"
        unready = mode == "llm" and llm is not None and not llm_ready(llm)
        if unready:
            gr.Info("The language model is not answering yet: this answer is extractive.")
            mode = "extractive"
        if mode == "llm" and llm is not None:
            from rag.answers.generate import stream  # the same checked answer as service.ask, streamed

            draft = ""
            for part in stream(index, message, llm, filters=filters, history=turns):
                if isinstance(part, Answer):
                    ans = part
                    break
                draft += part + "\n"  # each line already checked; the sources follow with the answer
                history[-1] = {"role": "assistant", "content": f'<div class="rag-pending" dir="auto">{_e(draft).replace(chr(10), "<br>")}</div>'}
                yield "", history, asked
        else:
            ans = service.ask(index, message, filters=filters, history=turns)
        for html_text in _stream_steps(ans, anchor):
            if unready:  # said beside the answer too: a toast is easily missed
                html_text += '<div class="rag-meta rag-mode">The language model is not answering yet: extractive.</div>'
            history[-1] = {"role": "assistant", "content": html_text}
            yield "", history, asked

    with gr.Blocks(title="News QA") as demo:
        with gr.Sidebar(label="Filters", open=True):
            gr.Markdown("**Filters**")
            sources = gr.Dropdown(outlets, multiselect=True, label="Outlets", elem_id="outlets")
            date_from = gr.Textbox(label="From date", placeholder="2018-02-01", elem_id="date-from")
            date_to = gr.Textbox(label="To date", placeholder="2018-10-31", elem_id="date-to")
            mode = gr.Radio(["extractive", "llm"] if llm is not None else ["extractive"], value="extractive",
                            label="Answer mode", elem_id="mode",
                            info="extractive quotes evidence sentences; llm writes an answer whose citations are "
                                 "checked" if llm is not None else "Quotes evidence sentences (no LLM configured).")
            gr.Markdown(lambda: status_text(index, llm), elem_id="status", every=5)
        gr.Markdown("### News QA — answers quoted from the articles, with numbered citations")
        chat = gr.Chatbot(height=600, elem_id="chat", sanitize_html=True, feedback_options=None,
                          layout="panel", show_label=False)
        with gr.Row():
            box = gr.Textbox(placeholder="Ask in English or Arabic…", show_label=False, scale=8,
                             elem_id="question", rtl=False)
            send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
        gr.Examples(EXAMPLES, inputs=box)
        asked = gr.State([])
        gr.ClearButton([chat, box, asked], value="New chat", elem_id="new-chat")
        inputs = [box, chat, asked, sources, date_from, date_to, mode]
        box.submit(respond, inputs, [box, chat, asked], api_visibility="private")
        send.click(respond, inputs, [box, chat, asked], api_visibility="private")

        def ask_api(question: str) -> dict:
            """Cited answer as JSON (the CLI's `ask --json`)."""
            q = _query(gr, question=question)
            return _guarded(gr, lambda: service.answer_json(service.ask(index, q.question)))

        def search_api(question: str, k: int = 5) -> dict:
            """Ranked passages as JSON (the CLI's `search --json`)."""
            q = _query(gr, question=question, k=k)
            return _guarded(gr, lambda: service.search(index, q.question, q.k))

        gr.api(ask_api, api_name="ask")
        gr.api(search_api, api_name="search")
    # Ten people asking at once are all answered: the model itself is shared under a lock.
    demo.queue(default_concurrency_limit=10, max_size=100)
    return demo
