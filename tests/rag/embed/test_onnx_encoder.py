import numpy as np
import pytest


def test_int8_weights_turn_constant_matmuls_into_int8_with_a_scale_per_output():
    """A MatMul by a constant becomes int8 weights times per-column scales, close to fp32; a
    MatMul of two activations is left alone."""
    import openvino as ov
    import openvino.opset13 as ops

    from rag.embed.onnx_encoder import int8_weights

    rng = np.random.default_rng(0)
    w = rng.normal(size=(16, 8)).astype(np.float32) * np.linspace(0.01, 10, 8, dtype=np.float32)
    x = ops.parameter([3, 16], np.float32)
    y = ops.matmul(x, ops.constant(w), False, False)
    z = ops.matmul(y, ops.transpose(y, ops.constant(np.array([1, 0]))), False, False)  # no constant
    model = ov.Model([y.output(0), z.output(0)], [x])
    assert int8_weights(model) == 1
    kinds = {op.get_element_type().get_type_name() for op in model.get_ordered_ops() if op.get_type_name() == "Constant"}
    assert "i8" in kinds
    inp = rng.normal(size=(3, 16)).astype(np.float32)
    got = ov.Core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})({0: inp})[0]
    want = inp @ w
    # each column within 5 % of its own size: one scale for the whole matrix would drown the small ones
    assert (np.abs(got - want).max(axis=0) < 0.05 * np.abs(want).max(axis=0)).all()
    assert not np.allclose(got, want, atol=1e-6)  # rounded: not the fp32 weights


def test_openvino_splits_a_batch_across_its_streams_in_order():
    """A batch split across OpenVINO's requests comes back in its own order, and batches queued
    with ``pool_into`` land in their own rows: each text's vector is the one it gets alone (and
    the texts differ, so a swap would show)."""
    from pathlib import Path

    from rag.embed.embedder import resolve_model
    from rag.embed.onnx_encoder import OnnxEncoder, mean_pool
    from rag.settings import DEFAULT_MODEL

    bf16 = OnnxEncoder(Path(resolve_model(DEFAULT_MODEL))).on(int8=True, bf16=True)
    texts = ["passage: قال نائب وزير الخارجية الروسي إن موسكو تشكك في التحالف.", "passage: The heat wave killed 65 people.",
             "passage: فاز المنتخب الفرنسي بكأس العالم.", "passage: Instagram's founders resigned."]
    hidden, _, mask, _ = bf16.forward(texts)
    together = mean_pool(hidden, mask)
    alone = np.concatenate([mean_pool(*bf16.forward([t])[::2]) for t in texts])
    assert ((together * alone).sum(axis=1) > 0.999).all()
    assert (together @ together.T - np.eye(len(texts))).max() < 0.95
    queued, rows = np.zeros_like(alone), np.array([2, 0, 3, 1])
    for part in (rows[:3], rows[3:]):
        bf16.pool_into([texts[i] for i in part], queued, part)
    bf16.wait()
    assert ((queued * alone).sum(axis=1) > 0.999).all()
    bf16.pool_into(texts, np.zeros((1, alone.shape[1]), np.float32), np.arange(len(texts)))  # rows past `out`
    with pytest.raises(IndexError):  # raised in OpenVINO's thread, reported in the caller's
        bf16.wait()
    bf16.wait()  # reported once
