#!/usr/bin/env bash
# Set up a fresh machine and run the main job on its embedded default: the gateway on
# 127.0.0.1:4000 in front of the local llama.cpp engine running SmolLM2-135M-Instruct.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
.venv/bin/yard pull smollm2
cat <<'MSG'

In another terminal:
  .venv/bin/yard chat "Name three prime numbers"
  curl -s http://127.0.0.1:4000/v1/chat/completions -H 'content-type: application/json' \
    -d '{"model": "default", "messages": [{"role": "user", "content": "Hello"}]}'
  .venv/bin/yard plan --gpu 1xH100 --workload chat --tokens-per-day 20M --license commercial
  .venv/bin/yard models list --license commercial --sort params
Stop the gateway with Ctrl-C.

MSG
exec .venv/bin/yard serve
