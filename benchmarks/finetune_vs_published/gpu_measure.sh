#!/usr/bin/env bash
# The one command for a GPU session (device tool: `bash benchmarks/finetune_vs_published/
# gpu_measure.sh`, carrying .whl from gpu_wheels.sh). NOT RUN YET: no GPU was lent to the task
# that wrote it. It trains with random weights, as `yard measure --train` does:
#   Llama-3.1-8B LoRA (r16, all linear), QLoRA (NF4 + double quant) and full (8-bit AdamW),
#   Qwen3-30B-A3B LoRA (attention), each over seq len × micro-batch × checkpointing,
# and leaves one *.train.json per run plus run.log in $OUT. Budget: about 8-10 minutes on an
# H100 (estimated from the planner's step times; the first run will tell).
# Then, on the dev machine: copy the files into YARD_HOME/calibration/train/ and run
#   .venv/bin/python benchmarks/finetune_vs_published/gpu_compare.py DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD/src:${PYTHONPATH:-}" PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/finetune_measure}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/run.log"
yard() { python3 -c 'from modelyard.cli import main; main()' "$@" 2>&1 | tee -a "$OUT/run.log"; }
COMMON=(--seq-len 512,2k,4k --micro-batch 1,2 --grad-ckpt on,off --repeats 3)
yard measure llama-3.1-8b-instruct --train lora "${COMMON[@]}" --out "$OUT/llama8b-lora.train.json"
yard measure llama-3.1-8b-instruct --train qlora "${COMMON[@]}" --out "$OUT/llama8b-qlora.train.json"
yard measure llama-3.1-8b-instruct --train full --optimizer adamw-8bit --seq-len 512,2k \
  --micro-batch 1,2 --grad-ckpt on --repeats 3 --out "$OUT/llama8b-full.train.json"
yard measure qwen3-30b-a3b --train lora --targets attention --seq-len 512,2k --micro-batch 1 \
  --grad-ckpt on,off --repeats 3 --out "$OUT/qwen3-30b-a3b-lora.train.json"
