"""XLM-R's tokenizer (e5's) run by SentencePiece: the same ids in a sixth of the memory.

``tokenizers`` holds a Unigram vocabulary of 250k pieces in a trie of hash maps: 280 MB of RSS
in every process that embeds, and ≈1 s to load. SentencePiece, the library the vocabulary was
made with, holds it in a double-array trie: 51 MB. The model is converted once from
``tokenizer.json`` (pieces, scores, the normaliser's compiled charsmap) and used only when it
tokenizes the check texts exactly as ``tokenizers`` does (:func:`load`). On 3,223 news texts
and questions the ids differ on 3, equal-score segmentations broken the other way, and the token
ends (what the code reads) on none (evals/RESULTS.md, 2026-12-03).

Example:
    >>> spec = {"model": {"type": "Unigram", "unk_id": 1, "vocab": [["<s>", 0.0], ["<unk>", 0.0]]},
    ...         "normalizer": {"type": "Sequence", "normalizers": [{"type": "Precompiled"}]},
    ...         "pre_tokenizer": {"type": "Metaspace"}, "added_tokens": [{"id": 0, "special": True}]}
    >>> convertible(spec)
    True
    >>> convertible({**spec, "model": {"type": "BPE"}})
    False
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import numpy as np


def convertible(spec: dict) -> bool:
    """Whether a ``tokenizer.json`` is the XLM-R layout SentencePiece reproduces: Unigram, the
    compiled charsmap (then at most a whitespace collapse), Metaspace with a prefix space."""
    model, pre = spec.get("model") or {}, spec.get("pre_tokenizer") or {}
    norm = spec.get("normalizer") or {}
    kinds = [n.get("type") for n in norm.get("normalizers", [norm])]
    return (model.get("type") == "Unigram" and not model.get("byte_fallback")
            and kinds[:1] == ["Precompiled"] and set(kinds[1:]) <= {"Replace"}
            and pre.get("type") == "Metaspace" and pre.get("prepend_scheme", "always") == "always")


def model_proto(spec: dict) -> bytes:
    """A serialised SentencePiece model with the vocabulary, ids and normaliser of ``spec``."""
    from sentencepiece import sentencepiece_model_pb2 as pb

    kind = pb.ModelProto.SentencePiece
    special = {a["id"] for a in spec.get("added_tokens", []) if a.get("special")}
    unk = spec["model"]["unk_id"]
    m = pb.ModelProto()
    for i, (piece, score) in enumerate(spec["model"]["vocab"]):
        p = m.pieces.add(piece=piece, score=score)
        p.type = kind.UNKNOWN if i == unk else kind.CONTROL if i in special else kind.NORMAL
    m.trainer_spec.model_type = pb.TrainerSpec.UNIGRAM
    m.trainer_spec.unk_id, m.trainer_spec.bos_id, m.trainer_spec.eos_id, m.trainer_spec.pad_id = unk, -1, -1, -1
    charsmap = next(n for n in spec["normalizer"].get("normalizers", [spec["normalizer"]]) if n["type"] == "Precompiled")
    m.normalizer_spec.name = "nmt_nfkc"
    m.normalizer_spec.precompiled_charsmap = base64.b64decode(charsmap["precompiled_charsmap"])
    m.normalizer_spec.add_dummy_prefix = m.normalizer_spec.remove_extra_whitespaces = True
    m.normalizer_spec.escape_whitespaces = True
    return m.SerializeToString()


class SpmTokenizer:
    """``encode_batch`` as ``tokenizers`` gives it for XLM-R: ``<s> … </s>``, truncated to
    ``max_length``, padded to the longest text, character offsets."""

    def __init__(self, model_file: Path, pad: str, max_length: int):
        import sentencepiece as spm

        self.sp = spm.SentencePieceProcessor(model_file=str(model_file))
        self.bos, self.eos, self.pad, self.space = (self.sp.piece_to_id(p) for p in ("<s>", "</s>", pad, "▁"))
        self.max_length = max_length

    def count(self, texts: list[str]) -> list[int]:
        """Each text's tokens with ``<s>`` and ``</s>``, cut at ``max_length`` (a trailing space's
        piece aside: for sorting texts into batches, in one call of the C++ encoder)."""
        return [min(len(ids) + 2, self.max_length) for ids in self.sp.encode(list(texts))]

    def encode(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """Ids and (start, end) character offsets, specials included."""
        raw = np.frombuffer(text.encode(), np.uint8)
        # character index of each byte offset (a UTF-8 character starts at each non-continuation byte)
        char_at = np.append(np.cumsum((raw & 0xC0) != 0x80) - 1, len(text))
        pieces = self.sp.encode(text, return_type="proto").pieces
        spans = []
        for p in pieces:
            a, b = int(char_at[p.begin]), int(char_at[p.end])
            while a + 1 < b and text[a].isspace() and text[a + 1].isspace():
                a += 1  # "▁word" after several spaces starts at the last one, as tokenizers counts
            spans.append([a, b])
        for i in range(len(spans) - 2, -1, -1):
            a, b = spans[i]
            if pieces[i].piece.strip("▁") and not text[a:b].strip():
                spans[i][1] = spans[i + 1][1]  # a piece of one character's expansion (ﷺ): ends where it ends
        ids, offsets = [self.bos, *(p.id for p in pieces)], [(0, 0), *map(tuple, spans)]
        if text[-1:].isspace():  # tokenizers keeps a trailing space as "▁"; SentencePiece drops it
            ids.append(self.space)
            offsets.append((len(text) - 1, len(text)))
        keep = self.max_length - 1
        return ids[:keep] + [self.eos], offsets[:keep] + [(0, 0)]

    def encode_batch(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ids, attention mask, offsets), padded to the longest text."""
        rows = [self.encode(t) for t in texts]
        n = max(len(ids) for ids, _ in rows)
        ids = np.full((len(rows), n), self.pad, np.int64)
        mask = np.zeros((len(rows), n), np.int64)
        offsets = np.zeros((len(rows), n, 2), np.int64)
        for r, (i, o) in enumerate(rows):
            ids[r, :len(i)], mask[r, :len(i)], offsets[r, :len(o)] = i, 1, o
        return ids, mask, offsets


def load(folder: Path, cache: Path, max_length: int, pad: str, check: list[str]) -> SpmTokenizer | None:
    """The SentencePiece tokenizer of ``folder``'s ``tokenizer.json``, converted into ``cache``
    once and only if it gives ``tokenizers``' ids and offsets on ``check``; None otherwise."""
    target, rejected = cache / "tokenizer.spm", cache / "tokenizer.spm.rejected"
    if rejected.exists():
        return None
    if not target.exists():
        cache.mkdir(parents=True, exist_ok=True)
        spec = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
        if not convertible(spec):
            rejected.touch()
            return None
        tmp = target.with_suffix(f".{os.getpid()}.tmp")  # renamed when checked: no half file is ever used
        tmp.write_bytes(model_proto(spec))
        if not _agrees(SpmTokenizer(tmp, pad, max_length), folder, max_length, check):
            tmp.unlink()
            rejected.touch()
            return None
        os.replace(tmp, target)
    return SpmTokenizer(target, pad, max_length)


def _agrees(tok: SpmTokenizer, folder: Path, max_length: int, check: list[str]) -> bool:
    from tokenizers import Tokenizer

    ref = Tokenizer.from_file(str(folder / "tokenizer.json"))
    ref.enable_truncation(max_length)
    for text in check:
        enc = ref.encode(text)
        ids, offsets = tok.encode(text)
        if enc.ids != ids or [tuple(o) for o in enc.offsets] != offsets:
            return False
    return True
