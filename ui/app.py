"""The chat UI (Gradio): cited answers, sources under each answer, Arabic shown right to left.

Everything that comes from an article is HTML-escaped here, before Gradio sees it.

Example:
    >>> from rag.index import Index
    >>> launch(Index.open())          # doctest: +SKIP
"""

from __future__ import annotations

import html
import os
import re
import threading

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home, before gradio loads

from rag.answer import Answer, answer, outlet_name  # noqa: E402

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
"""


def _e(text: str) -> str:
    return html.escape(text or "", quote=True)


def _safe_url(url: str) -> str:
    """Only http(s) links: a ``javascript:`` URL from an article must not become a link."""
    return url if re.match(r"^https?://", url or "", re.I) else ""


def render_answer(ans: Answer) -> str:
    """HTML for one answer: the text with [n] markers, then its sources (all escaped).

    >>> from rag.answer import Answer, Citation
    >>> c = Citation(1, "a", "a::0", "<b>T</b>", "bbc", "javascript:x", "2018", "q<script>")
    >>> out = render_answer(Answer("?", "x «q<script>» [1]", False, [c]))
    >>> "<script>" in out, "&lt;script&gt;" in out, "javascript:" in out
    (False, True, False)
    """
    body = _e(ans.answer)
    body = re.sub(r"\[(\d+)\]", r'<a href="#rag-src-\1" class="rag-ref">[\1]</a>', body)
    body = body.replace("\n", "<br>")
    cls = "rag-answer rag-abstain" if ans.abstained else "rag-answer"
    parts = [f'<div class="{cls}" dir="auto">{body}</div>']
    if ans.citations:
        items = []
        for c in ans.citations:
            passage = c.passage or c.quote
            i = passage.find(c.quote)
            shown = (_e(passage[:i]) + f'<mark class="rag-quote">{_e(c.quote)}</mark>'
                     + _e(passage[i + len(c.quote):])) if i >= 0 else f'<mark class="rag-quote">{_e(c.quote)}</mark>'
            url = _safe_url(c.url)
            title = f'<a href="{_e(url)}" target="_blank" rel="noopener noreferrer">{_e(c.title)}</a>' if url else _e(c.title)
            meta = " · ".join(_e(x) for x in (outlet_name(c.source), c.date) if x)
            items.append(f'<div class="rag-source" id="rag-src-{c.n}"><b>[{c.n}]</b> <span dir="auto">{title}</span>'
                         f' <span class="rag-meta">{meta}</span><div dir="auto">{shown}</div></div>')
        parts.append('<div class="rag-sources"><b>Sources</b>' + "".join(items) + "</div>")
    elif ans.passages:
        near = "".join(f'<div class="rag-source" dir="auto">{_e(h.title)} <span class="rag-meta">'
                       f"{_e(outlet_name(h.source))} {h.score:.2f}</span></div>" for h in ans.passages[:3])
        parts.append(f'<div class="rag-sources"><b>Nearest passages</b>{near}</div>')
    return "".join(parts)


def build_app(index):
    """The Gradio Blocks app over an open :class:`rag.index.Index`."""
    import gradio as gr

    lock = threading.Lock()  # one model and one Chroma client, shared by all sessions

    def respond(message: str, history: list):
        message = (message or "").strip()
        if not message:
            return "", history
        with lock:
            ans = answer(index, message)
        history = history + [{"role": "user", "content": _e(message)},
                             {"role": "assistant", "content": render_answer(ans)}]
        return "", history

    with gr.Blocks(title="News QA") as demo:
        gr.Markdown("### News QA — answers quoted from the articles, with numbered citations")
        chat = gr.Chatbot(height=560, elem_id="chat", rtl=False, sanitize_html=True,
                          feedback_options=None, layout="panel")
        with gr.Row():
            box = gr.Textbox(placeholder="Ask in English or Arabic…", show_label=False, scale=8,
                             elem_id="question", rtl=False)
            send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
        gr.Examples(EXAMPLES, inputs=box)
        gr.ClearButton([chat, box], value="New chat")
        box.submit(respond, [box, chat], [box, chat])
        send.click(respond, [box, chat], [box, chat])
    demo.queue(default_concurrency_limit=4)
    return demo


def launch(index, host: str = "127.0.0.1", port: int = 7860, **kw):
    """Serve the UI (loopback by default). Blocks until stopped."""
    demo = build_app(index)
    print(f"chat UI on http://{host}:{port}", flush=True)
    demo.launch(server_name=host, server_port=port, share=False, show_error=True, css=CSS, **kw)
