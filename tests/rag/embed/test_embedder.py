"""The embedding model's own computations against a direct computation with transformers."""

import numpy as np
import pytest

pytestmark = pytest.mark.slow

TEXT = "Title\nThe minister spoke in Moscow. He doubted the alliance could be built. وقال الوزير إنه يشك في ذلك."


def test_late_chunked_vectors_agree_with_a_direct_computation(fp32_embedder):
    embedder = fp32_embedder
    import torch
    from transformers import AutoModel, AutoTokenizer

    assert embedder.late_chunking
    start = TEXT.index("\n") + 1
    body = TEXT[start:]
    spans = [(0, body.index(" He")), (body.index("He"), body.index(" وقال")), (body.index("وقال"), len(body))]
    vectors, per_span = embedder.late_chunks([TEXT], [spans], [start])
    # Directly: the encoder's last hidden states, averaged over each sentence's tokens.
    path = embedder.path
    tok, model = AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path)
    text = embedder.passage_prompt + TEXT
    enc = tok(text, return_offsets_mapping=True, return_tensors="pt")
    offsets = enc.pop("offset_mapping")[0].numpy()
    with torch.inference_mode():
        hidden = model(**enc).last_hidden_state[0].numpy()
    whole = hidden.mean(axis=0)
    assert float(vectors[0] @ (whole / np.linalg.norm(whole))) > 0.9999  # the chunk's own vector: mean pooling
    assert np.allclose(vectors[0], embedder.embed_passages([TEXT])[0], atol=1e-4)
    shift = len(embedder.passage_prompt) + start
    for (a, b), got in zip(spans, per_span[0]):
        inside = (offsets[:, 1] > shift + a) & (offsets[:, 1] <= shift + b) & (offsets[:, 1] > offsets[:, 0])
        want = hidden[inside].mean(axis=0)
        assert inside.sum() >= 5 and float(got @ (want / np.linalg.norm(want))) > 0.9999
    # in context, not alone: each sentence's vector differs from embedding it by itself
    alone = embedder.embed_passages([body[a:b] for a, b in spans])
    assert all(float(x @ y) < 0.999 for x, y in zip(per_span[0], alone))


def test_onnx_runtime_gives_torchs_vectors(monkeypatch):
    """The exported graph is the torch model: same passage, query, token and late-chunked
    vectors; int8, bf16 (OpenVINO, or a torch copy without it) and bf16 with int8 matmuls are
    close but not the same."""
    import sys

    from rag.embed.embedder import Embedder
    from rag.embed.onnx_encoder import INT8_GATE, OnnxEncoder

    torch_emb = Embedder(runtime="torch")
    onnx_emb = Embedder(runtime="onnx")
    texts = [TEXT, "قال الكرملين إنه يشك في إمكانية قيام التحالف.", "Moscow"]
    for a, b in [(onnx_emb.embed_passages(texts), torch_emb.embed_passages(texts)),
                 (onnx_emb.embed_queries(texts), torch_emb.embed_queries(texts))]:
        assert (a * b).sum(axis=1).min() > 0.99999
    for a, b in zip(onnx_emb.token_vectors(texts), torch_emb.token_vectors(texts)):
        assert a.shape == b.shape and a.shape[0] >= 1 and (a * b).sum(axis=1).min() > 0.9999
    # every word of the text has its tokens, the first one too (and none of the prompt)
    assert len(onnx_emb.token_vectors(["Moscow"])[0]) == len(onnx_emb.token_vectors(["Moscow Moscow"])[0]) / 2
    int8 = Embedder(runtime="onnx-int8")
    cos = (int8.embed_documents(texts) * torch_emb.embed_passages(texts)).sum(axis=1)
    assert INT8_GATE < cos.min() and cos.max() < 0.99999, cos  # stored vectors: close, not equal
    # what a question computes stays fp32
    assert (int8.embed_queries(texts) * torch_emb.embed_queries(texts)).sum(axis=1).min() > 0.99999
    bf16 = Embedder(runtime="bf16")
    stored = bf16.embed_documents(texts)
    cos = (stored * torch_emb.embed_passages(texts)).sum(axis=1)
    assert bf16.stored == "bf16" and 0.9999 < cos.min() and cos.max() < 0.999999, cos
    assert isinstance(bf16._bf16, OnnxEncoder) and np.allclose(np.linalg.norm(stored, axis=1), 1, atol=1e-6)
    assert (bf16.embed_queries(texts) * torch_emb.embed_queries(texts)).sum(axis=1).min() > 0.99999
    mixed = Embedder(runtime="bf16-int8")
    cos = (mixed.embed_documents(texts) * torch_emb.embed_passages(texts)).sum(axis=1)
    assert mixed.stored == "bf16-int8" and 0.998 < cos.min() and cos.max() < 0.99995, cos  # int8's error, not bf16's
    monkeypatch.setitem(sys.modules, "openvino", None)  # not installed
    assert Embedder(runtime="bf16-int8").stored == "bf16"  # the torch copy cannot take int8 matmuls
    copy = Embedder(runtime="bf16")
    cos = (copy.embed_documents(texts) * torch_emb.embed_passages(texts)).sum(axis=1)
    assert not isinstance(copy._bf16, OnnxEncoder) and 0.9999 < cos.min() and cos.max() < 0.999999, cos


