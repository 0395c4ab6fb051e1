#!/usr/bin/env bash
# Set everything up, index corpus/ (only what is new or changed), start the chat on 127.0.0.1.
# Extra arguments go to `rag serve`, e.g. ./start.sh --port 7861 --ingest ../shared/corpus/ant-2018.jsonl.gz
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
exec .venv/bin/rag serve --ingest corpus "$@"
