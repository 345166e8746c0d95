"""One worker of `yard serve --workers N`: the gateway on the socket its parent bound.

Run by the parent (``serve/workers.py``) as ``python -m modelyard.serve._worker`` with the
listening socket inherited. The first stdin line is a JSON spec: the config with its secrets
resolved (so they appear in no argv or environment), the URLs of the local engines the parent
runs, the socket's descriptor and the parent's hub. The worker prints ``ready`` once it accepts
connections, drains on SIGTERM like a single-process gateway, and drains too when its stdin
closes (the parent died), so no worker outlives its parent. ``POST /admin/reload`` and SIGHUP
ask the parent to reload (``hub.ask_reload``), which then replaces every worker.
"""

from __future__ import annotations

import asyncio
import functools
import os
import socket
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import orjson
import uvicorn

from modelyard.serve import logs
from modelyard.serve.app import create_app, uvicorn_options
from modelyard.serve.config import GatewayConfig
from modelyard.serve.hub import ask_reload

ACCEPT_GRACE_S = 0.25
"""How long a stopping worker keeps its accepted-but-idle connections open."""


class EngineAt:
    """A local engine the parent runs and supervises, as this worker's backend sees it.

    The parent replaces its workers when a restarted engine moves to a new URL, so for a
    worker the engine never changes; its crash shows as failed upstream attempts meanwhile.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.pid = None
        self.running = True
        self.health_url = None
        """None: the parent, not this worker, probes the engine."""

    async def start(self) -> str:
        """The engine's ``.../v1`` URL (it already runs)."""
        return self.url

    restart = start

    def exit_code(self) -> None:
        """None: the parent, not this worker, watches the process."""

    def kill(self) -> None:
        """Nothing: the parent kills a hung engine."""

    def log_tail(self, lines: int = 5) -> str:
        """Nothing: the log is the parent's."""
        return ""

    async def stop(self) -> None:
        """Nothing: the parent stops the engine once every worker has gone."""


class WorkerServer(uvicorn.Server):
    """uvicorn, telling the parent on stdout when it serves."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().startup(sockets)
        if self.started:
            sys.stdout.write("ready\n")
            sys.stdout.flush()
            os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # nobody reads the pipe from now

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Stop accepting now, not at uvicorn's next 0.1 s tick: once the parent has answered a
        reload, no new connection may reach a worker that serves the previous config."""
        super().handle_exit(sig, frame)
        if self.started:
            self.loop.call_soon_threadsafe(self._stop_accepting)

    def _stop_accepting(self) -> None:
        for server in self.servers:
            server.close()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Stop accepting, wait ``ACCEPT_GRACE_S``, then drain as uvicorn does.

        uvicorn closes idle connections at once, including one accepted just before the signal
        whose request is still on the wire: during a rolling replace that client would see
        "server disconnected". The grace lets such requests arrive; the other workers accept
        every new connection meanwhile.
        """
        self._stop_accepting()
        await asyncio.sleep(ACCEPT_GRACE_S)
        await super().shutdown(sockets)


def _drain_when_orphaned(server: uvicorn.Server) -> None:
    sys.stdin.buffer.read()
    server.should_exit = True


def main() -> None:
    """Read the spec, build the gateway, serve until told to stop."""
    spec: dict[str, Any] = orjson.loads(sys.stdin.buffer.readline())
    config = GatewayConfig.model_validate(spec["config"])
    logs.configure(config.server.log_level, fd=spec["log_fd"])
    engines = {name: EngineAt(url) for name, url in spec["engines"].items()}
    reload = functools.partial(ask_reload, Path(spec["hub"]))
    app = create_app(config, engines=engines, reload=reload, shared_metrics=Path(spec["metrics"]))
    server = WorkerServer(uvicorn.Config(app, **uvicorn_options(config.server)))
    threading.Thread(target=_drain_when_orphaned, args=(server,), daemon=True).start()
    server.run(sockets=[socket.socket(fileno=spec["fd"])])


if __name__ == "__main__":
    main()