def test_int8_verdict_and_auto(monkeypatch, tmp_path, fp32_embedder):
    """The verdict written beside the int8 graph decides whether int8 agrees with fp32 on this
    CPU; ``auto`` stays fp32 either way (int8 is an opt-in), and stores bf16 where the CPU has bf16 units."""
    import json
    import shutil
    import sys

    from rag.embed import embedder as models
    from rag.embed.onnx_encoder import INT8_GATE, int8_verified, onnx_dir

    model = tmp_path / "model"
    shutil.copytree(fp32_embedder.path, model, ignore=shutil.ignore_patterns("*.safetensors", "*.bin"))
    monkeypatch.setenv("RAG_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(models.shutil, "which", lambda name: None)  # no nvidia-smi
    if models.Path("/dev/nvidia0").exists():
        pytest.skip("a GPU machine: auto is torch")
    assert not int8_verified(model)  # never exported here
    onnx_dir(model).mkdir(parents=True)
    verdict = onnx_dir(model) / "int8-check.json"
    verdict.write_text(json.dumps({"min_cosine": INT8_GATE - 0.01}))
    assert not int8_verified(model)
    verdict.write_text(json.dumps({"min_cosine": INT8_GATE + 0.002}))
    assert int8_verified(model)
    assert models.pick_runtime("auto", str(model)) == "onnx"
    assert models.pick_runtime("onnx-int8", str(model)) == "onnx-int8"
    # bf16 (with int8 matmuls on OpenVINO) for what ingest stores only where the CPU multiplies
    # bf16, and never on request to be fp32
    for native, want in [(True, "bf16-int8"), (False, "fp32")]:
        monkeypatch.setattr(models, "native_bf16", lambda: native)
        assert models.stored_vectors("auto") == want
        assert models.stored_vectors("onnx") == models.stored_vectors("torch") == "fp32"
    monkeypatch.setattr(models, "native_bf16", lambda: True)
    monkeypatch.setitem(sys.modules, "openvino", None)  # not installed: the torch copy
    assert models.stored_vectors("auto") == "bf16"
    assert models.pick_runtime("bf16", str(model)) == models.pick_runtime("bf16-int8", str(model)) == "onnx"


def test_auto_computes_bf16_for_large_calls_only(monkeypatch):
    """Where ``auto`` stores bf16, an article or two stays on the fp32 path (no torch import in a
    server); an ingest batch loads the bf16 engine (OpenVINO on the exported graph, int8 matmuls),
    whose vectors are unit length."""
    from rag.embed import embedder as models
    from rag.embed.onnx_encoder import OnnxEncoder

    monkeypatch.setattr(models, "native_bf16", lambda: True)
    emb = models.Embedder()
    if emb.stored != "bf16-int8":
        pytest.skip("a GPU machine: auto stores fp32")
    few = emb.embed_documents([TEXT, "Moscow"])
    assert emb._bf16 is None and np.allclose(few, emb.embed_passages([TEXT, "Moscow"]), atol=1e-5)
    many = emb.embed_documents([TEXT] + [f"خبر رقم {i}" for i in range(models.BF16_MIN_TEXTS)])
    assert isinstance(emb._bf16, OnnxEncoder) and np.allclose(np.linalg.norm(many, axis=1), 1, atol=1e-6)
    assert 0.998 < float(many[0] @ few[0]) < 0.99995
