"""The embedding model on ONNX Runtime: torch's vectors without importing torch.

A sentence-transformers folder whose modules are Transformer → mean Pooling (→ Normalize) is
exported once (torch.onnx, ≈15 s) into the cache; its graph gives the last hidden state, for
the pooled vector and late chunking, and the hidden state two thirds up, for the token vectors
that align sentences. fp32 reproduces torch's vectors (cosine ≥ 0.99999); with the tokenizer it
loads in ≈1.5 s where torch takes ≈10 s to import. ``int8`` quantises every weight matrix but
the feed-forward output projections (their inputs hold the outlier activations): it encodes
1.2–1.5× faster (ingest 1.3×) at a cosine ≥ 0.997 to fp32, where quantising all of them gave 0.986 (evals/RESULTS.md,
2026-12-02d). Its agreement with fp32 is measured on this machine when it is exported
(:func:`int8_verified`), since int8 kernels differ between CPUs.

Example:
    >>> enc = OnnxEncoder(Path(resolve_model(DEFAULT_MODEL)))     # doctest: +SKIP
    >>> hidden, align, mask, offsets = enc.forward(["passage: مرحبا"])  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import itertools
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from rag.embed import spm_tokenizer, word_table
from rag.settings import cache_dir

INPUTS = ("inputs_embeds", "attention_mask")
OUTPUTS = ("last_hidden_state", "align_hidden_state")
# Eager attention: torch's fused attention exports a mask rebuilt in every layer and a NaN check
# after each softmax, 8 % of OpenVINO's time (RESULTS 2026-12-07); a new name re-exports old caches.
FP32_FILE = "model-eager.onnx"
INT8_FILE = "model-eager-int8-ffn32-rr.onnx"
STALE_FILES = ("model.onnx", "model-int8-ffn32-rr.onnx")  # the graphs of earlier versions
INT8_GATE = 0.995  # the least cosine to fp32 under which an int8 ingest warns
# Texts the int8 graph is compared on with fp32 at export: news sentences and questions, both scripts.
PROBE = ("صرح نائب وزير الخارجية الروسي بأن موسكو تشكك في إمكانية إنشاء تحالف استراتيجي في الشرق الأوسط.",
         "قتل 65 شخصا على الأقل جراء موجة الحر في مدينة كراتشي الباكستانية، بحسب مؤسسة إيدهي.",
         "أمهلت السعودية السفير الكندي 24 ساعة لمغادرة أراضيها وجمدت التعاملات التجارية الجديدة.",
         "فاز المنتخب الفرنسي بكأس العالم بعد تغلبه على كرواتيا بأربعة أهداف مقابل هدفين.",
         "وأضاف أن الحكومة ستعلن عن حزمة من الإجراءات الاقتصادية خلال الأسابيع المقبلة.",
         "What did Russia say about the Gulf alliance?", "How many people were killed by the heat wave?",
         "Who resigned from Instagram?", "Moscow", "The central bank raised interest rates by half a point.")

# What the SentencePiece tokenizer must reproduce exactly: prompts, both scripts, runs of
# whitespace and a trailing one, characters the normaliser rewrites, a text past max_length.
_CHECK = ([f"{p}: {t}" for t in PROBE for p in ("passage", "query")]
          + ["passage:  two  spaces,\ta tab\n\u00a0\nand lines  ", "query: ﻻ ﷺ ① Ⅻ ｆｕｌｌ width", "passage: قال ﷺ إن ﻷ", "passage: ",
             "passage: " + " ".join(PROBE) * 12])


def align_layer(num_layers: int) -> int:
    """The hidden state used for token alignment: two thirds up (SimAlign's finding).

    >>> align_layer(12)
    8
    """
    return round(2 * num_layers / 3)


def exportable(folder: Path) -> bool:
    """Whether ``folder`` is a mean-pooled transformer the ONNX graph reproduces exactly."""
    try:
        kinds = [m["type"].rsplit(".", 1)[-1] for m in json.loads((folder / "modules.json").read_text())]
        pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
    except (OSError, ValueError, KeyError, TypeError):
        return False
    modes = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v]
    return (kinds[:2] == ["Transformer", "Pooling"] and set(kinds[2:]) <= {"Normalize"}
            and modes == ["pooling_mode_mean_tokens"] and (folder / "tokenizer.json").is_file())


def onnx_dir(folder: Path) -> Path:
    return cache_dir() / "models" / "onnx" / folder.name


def export(folder: Path, int8: bool = False) -> Path:
    """The cached ONNX graph of ``folder`` (exported on first use; needs torch and onnx once).

    The word-embedding table (250k × 384 for e5: 384 MB of the 470) stays out of the graph in
    ``words.npy``, memory-mapped and looked up in numpy (4-bit where exact, :mod:`rag.embed.word_table`):
    the session loads in 0.5 s, not 1.6 s, and a server keeps only the rows it has used in memory."""
    out = onnx_dir(folder)
    target = out / (INT8_FILE if int8 else FP32_FILE)
    if target.is_file():
        return target
    out.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed, so an interrupted export leaves no half file.
    tmp = Path(tempfile.mkdtemp(dir=out, prefix=".export-"))
    try:
        if int8:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            fp32 = export(folder)
            logging.disable(logging.WARNING)  # the quantiser's advice to pre-process is noise here
            try:
                # 7-bit weights (reduce_range): without VNNI, int8 products saturate (AVX2: least
                # cosine 0.989 → 0.998, evals/RESULTS.md 2026-12-02f)
                quantize_dynamic(fp32, tmp / target.name, weight_type=QuantType.QInt8, per_channel=True,
                                 reduce_range=True, nodes_to_exclude=_ffn_outputs(fp32))
            finally:
                logging.disable(logging.NOTSET)
        else:
            _export_fp32(folder, tmp)
            os.replace(tmp / "words.npy", out / "words.npy")  # before the graph: the graph marks completion
        os.replace(tmp / target.name, target)
        for stale in STALE_FILES:
            (out / stale).unlink(missing_ok=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if int8:
        _probe(folder)
    return target


def _ffn_outputs(graph: Path) -> list[str]:
    """The feed-forward output projections of a BERT-style graph (kept fp32 by int8)."""
    import onnx

    nodes = onnx.load(str(graph), load_external_data=False).graph.node
    return [n.name for n in nodes if n.op_type == "MatMul" and n.name.endswith("/output/dense/MatMul")
            and "/attention/" not in n.name]


def _probe(folder: Path) -> float:
    """The least cosine between int8 and fp32 vectors of :data:`PROBE` here, kept beside the graph."""
    texts = [f"passage: {t}" for t in PROBE]
    fp32, int8 = (mean_pool(h, m) for h, _, m, _ in (OnnxEncoder(folder, q).forward(texts) for q in (False, True)))
    least = float((fp32 * int8).sum(axis=1).min())
    (onnx_dir(folder) / "int8-check.json").write_text(json.dumps({"min_cosine": round(least, 5), "texts": len(texts)}))
    return least


def int8_verified(folder: Path) -> bool:
    """Whether the int8 graph was exported here and agreed with fp32 to :data:`INT8_GATE`."""
    try:
        return json.loads((onnx_dir(folder) / "int8-check.json").read_text())["min_cosine"] >= INT8_GATE
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _export_fp32(folder: Path, out: Path) -> None:
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(folder), attn_implementation="eager").eval()
    layer = align_layer(model.config.num_hidden_layers)

    class Encoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, inputs_embeds, attention_mask):
            out = self.model(inputs_embeds=inputs_embeds, attention_mask=attention_mask, output_hidden_states=True)
            return out.last_hidden_state, out.hidden_states[layer]

    words = model.get_input_embeddings().weight.detach()
    np.save(out / "words.npy", words.numpy())
    dummy = (words[torch.full((2, 16), 5)], torch.ones(2, 16, dtype=torch.long))
    dynamic = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, *OUTPUTS)}
    with torch.inference_mode():
        # The TorchScript exporter: one file, and no onnxscript at run time.
        torch.onnx.export(Encoder(), dummy, str(out / FP32_FILE), input_names=list(INPUTS),
                          output_names=list(OUTPUTS), dynamic_axes=dynamic, opset_version=17, dynamo=False)


class _OnnxRuntime:
    """The graph on ONNX Runtime's CPU provider: outputs of (embeddings, mask), at once."""

    def __init__(self, path: Path):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3  # warnings about unused initializers are noise here
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def __call__(self, embeds: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
        return self.session.run(list(OUTPUTS), {INPUTS[0]: embeds, INPUTS[1]: mask})

    def submit(self, embeds: np.ndarray, mask: np.ndarray, done) -> None:
        """``done(outputs, a, b)`` with the outputs of rows ``a:b`` (here all of them, now)."""
        done(self(embeds, mask), 0, len(mask))

    def wait(self) -> None:
        """Nothing runs in the background here."""


def native_bf16() -> bool:
    """Whether the CPU multiplies bfloat16 in hardware (AVX-512 BF16, or AMX on Intel Xeons).

    >>> isinstance(native_bf16(), bool)
    True
    """
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def int8_weights(model) -> int:
    """Replace each constant matrix a MatMul multiplies by (an OpenVINO model, in place) with int8
    and one scale per output column, in the form OpenVINO's CPU plugin multiplies as int8 with
    activations quantised on the fly; returns how many. Symmetric per channel: the weights of
    these encoders have no offset worth a zero point (cosine to fp32 ≥ 0.9993, RESULTS 2026-12-06b)."""
    import openvino.opset13 as ops

    done = 0
    for op in model.get_ordered_ops():
        weights = op.input_value(1).get_node() if op.get_type_name() == "MatMul" else None
        if weights is None or weights.get_type_name() != "Constant" or op.get_attributes()["transpose_b"]:
            continue
        w = weights.get_data()
        if w.ndim != 2:
            continue
        w = w.astype(np.float32).T  # (out, in): one scale per output
        scale = np.maximum(np.abs(w).max(axis=1, keepdims=True), 1e-12) / 127
        q = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
        dequantised = ops.multiply(ops.convert(ops.constant(q), "f32"), ops.constant(scale))
        matmul = ops.matmul(op.input_value(0), dequantised, op.get_attributes()["transpose_a"], True)
        op.output(0).replace(matmul.output(0))
        done += 1
    return done


class _OpenVino:
    """The graph on OpenVINO's CPU plugin computing in bfloat16; with ``int8`` its matrix
    multiplies take int8 weights (:func:`int8_weights`) and int8 activations quantised per group
    of 128 values as they come. A batch is split across the streams the plugin's throughput hint
    picks for the cores (two of one thread on 2 cores), and :meth:`submit` returns while they run,
    so the next batch is tokenized meanwhile (RESULTS 2026-12-07)."""

    def __init__(self, path: Path, int8: bool = False):
        import openvino as ov

        core = ov.Core()
        model = core.read_model(str(path))
        # The plugin keeps kernels per input shape (5,000 by default): with news' every length memory
        # grew ≈2 MB a batch; without that cache it stays flat, at the same speed (RESULTS 2026-12-06).
        config = {"INFERENCE_PRECISION_HINT": "bf16", "CPU_RUNTIME_CACHE_CAPACITY": 0, "PERFORMANCE_HINT": "THROUGHPUT"}
        if int8 and int8_weights(model):
            # groups of 128 were the fastest of 32–384 and per token, 1.3× bf16 (RESULTS 2026-12-06b)
            config["DYNAMIC_QUANTIZATION_GROUP_SIZE"] = 128
        compiled = core.compile_model(model, "CPU", config)
        self.outputs = [compiled.output(name) for name in OUTPUTS]
        self.queue = ov.AsyncInferQueue(compiled, compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        self.queue.set_callback(self._done)
        self.error: Exception | None = None

    def submit(self, embeds: np.ndarray, mask: np.ndarray, done) -> None:
        """Queue the batch, one part a stream; ``done(outputs, a, b)`` runs in OpenVINO's thread with
        the outputs of rows ``a:b`` (views of the request's buffers: copy what you keep)."""
        cuts = np.linspace(0, len(mask), len(self.queue) + 1).astype(int)
        for a, b in itertools.pairwise(cuts):
            if b > a:
                self.queue.start_async({INPUTS[0]: embeds[a:b], INPUTS[1]: mask[a:b]}, userdata=(done, a, b))

    def _done(self, request, userdata) -> None:
        done, a, b = userdata
        try:
            done([request.get_tensor(o).data for o in self.outputs], a, b)
        except Exception as e:  # noqa: BLE001 (raised by wait(), in the caller's thread)
            self.error = e

    def wait(self) -> None:
        """Until every submitted batch is done; raises what a ``done`` raised."""
        self.queue.wait_all()
        error, self.error = self.error, None
        if error is not None:
            raise error

    def __call__(self, embeds: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
        parts: dict[int, list[np.ndarray]] = {}
        self.submit(embeds, mask, lambda outputs, a, b: parts.__setitem__(a, [np.array(o) for o in outputs]))
        self.wait()
        return [np.concatenate([parts[a][k] for a in sorted(parts)]) for k in range(len(self.outputs))]


class OnnxEncoder:
    """Token-level outputs of one exported model for a batch of texts (prompts included), on ONNX
    Runtime (fp32, or ``int8`` weights); :meth:`on` gives the same on OpenVINO in bfloat16."""

    def __init__(self, folder: Path, int8: bool = False):
        path = export(folder, int8)
        self.folder = folder
        self.max_length = json.loads((folder / "sentence_bert_config.json").read_text()).get("max_seq_length", 512)
        self.dim = json.loads((folder / "config.json").read_text())["hidden_size"]
        pad = json.loads((folder / "tokenizer_config.json").read_text()).get("pad_token", "<pad>")
        pad = pad if isinstance(pad, str) else "<pad>"
        # SentencePiece where it gives the same ids: 280 MB less in every process (rag.embed.spm_tokenizer)
        self.pieces = spm_tokenizer.load(folder, onnx_dir(folder), self.max_length, pad, _CHECK)
        if self.pieces is None:
            from tokenizers import Tokenizer

            self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            self.tokenizer.enable_truncation(self.max_length)
            self.tokenizer.enable_padding(pad_id=self.tokenizer.token_to_id(pad))
        self._run = _OnnxRuntime(path)
        self.words = word_table.load(path.parent)

    def on(self, int8: bool = False, bf16: bool = False) -> OnnxEncoder:
        """This encoder with its tokenizer and word table (≈50 MB) shared, on another graph or
        engine: ONNX Runtime's int8 graph, OpenVINO in bf16, or OpenVINO in bf16 with int8 matmuls."""
        other = copy.copy(self)
        other._run = _OpenVino(export(self.folder), int8) if bf16 else _OnnxRuntime(export(self.folder, int8))
        return other

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Each text's tokens (special ones included, cut at the model's limit), unpadded."""
        if self.pieces is not None:
            return self.pieces.count(texts)
        return [sum(e.attention_mask) for e in self.tokenizer.encode_batch(list(texts))]

    def inputs(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(token embeddings, attention mask, character offsets) of a batch, padded."""
        if self.pieces is not None:
            ids, mask, offsets = self.pieces.encode_batch(list(texts))
        else:
            enc = self.tokenizer.encode_batch(list(texts))
            ids = np.array([e.ids for e in enc], np.int64)
            mask = np.array([e.attention_mask for e in enc], np.int64)
            offsets = np.array([e.offsets for e in enc], np.int64)
        return np.asarray(self.words[ids]), mask, offsets

    def forward(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(last hidden state, alignment hidden state, attention mask, character offsets)."""
        embeds, mask, offsets = self.inputs(texts)
        hidden, align = self._run(embeds, mask)
        return hidden, align, mask, offsets

    def pool_into(self, texts: list[str], out: np.ndarray, rows: np.ndarray) -> None:
        """The texts' mean-pooled vectors into ``out[rows]``: at once on ONNX Runtime; on OpenVINO
        once the streams are done with them, which :meth:`wait` waits for."""
        embeds, mask, _ = self.inputs(texts)

        def done(outputs: list[np.ndarray], a: int, b: int) -> None:
            out[rows[a:b]] = mean_pool(outputs[0], mask[a:b])

        self._run.submit(embeds, mask, done)

    def wait(self) -> None:
        self._run.wait()


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """L2-normalised mean of the unmasked token vectors, as sentence-transformers pools.

    >>> [round(float(x), 2) for x in mean_pool(np.array([[[3., 0.], [0., 4.], [9., 9.]]]), np.array([[1, 1, 0]]))[0]]
    [0.6, 0.8]
    """
    v = (hidden * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1)
    return (v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)).astype(np.float32)
