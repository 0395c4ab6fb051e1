import numpy as np

from rag.retrieve.fusion import QUESTION_FORMS, lexical_weight, rrf, sentence_scores
from rag.tuning import TUNING


def test_rrf_rewards_agreement_and_respects_weights():
    assert list(rrf([["a", "b"], ["b", "c"]], [1, 1]))[0] == "b"
    assert list(rrf([["a", "b"], ["b", "c"]], [1, 0])) == ["a", "b"]  # weight 0: the dense order, untouched
    assert set(rrf([["a"], ["z"]], [1, 1])) == {"a", "z"}


def test_bm25_only_for_arabic_questions():
    assert lexical_weight("What did Russia say about the Gulf alliance?") == 0
    assert lexical_weight("ماذا قالت روسيا عن التحالف؟") > 0


def test_name_bonus_reorders_near_ties_only():
    chunk, sentence = {"a": 0.80, "b": 0.82, "c": 0.95}, {"a": 0.90, "b": 0.90, "c": 0.90}
    assert list(sentence_scores(chunk, sentence, 0.7)) == ["c", "b", "a"]
    assert list(sentence_scores(chunk, sentence, 0.7, {"a": 1.0})) == ["c", "a", "b"]  # not past a clear lead
    assert list(sentence_scores(chunk, sentence, 0.7, {"a": 0.5})) == ["c", "b", "a"]  # half the names: less


def test_question_form_is_what_english_questions_share_not_what_they_ask(embedder):
    form = embedder.embed_queries(list(QUESTION_FORMS)).mean(axis=0)
    english = embedder.embed_queries(["Who won the 2018 World Cup?", "What did Russia say about the Gulf alliance?",
                                      "How many people died in the Karachi heat wave?"])
    arabic = embedder.embed_queries(["من فاز بكأس العالم 2018؟", "ماذا قالت روسيا عن التحالف الخليجي؟",
                                     "كم عدد الذين ماتوا في موجة الحر في كراتشي؟"])
    passages = embedder.embed_passages(["فازت فرنسا بكأس العالم 2018 في روسيا.",
                                        "شكك نائب وزير الخارجية الروسي في فكرة التحالف الاستراتيجي في الخليج.",
                                        "قتلت موجة الحر في كراتشي 1200 شخص."])
    assert all(english @ form > arabic @ form)  # the same questions: nearer in English than in Arabic
    for i, q in enumerate(english):
        shifted = q - TUNING.form_weight * form
        assert not np.allclose(shifted, q)
        assert np.argmax(passages @ shifted) == i  # each question still finds its own passage
