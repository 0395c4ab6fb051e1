from rag.retrieve import lexical_weight, rrf, sentence_scores


def test_rrf_rewards_agreement_and_respects_weights():
    assert rrf([["a", "b"], ["b", "c"]], [1, 1])[0] == "b"
    assert rrf([["a", "b"], ["b", "c"]], [1, 0]) == ["a", "b"]  # weight 0: the dense order, untouched
    assert set(rrf([["a"], ["z"]], [1, 1])) == {"a", "z"}


def test_bm25_only_for_arabic_questions():
    assert lexical_weight("What did Russia say about the Gulf alliance?") == 0
    assert lexical_weight("ماذا قالت روسيا عن التحالف؟") > 0


def test_name_bonus_reorders_near_ties_only():
    chunk, sentence = {"a": 0.80, "b": 0.82, "c": 0.95}, {"a": 0.90, "b": 0.90, "c": 0.90}
    assert sentence_scores(chunk, sentence, 0.7) == ["c", "b", "a"]
    assert sentence_scores(chunk, sentence, 0.7, {"a": 1.0}) == ["c", "a", "b"]  # not past a clear lead
    assert sentence_scores(chunk, sentence, 0.7, {"a": 0.5}) == ["c", "b", "a"]  # half the names: less
