#!/usr/bin/env bash
# The one command for a GPU session (device tool: `bash benchmarks/gpu_measure/run_all.sh`, carry .whl):
# measures every model in run_all.py and leaves one calibration JSON per model, plus run.log, in $OUT.
# Then, on the dev machine: copy those files into src/modelyard/plan/data/calibrations/, run
# report.py (results/latest.json), then benchmarks/performance.py (docs/PERFORMANCE.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
if compgen -G ".whl/*.whl" >/dev/null; then
  # pydantic and rapidfuzz are not in the GPU image; wheels.sh downloads them here first
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD/src:${PYTHONPATH:-}" PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/gpu_measure}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/run.log"
python3 benchmarks/gpu_measure/run_all.py "$OUT" "$@" 2>&1 | tee -a "$OUT/run.log"
