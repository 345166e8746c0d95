"""Clients without a key exhaust nothing: a real `yard serve` limited to 256 file descriptors
keeps serving a keyed client while silent, slow and oversized connections come and go."""

from __future__ import annotations

import contextlib
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from modelyard.serve.keys import KeyStore
from modelyard.serve.ledger import Ledger
from tests.serve.fault_upstream import FaultUpstream
from tests.serve.test_crash import free_port
from tests.serve.test_gateway import ledger_rows

pytestmark = pytest.mark.slow

FD_LIMIT = 256
CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
YARD = Path(sys.executable).parent / "yard"


@dataclass
class Limited:
    """The gateway process, its port, and a valid key."""

    proc: subprocess.Popen
    port: int
    key: str
    home: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/chat/completions"

    def chat(self, **headers: str) -> int:
        """One keyed request on a connection of its own; its status (0: no answer)."""
        auth = {"Authorization": f"Bearer {self.key}", "Connection": "close", **headers}
        try:
            return httpx.post(self.url, json=CHAT, headers=auth, timeout=10).status_code
        except httpx.HTTPError:
            return 0

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(next(s for s in status.splitlines() if s.startswith("VmRSS")).split()[1]) / 1024

    def descriptors(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))


def _limit_descriptors() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))


@pytest.fixture
def limited(tmp_path: Path, yard_home: Path) -> Iterator[Limited]:
    ledger = Ledger.open(None, yard_home)
    _, key = KeyStore.open(ledger.engine).create("client")
    ledger.close()
    with FaultUpstream("a") as upstream:
        config = tmp_path / "gateway.yaml"
        config.write_text(
            "server: {header_timeout_s: 2, keep_alive_s: 2, max_body_bytes: 1048576}\n"
            f"backends: [{{name: a, base_url: '{upstream.url}'}}]\nmodels: {{m: [a]}}\n"
        )
        port = free_port()
        with (tmp_path / "serve.log").open("wb") as log:
            proc = subprocess.Popen(
                [str(YARD), "serve", "--config", str(config), "--port", str(port)],
                env={**os.environ, "YARD_HOME": str(yard_home)}, stdout=log, stderr=log,
                preexec_fn=_limit_descriptors,
            )  # fmt: skip
        gateway = Limited(proc, port, key, yard_home)
        try:
            deadline = time.monotonic() + 60
            while gateway.chat() != 200:
                assert proc.poll() is None and time.monotonic() < deadline, "did not start"
                time.sleep(0.2)
            yield gateway
        finally:
            proc.terminate()
            proc.wait(30)


def keyed_while(gateway: Limited, busy: threading.Event, at_least: int = 20) -> list[int]:
    """Keyed requests, one after another, while ``busy`` is set (and at least ``at_least``)."""
    statuses: list[int] = []
    while busy.is_set() or len(statuses) < at_least:
        statuses.append(gateway.chat())
    return statuses


def test_1000_silent_sockets_leave_keyed_clients_served(limited: Limited) -> None:
    sockets: list[socket.socket] = []
    flooding = threading.Event()
    flooding.set()

    def flood() -> None:
        for _ in range(1000):
            sock = socket.socket()
            sock.settimeout(5)
            try:
                sock.connect(("127.0.0.1", limited.port))
            except OSError:
                sock.close()
                continue
            sockets.append(sock)
        flooding.clear()

    thread = threading.Thread(target=flood)
    thread.start()
    try:
        statuses = keyed_while(limited, flooding)
        thread.join()
        assert len(sockets) == 1000  # every connect was accepted (the oldest then closed)
        assert limited.descriptors() <= FD_LIMIT and limited.proc.poll() is None
        statuses += [limited.chat() for _ in range(10)]  # the 1,000 are still open
    finally:
        for sock in sockets:
            sock.close()
    assert statuses == [200] * len(statuses)
    limited.proc.terminate()  # drains the ledger
    limited.proc.wait(30)
    rows = ledger_rows(limited.home)  # the ledger never ran out of descriptors either
    assert sum(r["status"] == 200 for r in rows) >= len(statuses)


def test_slowloris_connections_are_cut_at_the_header_timeout(limited: Limited) -> None:
    conns = [socket.create_connection(("127.0.0.1", limited.port)) for _ in range(200)]
    for conn in conns:
        conn.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nX-a: ")
    started = time.monotonic()
    trickling = threading.Event()
    trickling.set()

    def trickle() -> None:  # a byte every 0.5 s, as slowloris does
        while trickling.is_set():
            for conn in conns:
                with contextlib.suppress(OSError):
                    conn.send(b"a")
            time.sleep(0.5)

    thread = threading.Thread(target=trickle)
    thread.start()
    try:
        time.sleep(0.5)
        statuses = [limited.chat() for _ in range(10)]
        answers = []
        for conn in conns:
            conn.settimeout(10)
            try:
                answers.append(conn.recv(4096))
            except OSError:
                answers.append(b"")
        cut_after = time.monotonic() - started
    finally:
        trickling.clear()
        thread.join()
        for conn in conns:
            conn.close()
    assert statuses == [200] * 10
    # cut at the deadline (408), closed to make room, or refused at the limit when the
    # connections it could close had their bytes still unread (503)
    cut = (b"HTTP/1.1 408", b"HTTP/1.1 503")
    assert all(a == b"" or a.startswith(cut) for a in answers), [a[:60] for a in answers]
    assert cut_after < 8  # the header timeout is 2 s; none was held open


def test_oversized_headers_and_bodies_without_a_key_take_no_memory(limited: Limited) -> None:
    before = limited.rss_mb()
    head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
    address = ("127.0.0.1", limited.port)
    huge_header = [socket.create_connection(address, timeout=10) for _ in range(8)]
    stalled_body = [socket.create_connection(address, timeout=10) for _ in range(8)]
    try:
        for conn in huge_header:
            conn.sendall(head + b"X-Big: ")
        for conn in stalled_body:  # no key, a body within the limit that never finishes
            conn.sendall(head + b"Content-Length: 1000000\r\n\r\n" + b"x" * 60_000)
        for _ in range(48):  # 48 MB per header, while the gateway refuses them
            for conn in huge_header:
                try:
                    conn.sendall(b"a" * 1_000_000)
                except OSError:
                    continue
        answers = [c.recv(4096) for c in huge_header + stalled_body]
        grown = limited.rss_mb() - before
        statuses = [limited.chat() for _ in range(5)]
    finally:
        for conn in huge_header + stalled_body:
            conn.close()
    assert all(a.startswith(b"HTTP/1.1 431") for a in answers[:8])
    assert all(a.startswith(b"HTTP/1.1 401") for a in answers[8:])
    assert grown < 30, f"the gateway grew by {grown:.0f} MB"
    assert statuses == [200] * 5


def test_wrong_keys_are_throttled_and_leave_no_trace(limited: Limited) -> None:
    wrong = [limited.chat(Authorization="Bearer sk-yard-wrong") for _ in range(25)]
    assert wrong == [401] * 20 + [429] * 5
    assert limited.chat() == 429  # the address waits out the minute, whatever key it sends
    limited.proc.terminate()
    limited.proc.wait(30)
    rows = ledger_rows(limited.home)
    assert {r["status"] for r in rows} == {200}  # refusals store nothing
