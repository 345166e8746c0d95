"""Child process that runs llama.cpp's HTTP server (xllamacpp) for LocalEngine.

Usage: ``python -m modelyard.serve._llama_server '<json settings>'``. It prints one JSON line
``{"url": "http://127.0.0.1:PORT"}`` once the model is loaded and the server listens, then
serves until its stdin closes (the parent exited or called stop) or it receives SIGTERM.
Running the engine in its own process keeps the gateway's event loop free and contains crashes.
"""

from __future__ import annotations

import json
import signal
import sys
from typing import Any

POOLING = {"mean": 1, "cls": 2, "last": 3}
"""llama.cpp's llama_pooling_type values for the `embeddings` setting."""


def build_params(settings: dict[str, Any]) -> Any:
    """xllamacpp.CommonParams from the settings LocalEngine passes."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = settings["model"]
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # the server binds a free port and reports it: no race with other processes
    params.n_parallel = settings["parallel"]
    params.n_ctx = settings["ctx_size"] * settings["parallel"]  # llama.cpp splits n_ctx over slots
    embeddings = settings.get("embeddings")
    params.embedding = bool(embeddings)
    if isinstance(embeddings, str):
        params.pooling_type = POOLING[embeddings]
    params.use_jinja = True  # the model's own chat template: tool calls work where it has them
    params.endpoint_metrics = True
    if settings.get("threads"):
        params.cpuparams.n_threads = settings["threads"]
        params.cpuparams_batch.n_threads = settings["threads"]
    if settings.get("alias"):
        params.model_alias = {settings["alias"]}
    if settings.get("gpu_layers") is not None:
        params.n_gpu_layers = settings["gpu_layers"]
    return params


def _exit_on_sigterm(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def main() -> None:
    """Start the server, announce its URL on stdout, serve until stdin closes or SIGTERM."""
    import xllamacpp

    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    server = xllamacpp.Server(build_params(json.loads(sys.argv[1])))
    sys.stdout.write(json.dumps({"url": server.listening_address}) + "\n")
    sys.stdout.flush()
    try:
        sys.stdin.read()
    finally:
        del server  # the destructor stops the HTTP loop and frees the port


if __name__ == "__main__":
    main()
