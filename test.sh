#!/usr/bin/env bash
# Set everything up (venv, models, local LLM, Debian chromium for the browser tests) and run all tests.
# Extra arguments go to pytest, e.g. ./test.sh -m "not slow and not browser" for the quick ones.
set -euo pipefail
cd "$(dirname "$0")"
# The opt-in models too, so their real tests run: the local LLM (≈17 min to compile llama-cpp-python
# the first time on a machine, then pip's wheel cache) and EmbeddingGemma; without them those
# tests skip and say why.
bash scripts/setup.sh --llm --quality || { echo "warning: opt-in models failed; their tests will skip" >&2; bash scripts/setup.sh; }
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "note: /usr/bin/chromium missing (apt-get install chromium); browser tests will fail" >&2
  fi
fi
set +e
.venv/bin/python -m pytest "$@"
rc=$?
if [ "$rc" = 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
exit "$rc"
