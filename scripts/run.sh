#!/usr/bin/env bash
# Set up a fresh machine and run the main job on its embedded default.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
.venv/bin/yard models list --license commercial --sort params
