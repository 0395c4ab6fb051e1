"""SentencePiece against ``tokenizers`` on the real vocabulary and real news text."""

import json
from pathlib import Path

import numpy as np
import pytest

from rag.embed import spm_tokenizer
from rag.embed.embedder import resolve_model
from rag.embed.onnx_encoder import _CHECK, onnx_dir
from rag.settings import DEFAULT_MODEL

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pair():
    from tokenizers import Tokenizer

    folder = Path(resolve_model(DEFAULT_MODEL))
    tok = spm_tokenizer.load(folder, onnx_dir(folder), 512, "<pad>", _CHECK)
    ref = Tokenizer.from_file(str(folder / "tokenizer.json"))
    ref.enable_truncation(512)
    return tok, ref


def test_same_ids_and_token_ends_on_news_articles_and_questions(pair, ant_sample):
    tok, ref = pair
    assert tok is not None, "the default model's tokenizer should convert and pass its check"
    texts = []
    for line in ant_sample.read_text(encoding="utf-8").splitlines()[:150]:
        article = json.loads(line)
        texts += [f"passage: {article['title']}\n{article['text'][:1200]}", f"passage: {article['text'][1200:1900]}"]
    texts += ["query: What did Russia say about the Gulf alliance?", "query: ماذا قالت روسيا عن التحالف؟"]
    same = 0
    for text in texts:
        enc = ref.encode(text)
        ids, offsets = tok.encode(text)
        if enc.ids == ids:
            same += 1
            # token ends decide which sentence a token belongs to (rag.embed.embedder): they must agree
            assert [e for _, e in enc.offsets] == [e for _, e in offsets], text[:80]
    assert same >= 0.99 * len(texts)  # the rest: equal-score segmentations, broken differently


def test_batches_are_padded_and_truncated_as_tokenizers_does(pair):
    tok, ref = pair
    ref.enable_padding(pad_id=1)
    texts = ["query: short", "passage: " + "كلمة عربية طويلة " * 400]
    ids, mask, offsets = tok.encode_batch(texts)
    enc = ref.encode_batch(texts)
    assert ids.shape == (2, 512)
    assert np.array_equal(ids, [e.ids for e in enc]) and np.array_equal(mask, [e.attention_mask for e in enc])
    assert np.array_equal(offsets, [e.offsets for e in enc])
    # the counts batches are sorted by: the same tokens, without the padding
    counts = tok.count(texts)
    assert counts == [sum(e.attention_mask) for e in enc] and counts[1] == 512 > counts[0]


def test_a_tokenizer_it_cannot_reproduce_stays_with_tokenizers(tmp_path):
    folder = Path(resolve_model(DEFAULT_MODEL))
    other = tmp_path / "model"
    other.mkdir()
    spec = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    spec["pre_tokenizer"]["prepend_scheme"] = "first"  # not what SentencePiece does
    (other / "tokenizer.json").write_text(json.dumps(spec), encoding="utf-8")
    assert spm_tokenizer.load(other, tmp_path, 512, "<pad>", _CHECK) is None
    assert (tmp_path / "tokenizer.spm.rejected").exists() and not (tmp_path / "tokenizer.spm").exists()
