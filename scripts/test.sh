#!/usr/bin/env bash
# Set up a fresh machine and run the whole test suite (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
# real PostgreSQL and Redis on loopback for the replica tests (tests/serve/test_replicas.py)
if services=$(./scripts/services.sh start); then
  eval "$services"
elif [ -n "${CI:-}" ]; then
  echo "PostgreSQL/Redis could not be started" >&2
  exit 1
else
  echo "warning: PostgreSQL/Redis not started (needs root for apt); their tests will skip" >&2
fi
# bubblewrap isolates model-written code in yard eval's sandbox (tests/eval/test_sandbox*.py)
if ! command -v bwrap >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing bubblewrap (apt)" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends bubblewrap >&2
  else
    echo "warning: bubblewrap is missing (needs root for apt); the sandbox tests will skip" >&2
  fi
fi
# the dashboard's and the reports' browser tests (tests/ui) drive Debian's Chromium
if chromium=$(./scripts/chromium.sh); then
  eval "$chromium"
elif [ -n "${CI:-}" ]; then
  echo "Chromium could not be installed" >&2
  exit 1
else
  echo "warning: Chromium not installed (needs root for apt); the browser tests will skip" >&2
fi
# yard measure's tests need torch; 2.13.0 is the CPU build this machine kind carries as a local file
.venv/bin/python -m pip install --quiet torch==2.13.0
# yard measure --train's CPU tests build models with transformers + PEFT (bitsandbytes: GPU only)
.venv/bin/python -m pip install --quiet "transformers>=4.46" "peft>=0.13"
# vLLM's and SGLang's argument parsers, CPU-only, for the recipe checks (tests/plan)
./scripts/engines.sh
.venv/bin/ruff check src tests benchmarks scripts
.venv/bin/ruff format --check src tests benchmarks scripts
.venv/bin/mypy  # src/, configured in pyproject.toml
.venv/bin/python -m pytest "$@"
