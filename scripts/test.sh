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
# yard measure's tests need torch; 2.13.0 is the CPU build this machine kind carries as a local file
.venv/bin/python -m pip install --quiet torch==2.13.0
.venv/bin/ruff check src tests benchmarks scripts
.venv/bin/ruff format --check src tests benchmarks scripts
.venv/bin/mypy  # src/, configured in pyproject.toml
.venv/bin/python -m pytest "$@"
