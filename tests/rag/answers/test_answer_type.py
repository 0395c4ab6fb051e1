"""The answer-type check that turns near misses ("how much was he paid?" over an article
without the sum) into abstentions."""

import pytest

from rag.answers.answer_type import FIGURE, YEAR, expected, holds


@pytest.mark.parametrize("question, kind", [
    ("How many people were killed by the heat wave in Karachi?", FIGURE),
    ("How much was Diego Maradona paid as head coach of Fujairah?", FIGURE),
    ("How old was Arthur Ashkin when he won the Nobel prize?", FIGURE),
    ("What percentage of voters backed the deal?", FIGURE),
    ("In what year was the orchestra founded?", YEAR),
    ("كم عدد الضيوف الذين حضروا مأدبة الإفطار؟", FIGURE),
    ("بكم بيعت اللوحة؟", FIGURE),
    ("ما قيمة الغرامة التي فرضت على دار السينما؟", FIGURE),
    ("في أي عام تأسست أوركسترا الكفيفات؟", YEAR),
    ("Who did Iceland appoint as national coach?", None),
    ("What did Russia say about the Gulf alliance?", None),
    ("ماذا قالت روسيا عن الحلف؟", None),
    ("متى تأسست الفرقة؟", None),  # "when" is not typed: a weekday or "yesterday" answers it
])
def test_expected_type(question, kind):
    assert expected(question) == kind


def test_a_figure_must_be_new_to_the_question():
    q = "How many people died in the 2018 fire in Karachi?"
    assert not holds(FIGURE, q, ["اندلع الحريق في كراتشي عام 2018"])  # only the question's year
    assert holds(FIGURE, q, ["لقي ٦٥ شخصا حتفهم في حريق كراتشي عام 2018"])  # Arabic-Indic digits
    assert holds(FIGURE, q, ["لقي ثلاثة أشخاص حتفهم"])  # a number word
    assert holds(FIGURE, q, ["مقتل العشرات في الحريق"])


def test_a_year_is_any_new_figure():
    q = "في أي عام تأسست الأوركسترا؟"
    assert holds(YEAR, q, ["تأسست الفرقة عام 1961"]) and holds(YEAR, q, ["عام 358 هـ"])
    assert not holds(YEAR, q, ["تضم الفرقة عازفات كفيفات"])
    assert not holds(YEAR, "Which year after 2015 did it open?", ["opened in 2015"])


def test_untyped_questions_always_hold():
    assert holds(None, "Who won?", [])
