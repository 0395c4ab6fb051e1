import numpy as np


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
