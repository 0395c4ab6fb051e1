from rag.text import is_arabic, normalize_ar, sentence_spans


def _sentences(text):
    return [text[a:b] for a, b in sentence_spans(text)]


def test_arabic_sentence_ends_and_quotes():
    text = "هل توافق؟ نعم؛ قال: «لا شيء». وأضاف “انتهى”.\nسطر جديد بلا نقطة"
    assert _sentences(text) == ["هل توافق؟", "نعم؛", "قال: «لا شيء».", "وأضاف “انتهى”.", "سطر جديد بلا نقطة"]


def test_numbers_and_initials_do_not_end_sentences():
    assert _sentences("The U.S. rate was 3.5 per cent. Then it fell.") == [
        "The U.S. rate was 3.5 per cent.", "Then it fell."]


def test_spans_are_exact_offsets():
    text = "  أولا.   ثانيا؟  "
    for a, b in sentence_spans(text):
        assert text[a:b].strip() == text[a:b] and text[a:b]


def test_normalize_folds_variants_for_matching():
    assert normalize_ar("أمريكا") == normalize_ar("امريكا") == normalize_ar("إمريكا")
    assert normalize_ar("مُسْتَشْفَى") == "مستشفي"
    assert normalize_ar("عام ٢٠١٨\u200f") == "عام 2018"
    assert normalize_ar("Russia") == "russia"


def test_is_arabic():
    assert is_arabic("ماذا قالت روسيا عن Trump؟")
    assert not is_arabic("What did Russia say about الخليج?")
