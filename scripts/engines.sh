#!/usr/bin/env bash
# Install vLLM's and SGLang's own argument parsers for the recipe tests
# (tests/plan/test_recipes_engines.py): each engine goes into .cache/engines/<engine> without its
# GPU dependencies, and reads torch from .venv (a .pth file), so nothing needs a GPU or CUDA.
# Idempotent: an engine whose pinned requirements are already installed is left alone.
# Versions: the engine profiles the planner ships (plan/data/engines.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."
root=.cache/engines
venv_site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')

VLLM=(vllm==0.19.0)
VLLM_DEPS=(
  "transformers>=4.56,<5" "tokenizers>=0.21" aiohttp blake3 cachetools cbor2 cloudpickle diskcache
  einops fastapi gguf huggingface_hub ijson lark "llguidance<1.4" model-hosting-container-standards
  msgspec numpy openai openai-harmony packaging partial-json-parser pillow prometheus_client
  prometheus-fastapi-instrumentator psutil py-cpuinfo pybase64 pydantic python-json-logger pyzmq
  regex safetensors sentencepiece setproctitle tiktoken uvicorn uvloop watchfiles "xgrammar<1.0"
)
SGLANG=(sglang==0.5.23)
SGLANG_DEPS=(
  "transformers==5.19.0" aiohttp huggingface_hub ipython msgspec numpy orjson pillow psutil pybase64
  pydantic pyyaml pyzmq requests starlette triton
)

install() {  # install NAME "PINNED..." -- "DEPS..."
  local name=$1 env=$root/$1 stamp
  shift
  stamp="$*"
  if [ -f "$env/.installed" ] && [ "$(cat "$env/.installed")" = "$stamp" ]; then
    return
  fi
  rm -rf "$env"
  .venv/bin/python -m venv "$env"
  local site
  site=$("$env/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  echo "$venv_site" > "$site/zz_modelyard_venv.pth"
  local pinned=() deps=() seen=0
  for arg in "$@"; do
    if [ "$arg" = "--" ]; then seen=1; elif [ $seen = 0 ]; then pinned+=("$arg"); else deps+=("$arg"); fi
  done
  local log=$root/$name.log
  # pip warns that the engines' GPU requirements are missing: expected, so kept to the log
  if ! { "$env/bin/python" -m pip install --no-deps "${pinned[@]}" \
      && "$env/bin/python" -m pip install "${deps[@]}"; } >"$log" 2>&1; then
    tail -20 "$log" >&2
    echo "installing $name's argument parser failed (full log: $log)" >&2
    exit 1
  fi
  echo "$stamp" > "$env/.installed"
  echo "installed ${pinned[*]} into $env (CPU only, for the recipe checks)"
}

install vllm "${VLLM[@]}" -- "${VLLM_DEPS[@]}"
install sglang "${SGLANG[@]}" -- "${SGLANG_DEPS[@]}"
