import pytest

from rag.ids import article_of
from rag.names import text_keys
from rag.storage.lexical import LexicalIndex, tokenize


def test_tokenize_folds_stems_and_drops_stopwords():
    assert tokenize("أمريكا في إيران", "fold") == ["امريكا", "ايران"]
    assert tokenize("«روسيا»، و«الصين».", "fold") == ["روسيا", "الصين"]  # punctuation never glued to words
    assert tokenize("«روسيا»، و«الصين».") == ["روسيا", "صين"]  # the default also strips the article
    assert tokenize("والمفاوضات بالحكومة") == tokenize("مفاوضات الحكومة")


def test_spelling_variants_match_and_save_load_roundtrip(tmp_path):
    ids = ["a::0", "b::0", "c::0"]
    texts = ["أعلنت إيران عن اتفاق جديد", "مباراة كرة القدم انتهت بالتعادل", ""]
    lex = LexicalIndex.build(ids, texts)
    assert lex.search("ايران اتفاق")[0][0] == "a::0"
    assert lex.search("كلمة غير موجودة") == []
    lex.save(tmp_path / "bm25")
    again = LexicalIndex.load(tmp_path / "bm25")
    assert again.ids == ids and again.search("مباراة")[0][0] == "b::0"
    assert LexicalIndex.load(tmp_path / "nothing") is None


def test_bm25_ranks_like_a_reference_implementation():
    """Differential check against a direct Lucene-BM25 computation: ranks and scores."""
    import math

    docs = ["روسيا تعلن اتفاق", "روسيا روسيا الصين", "الصين اليابان", "اتفاق تجاري بين الصين واليابان"]
    lex = LexicalIndex.build([f"d{i}::0" for i in range(4)], docs)
    toks = [tokenize(d) for d in docs]
    avg = sum(map(len, toks)) / len(toks)

    def score(query, doc, k1=1.5, b=0.75):
        s = 0.0
        for t in tokenize(query):
            df = sum(t in d for d in toks)
            idf = math.log(1 + (len(toks) - df + 0.5) / (df + 0.5))
            tf = doc.count(t)
            s += idf * tf / (tf + k1 * (1 - b + b * len(doc) / avg))  # Lucene 8+: no (k1 + 1)
        return s

    # tokens read one document at a time (as an index rebuild streams them) give the same index
    streamed = LexicalIndex.from_tokens([f"d{i}::0" for i in range(4)], (t for t in toks))
    for q in ("روسيا", "الصين اتفاق"):
        expected = sorted((i for i in range(4) if score(q, toks[i]) > 0), key=lambda i: -score(q, toks[i]))
        got = lex.search(q, 4)
        assert [int(cid[1]) for cid, _ in got] == expected
        assert all(abs(s - score(q, toks[int(cid[1])])) < 1e-4 for cid, s in got)  # the scores too
        assert streamed.search(q, 4) == got


def test_name_match_weights_rare_names_and_survives_save_load(tmp_path):
    ids = ["a::0", "b::0", "c::0", "d::0"]
    texts = ["قال غولدنسون إن ترامب", "قال ترامب", "ترامب مرة أخرى", "لا أسماء هنا"]
    lex = LexicalIndex.build(ids, texts)
    match = lex.name_match("What did Goldenson tell Trump?", ids + ["not-indexed::0"])
    assert match["a::0"] == pytest.approx(1.0)  # holds both names
    assert 0 < match["b::0"] == match["c::0"] < 0.5  # Trump alone: common here, so worth less
    assert "d::0" not in match and "not-indexed::0" not in match
    assert lex.name_match("ماذا قال غولدنسون؟", ids) == {}  # no Latin names in an Arabic question
    lex.save(tmp_path / "bm25")
    assert LexicalIndex.load(tmp_path / "bm25").name_match("Goldenson", ids) == {"a::0": 1.0}


def test_an_updated_index_scores_as_one_built_from_scratch(tmp_path):
    """Articles added, changed and removed in place give the scores of a fresh build over what is left."""
    docs = {f"a{i}::{j}": f"روسيا والصين {'اتفاق ' * i} تجارة رقم {i} {j} اليابان" for i in range(6) for j in range(2)}
    docs["a3::0"] += " قال ترامب"
    first = {cid: t for cid, t in docs.items() if not cid.startswith(("a4", "a5"))}
    lex = LexicalIndex.build(list(first), list(first.values()))
    changed = {"a1::0": "بومبيو يزور روسيا", "a4::0": docs["a4::0"], "a4::1": docs["a4::1"], "a5::0": "اتفاق غولدنسون"}
    new = lex.updated({"a1", "a3"}, list(changed), [tokenize(t) for t in changed.values()],
                      [text_keys(t) for t in changed.values()], {"a1": "h2"})
    assert lex.search("روسيا", 20) and len(lex.ids) == 8  # the old index is left as it was
    left = {cid: t for cid, t in first.items() if not cid.startswith(("a1", "a3"))} | changed
    fresh = LexicalIndex.build(list(left), list(left.values()))
    assert sorted(new.ids) == sorted(fresh.ids) and new.hashes == {"a1": "h2"}
    for q in ("روسيا", "اتفاق تجارة", "بومبيو", "اليابان رقم 4"):
        assert dict(new.search(q, 20)) == pytest.approx(dict(fresh.search(q, 20)), abs=1e-5)
    ids = sorted(left)
    for q in ("Did Goldenson or Pompeo?", "Did Trump meet Pompeo?"):  # Trump: only in a removed chunk
        assert new.name_match(q, ids) == pytest.approx(fresh.name_match(q, ids))
    new.save(tmp_path / "bm25")
    again = LexicalIndex.load(tmp_path / "bm25")
    assert again.search("اتفاق", 20) == new.search("اتفاق", 20) and again.hashes == {"a1": "h2"}
    gone = new.updated({article_of(c) for c in new.ids}, [], [], [], {})
    assert gone.ids == [] and gone.search("روسيا") == []


def test_an_index_saves_only_its_own_terms_when_a_later_one_added_more(tmp_path):
    lex = LexicalIndex.build(["a::0"], ["روسيا والصين"])
    lex.updated(set(), ["b::0"], [tokenize("اليابان وكوريا")], [[]], {})  # grows the shared vocabulary
    lex.save(tmp_path / "bm25")
    again = LexicalIndex.load(tmp_path / "bm25")
    assert again.search("روسيا") == lex.search("روسيا") and again.search("اليابان") == []
