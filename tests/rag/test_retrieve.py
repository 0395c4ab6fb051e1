from rag.retrieve import lexical_weight, rrf


def test_rrf_rewards_agreement_and_respects_weights():
    assert rrf([["a", "b"], ["b", "c"]], [1, 1])[0] == "b"
    assert rrf([["a", "b"], ["b", "c"]], [1, 0]) == ["a", "b"]  # weight 0: the dense order, untouched
    assert set(rrf([["a"], ["z"]], [1, 1])) == {"a", "z"}


def test_bm25_only_for_arabic_questions():
    assert lexical_weight("What did Russia say about the Gulf alliance?") == 0
    assert lexical_weight("ماذا قالت روسيا عن التحالف؟") > 0
