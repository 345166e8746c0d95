#!/usr/bin/env bash
# Download, on the dev machine, the wheels gpu_measure.sh needs on the GPU image (Python 3.12,
# no network there): transformers, PEFT, bitsandbytes and their compiled helpers, plus what
# benchmarks/gpu_measure/wheels.sh fetches (pydantic, rapidfuzz). Writes ./.whl (gitignored).
# The device tool carries at most 64 MiB: this stops if the folder grows past 62 MiB.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash benchmarks/gpu_measure/wheels.sh
PLATFORMS=(--platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64)
.venv/bin/python -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp "${PLATFORMS[@]}" -d .whl \
  "transformers==$(.venv/bin/python -c 'import transformers; print(transformers.__version__)')" \
  "peft==$(.venv/bin/python -c 'import peft; print(peft.__version__)')" \
  bitsandbytes accelerate safetensors huggingface_hub tokenizers regex psutil
size=$(du -sm .whl | cut -f1)
if [ "$size" -gt 62 ]; then
  echo ".whl is ${size} MiB: over what the device tool carries; drop the inference wheels" >&2
  exit 1
fi
