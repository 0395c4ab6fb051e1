"""The check of LLM sentences against their quotes, on constructed sentences (pure logic)."""

import pytest

from rag.answers.check import numbers, problems

QUOTE = ("وقال وزير الخارجية الروسي سيرغي لافروف في موسكو إن 65 ألف جندي أميركي ما زالوا في المنطقة، "
         "وإن ألمانيا وفرنسا تدعمان الاتفاق النووي مع إيران.")


def test_a_faithful_sentence_passes():
    assert problems("Russian Foreign Minister Sergei Lavrov said in Moscow that 65,000 American soldiers "
                    "remain in the region [1].", QUOTE, english=True) == []
    assert problems("Lavrov said Germany and France support the nuclear deal with Iran [1].", QUOTE, english=True) == []


@pytest.mark.parametrize("sentence, reason", [
    ("Russian Foreign Minister Sergei Shoigu said American soldiers remain [1].", "name Shoigu"),
    ("Lavrov said Italy supports the nuclear deal [1].", "name Italy"),
    ("Lavrov said 56,000 American soldiers remain in the region [1].", "number 56,000"),
    ("Lavrov said 65 million soldiers remain [1].", "number 65"),
    ("Lavrov said American soldiers remain in the region.", "no citation"),
    ("قال لافروف إن جنودا أميركيين ما زالوا في المنطقة [1].", "language"),
])
def test_a_wrong_name_number_citation_or_language_fails(sentence, reason):
    found = problems(sentence, QUOTE, english=True)
    assert any(reason in p for p in found), found


def test_an_arabic_question_wants_arabic_sentences():
    assert problems("قال لافروف إن 65 ألف جندي ما زالوا في المنطقة [1].", QUOTE, english=False) == []
    assert problems("Lavrov said 65,000 soldiers remain [1].", QUOTE, english=False) == ["not in the question's language"]


def test_numbers_read_separators_scales_and_arabic_digits():
    assert {65.0, 65000.0} <= numbers(QUOTE)
    assert numbers("٣,٥ مليار") == {3.5, 3.5e9}
    assert numbers("1,250,000") == {1250000.0}


def test_a_dropped_doubt_or_an_added_negation_fails():
    doubt = "وقال نائب وزير الخارجية الروسي إن الجانب الروسي يشكك في إمكانية تنفيذ الفكرة الأميركية."
    assert problems("Russia doubts the American idea can be carried out [1].", doubt, english=True) == []
    assert "the quote's negation or doubt is missing" in problems(
        "Russia believes the American idea can be carried out [1].", doubt, english=True)
    assert "the quote's negation or doubt is added" in problems(
        "Lavrov said American soldiers do not remain in the region [1].", QUOTE, english=True)
