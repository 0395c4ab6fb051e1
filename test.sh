#!/usr/bin/env bash
# Set everything up (venv, model, Debian chromium for the browser tests) and run all tests.
# Extra arguments go to pytest, e.g. ./test.sh -m "not slow and not browser" for the quick ones.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
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
