#!/usr/bin/env bash
# Set up a fresh machine and run the whole test suite (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
# real PostgreSQL and Redis on loopback for the replica tests (tests/serve/test_replicas.py)
services=$(./scripts/services.sh start)  # an assignment, so set -e stops here if they fail
eval "$services"
# yard measure's tests need torch; 2.13.0 is the CPU build this machine kind carries as a local file
.venv/bin/python -m pip install --quiet torch==2.13.0
.venv/bin/ruff check src tests benchmarks scripts
.venv/bin/ruff format --check src tests benchmarks scripts
.venv/bin/python -m pytest "$@"
