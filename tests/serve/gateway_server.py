"""Run the real gateway under uvicorn (uvloop + httptools) on a free loopback port, in a thread.

By default under the server protocol `yard serve` runs (serve/http_server.py); ``http='httptools'``
gives uvicorn's own, as any other deployment of the ASGI app would.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import uvicorn
import yaml

from modelyard.catalog import Catalog, load_catalog
from modelyard.serve.app import create_app, uvicorn_options
from modelyard.serve.config import GatewayConfig

TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]


def gateway_config(backends: list[dict[str, Any]], models: dict[str, list[str]],
                   **server: Any) -> GatewayConfig:  # fmt: skip
    """A validated config with fast test-friendly retry defaults."""
    fast = {"retry_backoff_s": 0.01, "max_retries": 2}
    return GatewayConfig.model_validate(
        {"backends": [{**fast, **b} for b in backends], "models": models, "server": server}
    )


def auto_config(home: Any, remote: Any, **auto: Any) -> GatewayConfig:
    """`big` self-hosted (llama-3.1-8b: tools, 128k) dearer than `cheap` (smollm2: no tools, 8k),
    over two upstreams (objects with a ``url``), and `auto` over both with ``auto`` settings."""
    backends = [
        {"name": "home", "base_url": home.url, "model": "llama-3.1-8b-instruct",
         "self_hosted": True},
        {"name": "remote", "base_url": remote.url, "model": "smollm2-135m-instruct",
         "api_key": "sk-remote"},
    ]  # fmt: skip
    candidates = [
        {"model": "big", "input_per_mtok": 1.0, "output_per_mtok": 2.0},
        {"model": "cheap", "input_per_mtok": 0.1, "output_per_mtok": 0.2},
    ]
    raw = gateway_config(backends, {"big": ["home"], "cheap": ["remote"]}).model_dump()
    raw["auto"] = {"candidates": candidates, **auto}
    return GatewayConfig.model_validate(raw)


def config_file(config: GatewayConfig, path: Path) -> Path:
    """``config`` as the gateway.yaml a `yard serve` process reads."""
    path.write_text(yaml.safe_dump(config.model_dump(mode="json", exclude_defaults=True)))
    return path


def logged(records: list[logging.LogRecord], name: str) -> list[dict[str, Any]]:
    """The fields of every ``name`` event among captured log records (serve/logs.py)."""
    return [r.fields for r in records if getattr(r, "event", None) == name]  # type: ignore[attr-defined]


def log_lines(output: str, name: str) -> list[dict[str, Any]]:
    """The JSON log lines of event ``name`` in a `yard serve` process's output."""
    lines = [orjson.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == name]


@cache
def shipped_catalog() -> Catalog:
    """The shipped catalog, loaded once per test session (YARD_HOME changes per test)."""
    return load_catalog()


class RunningGateway:
    """A started gateway: its base URL and the uvicorn server behind it."""

    def __init__(self, server: uvicorn.Server, port: int) -> None:
        self.server = server
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    @property
    def app(self) -> Any:
        return self.server.config.loaded_app


@contextmanager
def running_gateway(
    config: GatewayConfig,
    home: Path | None = None,
    http: Any = None,
    host: str = "127.0.0.1",
    wrap: Any = None,
) -> Iterator[RunningGateway]:
    """Start the gateway for ``config`` as `yard serve` runs it, on ``host`` (``http``: another
    uvicorn protocol instead of modelyard's; ``wrap``: ASGI middleware around the app, a
    server's faults); stop it (draining the ledger) on exit."""
    sock = socket.socket()
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    app = create_app(config, home, catalog=shipped_catalog())
    app = wrap(app) if wrap is not None else app
    options = {**uvicorn_options(config.server), "log_level": "warning"}
    uv = uvicorn.Config(app, lifespan="on", **{**options, **({"http": http} if http else {})})
    server = uvicorn.Server(uv)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("gateway did not start")
        time.sleep(0.01)
    try:
        yield RunningGateway(server, port)
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()
