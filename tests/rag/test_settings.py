"""Settings: arguments over environment over config file over defaults, validated once."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from rag.settings import Settings


def test_precedence_arguments_environment_file_defaults(tmp_path, monkeypatch):
    conf = tmp_path / "conf.toml"
    conf.write_text('db = "from-file"\nmodel = "file-model"\nllm_url = "http://127.0.0.1:9/v1"\n')
    monkeypatch.setenv("RAG_CONFIG", str(conf))
    monkeypatch.setenv("RAG_MODEL", "env-model")
    s = Settings()
    assert (s.db, s.model, s.llm_url, s.chunk_chars) == (Path("from-file"), "env-model", "http://127.0.0.1:9/v1", 800)
    assert Settings(model="arg-model").model == "arg-model"


def test_rag_toml_in_the_working_directory_is_read(tmp_path, monkeypatch):
    monkeypatch.delenv("RAG_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    assert Settings().rerank_model is None
    (tmp_path / "rag.toml").write_text('rerank_model = "embeddinggemma-300m"\n')
    assert Settings().rerank_model == "embeddinggemma-300m"


def test_bad_settings_are_refused_by_name_without_their_value(tmp_path, monkeypatch):
    conf = tmp_path / "conf.toml"
    conf.write_text('modle = "typo"\n')
    monkeypatch.setenv("RAG_CONFIG", str(conf))
    with pytest.raises(ValidationError, match="modle"):
        Settings()
    monkeypatch.setenv("RAG_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(FileNotFoundError, match="RAG_CONFIG"):
        Settings()
    monkeypatch.delenv("RAG_CONFIG")
    monkeypatch.setenv("RAG_AUTH", "secret-without-colon")
    with pytest.raises(ValidationError, match="USER:PASSWORD") as err:
        Settings()
    assert "secret-without-colon" not in str(err.value)
    monkeypatch.setenv("RAG_AUTH", "ann:pw:with:colons")
    assert Settings().credentials == ("ann", "pw:with:colons")
    monkeypatch.setenv("RAG_CHUNK_CHARS", "50")
    with pytest.raises(ValidationError, match="chunk_chars"):
        Settings()


def test_blank_variables_mean_unset(monkeypatch):
    for name in ("RAG_RERANK_MODEL", "RAG_CHROMA_URL", "RAG_LLM_URL", "RAG_AUTH"):
        monkeypatch.setenv(name, " ")
    s = Settings()
    assert (s.rerank_model, s.chroma_url, s.llm_url, s.auth) == (None, None, None, None)
