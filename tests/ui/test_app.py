from rag.answers.extractive import Answer, Citation
from rag.hits import Hit
from ui.app import _stream_steps, render_answer


def _cite(**kw):
    base = dict(n=1, article_id="a", chunk_id="a::0", title="عنوان", source="bbc", url="http://x/1",
                date="2018-08-06", quote="جملة الدليل.", passage="قبلها. جملة الدليل. بعدها.")
    return Citation(**{**base, **kw})


def test_quote_highlighted_inside_its_passage_and_rtl_auto():
    out = render_answer(Answer("q", "According to BBC Arabic: «جملة الدليل.» [1]", False, [_cite()]))
    assert '<mark class="rag-quote">جملة الدليل.</mark>' in out
    assert out.index("قبلها.") < out.index("<mark") < out.index("بعدها.")
    assert 'dir="auto"' in out and 'href="#rag-src-a-1"' in out and 'id="rag-src-a-1"' in out
    assert "BBC Arabic · 2018-08-06" in out and 'href="http://x/1"' in out


def test_anchors_unique_per_answer():
    one = render_answer(Answer("q", "x [1]", False, [_cite()]), anchor="m1")
    two = render_answer(Answer("q", "x [1]", False, [_cite()]), anchor="m2")
    assert 'href="#rag-src-m1-1"' in one and 'id="rag-src-m2-1"' in two and "m1" not in two


def test_article_html_is_inert():
    evil = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    c = _cite(title=evil, quote=evil, passage="x " + evil, url='javascript:alert(3)', source=evil)
    out = render_answer(Answer("q", f"«{evil}» [1]", False, [c]))
    assert "<script" not in out and "<img" not in out and "javascript:" not in out
    assert "&lt;script&gt;" in out


def test_abstention_lists_nearest_passages():
    hit = Hit(1, 0.71, "a", "a::0", "<b>near</b>", "cnn", "", "", "text")
    out = render_answer(Answer("q", "The sources do not answer this question.", True, [], [hit]))
    assert "rag-abstain" in out and "Nearest passages" in out and "&lt;b&gt;near" in out


def test_a_streamed_answer_is_marked_pending_until_its_last_step():
    steps = list(_stream_steps(Answer("?", "first line [1]\nsecond line [1]", False, [_cite()]), "m1"))
    assert len(steps) == 2 and "rag-pending" in steps[0] and "rag-sources" not in steps[0]
    assert "rag-pending" not in steps[-1] and "rag-sources" in steps[-1]
