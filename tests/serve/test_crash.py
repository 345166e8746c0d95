"""kill -9 of `yard serve` under load: every answer a client got is in the ledger afterwards."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from modelyard.serve.ledger import Ledger
from tests.serve.fault_upstream import FaultUpstream

pytestmark = pytest.mark.slow

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hammer(url: str, acknowledged: list[str], stop: threading.Event) -> None:
    with httpx.Client(timeout=5) as client:
        while not stop.is_set():
            try:
                reply = client.post(url, json=CHAT)
            except httpx.HTTPError:
                return
            if reply.status_code == 200:
                acknowledged.append(reply.headers["x-request-id"])


def test_kill_9_loses_no_acknowledged_request(tmp_path: Path, yard_home: Path):
    with FaultUpstream("a") as upstream:
        config = tmp_path / "gateway.yaml"
        config.write_text(f"backends:\n  - name: a\n    base_url: {upstream.url}\n"
                          "models:\n  m: [a]\n")  # fmt: skip
        port = free_port()
        yard = Path(sys.executable).parent / "yard"
        gateway = subprocess.Popen(
            [str(yard), "serve", "--config", str(config), "--port", str(port)],
            env={**os.environ, "YARD_HOME": str(yard_home)},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.post(url, json=CHAT).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        acknowledged: list[str] = []
        stop = threading.Event()
        workers = [threading.Thread(target=hammer, args=(url, acknowledged, stop))
                   for _ in range(4)]  # fmt: skip
        for worker in workers:
            worker.start()
        time.sleep(1.5)
        gateway.send_signal(signal.SIGKILL)
        gateway.wait(10)
        stop.set()
        for worker in workers:
            worker.join(10)
    assert len(acknowledged) > 20
    ledger = Ledger.open(None, yard_home)  # replays what the killed gateway journaled
    try:
        with ledger.engine.connect() as conn:
            stored = {row[0] for row in conn.exec_driver_sql("select id from requests")}
    finally:
        ledger.close()
    assert set(acknowledged) <= stored
