from rag.chunk import chunk_text


def test_chunks_are_exact_slices_within_the_limit(shared):
    text = (shared / "corpus" / "seed-article.txt").read_text(encoding="utf-8")
    chunks = chunk_text(text, max_chars=500)
    assert len(chunks) > 4
    for i, c in enumerate(chunks):
        assert c.index == i
        assert text[c.start:c.end] == c.text
        assert len(c.text) <= 500
    # Nothing is lost but whitespace between chunks.
    joined = "".join(text[c.start:c.end] for c in chunks)
    assert joined.replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "")


def test_chunks_end_on_sentence_ends():
    text = "جملة أولى طويلة بعض الشيء؟ " * 10
    for c in chunk_text(text, max_chars=200):
        assert c.text.endswith("؟")


def test_overlong_sentence_is_cut_at_a_comma_or_space():
    text = "كلمة، " * 300
    chunks = chunk_text(text, max_chars=200)
    assert all(len(c.text) <= 200 for c in chunks)
    assert all(not c.text.startswith(" ") for c in chunks)


def test_deterministic():
    text = "أ. ب؟ ج؛ د" * 50
    assert chunk_text(text, 120) == chunk_text(text, 120)
