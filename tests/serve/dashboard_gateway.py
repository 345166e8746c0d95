"""A real gateway with the dashboard on: an admin key, a self-hosted upstream (priced by the hour,
on a named GPU) and a remote API upstream, `auto` over both, and helpers that talk HTTP to it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from modelyard.serve.config import GatewayConfig
from modelyard.serve.ledger import connect, count_rows
from tests.serve.fault_upstream import FaultUpstream
from tests.serve.gateway_server import auto_config, running_gateway

ADMIN_KEY = "admin-key-for-dashboard-tests-9d1e"
USD_PER_HOUR = 2.5


class Board:
    """The running gateway, its two upstreams and an admin client."""

    def __init__(self, url: str, home: Path, home_up: FaultUpstream, remote_up: FaultUpstream):
        self.url = url
        self.home = home
        self.home_up = home_up
        self.remote_up = remote_up
        self.client = httpx.Client(
            base_url=url, timeout=20, headers={"Authorization": f"Bearer {ADMIN_KEY}"}
        )
        self.engine: sa.Engine = connect(None, home)

    def get(self, path: str, **params: Any) -> Any:
        """GET an admin endpoint with the admin key; the JSON, after checking for 200."""
        answer = self.client.get(path, params=params)
        assert answer.status_code == 200, (path, answer.status_code, answer.text)
        return answer.json()

    def chat(self, model: str, text: str, key: str | None = None, **extra: Any) -> httpx.Response:
        """One chat request (with ``key``, else the admin key)."""
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        body = {"model": model, "messages": [{"role": "user", "content": text}], **extra}
        return self.client.post("/v1/chat/completions", json=body, headers=headers)

    def rows(self) -> int:
        return count_rows(self.engine)

    def settle(self) -> int:
        """Wait until the ledger's writer has inserted what earlier requests left (the count
        holds still for longer than its flush interval); the row count."""
        last = self.rows()
        while True:
            time.sleep(0.7)
            now = self.rows()
            if now == last:
                return now
            last = now

    def wait_rows(self, at_least: int, timeout: float = 15) -> int:
        """Wait for the ledger's writer to insert ``at_least`` rows in all."""
        deadline = time.monotonic() + timeout
        while (found := self.rows()) < at_least:
            assert time.monotonic() < deadline, f"{found} ledger rows, expected {at_least}"
            time.sleep(0.05)
        return found


def dashboard_config(
    home_up: FaultUpstream, remote_up: FaultUpstream, **server: Any
) -> GatewayConfig:
    raw = auto_config(home_up, remote_up).model_dump()
    raw["server"].update({"admin_key": ADMIN_KEY, "log_prompts": True, **server})
    raw["backends"][0].update(usd_per_hour=USD_PER_HOUR, gpu="1xH100")
    return GatewayConfig.model_validate(raw)


@contextmanager
def dashboard_gateway(home: Path, **server: Any) -> Iterator[Board]:
    """Start the upstreams and the gateway (``server`` settings over the defaults)."""
    with ExitStack() as stack:
        home_up = stack.enter_context(FaultUpstream("home"))
        remote_up = stack.enter_context(FaultUpstream("remote"))
        config = dashboard_config(home_up, remote_up, **server)
        gateway = stack.enter_context(running_gateway(config, home))
        board = Board(gateway.url, home, home_up, remote_up)
        stack.callback(board.client.close)
        stack.callback(board.engine.dispose)
        yield board
