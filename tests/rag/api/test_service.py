"""The shapes and checks every face shares (no model needed)."""

import pytest
from pydantic import ValidationError

from rag.answers.extractive import Answer, Citation
from rag.api.service import AnswerOut, Query, answer_json, hit_json
from rag.hits import Hit


def test_queries_built_in_python_refuse_lone_surrogates_too():
    with pytest.raises(ValidationError, match="unicode"):
        Query(question="\ud800 what?")  # the Gradio endpoints build Query from Python strings
    with pytest.raises(ValidationError, match="unicode"):
        Query(question="ok", history=[{"role": "user", "content": "\udfff"}])


def test_only_http_links_leave_and_shapes_validate():
    hit = Hit(1, 0.81234, "a", "a::0", "T", "bbc", "javascript:alert(1)", "2018-05-02", "text")
    assert hit_json(hit)["url"] == "" and hit_json(hit)["score"] == 0.8123
    c = Citation(1, "a", "a::0", "T", "bbc", "JAVASCRIPT:x", "2018", "q", passage="q")
    out = answer_json(Answer("?", "«q» [1]", False, [c]))
    assert out["citations"][0]["url"] == "" and AnswerOut.model_validate(out).citations[0].quote == "q"
