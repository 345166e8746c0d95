"""Several `yard serve` processes sharing one PostgreSQL ledger and one Redis, and load for them."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
YARD = Path(sys.executable).parent / "yard"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def replica_config(upstream_url: str, ledger_url: str, redis_url: str, prefix: str) -> str:
    """A gateway.yaml: one priced backend as model `m`, the ledger and state shared."""
    return (
        f"server: {{ledger_url: '{ledger_url}'}}\n"
        f"state: {{redis_url: '{redis_url}', prefix: '{prefix}'}}\n"
        "backends:\n"
        f"  - {{name: a, base_url: '{upstream_url}', price: openai/gpt-4o,\n"
        "     max_retries: 2, retry_backoff_s: 0.01}\n"
        "models: {m: [a]}\n"
    )


class Replicas:
    """``count`` gateway processes on one config, each with its own YARD_HOME (journal)."""

    def __init__(self, root: Path, config_text: str, count: int = 3) -> None:
        self.config = root / "gateway.yaml"
        self.config.write_text(config_text)
        self.homes = [root / f"home{i}" for i in range(count)]
        self.ports = [free_port() for _ in range(count)]
        self.procs: list[subprocess.Popen | None] = [None] * count

    def url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.ports[i]}/v1/chat/completions"

    def start(self, i: int) -> None:
        """Start replica ``i`` (again, after a kill: its ledger replays the old journal)."""
        with (self.config.parent / f"replica{i}.log").open("ab") as log:
            self.procs[i] = subprocess.Popen(
                [str(YARD), "serve", "--config", str(self.config), "--port", str(self.ports[i])],
                env={**os.environ, "YARD_HOME": str(self.homes[i])},
                stdout=log, stderr=log,
            )  # fmt: skip

    def wait_ready(self, i: int, timeout: float = 60) -> float:
        """Seconds until replica ``i`` answers /health."""
        t0 = time.monotonic()
        health = self.url(i).replace("/v1/chat/completions", "/health")
        while time.monotonic() - t0 < timeout:
            try:
                if httpx.get(health, timeout=1).status_code < 500:
                    return time.monotonic() - t0
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"replica {i} did not start")

    def start_all(self) -> None:
        for i in range(len(self.ports)):
            self.start(i)
        for i in range(len(self.ports)):
            self.wait_ready(i)

    def kill(self, i: int) -> None:
        """SIGKILL replica ``i``."""
        proc = self.procs[i]
        assert proc is not None
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def stop_all(self) -> None:
        """SIGTERM every replica (each drains its ledger) and wait."""
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            if proc is not None:
                proc.wait(30)


@dataclass
class Load:
    """Client threads posting to the replicas; every answer kept as (status, request id, code)."""

    urls: list[str]
    key: str
    threads_per_url: int = 3
    until: Callable[[Load], bool] = lambda load: False
    body: dict = field(default_factory=lambda: CHAT)
    answers: list[tuple[int, str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._threads = [
            threading.Thread(target=self._run, args=(url,), daemon=True)
            for url in self.urls
            for _ in range(self.threads_per_url)
        ]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(30)

    def wait(self, timeout: float) -> None:
        """Until ``until`` holds (or ``timeout`` seconds), then stop."""
        deadline = time.monotonic() + timeout
        while not self.until(self) and time.monotonic() < deadline:
            time.sleep(0.02)
        self.stop.set()

    def _run(self, url: str) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        with httpx.Client(timeout=10, headers=headers) as client:
            while not self.stop.is_set() and not self.until(self):
                try:
                    reply = client.post(url, json=self.body)
                except httpx.HTTPError as exc:
                    self.errors.append(type(exc).__name__)
                    time.sleep(0.05)
                    continue
                code = reply.json().get("error", {}).get("code") if reply.status_code != 200 else ""
                self.answers.append((reply.status_code, reply.headers["x-request-id"], code or ""))

    def ok(self) -> list[str]:
        """Request ids answered 200."""
        return [rid for status, rid, _ in self.answers if status == 200]

    def count(self, status: int) -> int:
        return sum(1 for s, _, _ in self.answers if s == status)


def ids_in_ledger(engine: sa.Engine, ids: list[str]) -> set[str]:
    """Which of ``ids`` the ledger database holds."""
    found: set[str] = set()
    with engine.connect() as conn:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            query = sa.text("select id from requests where id in :ids").bindparams(
                sa.bindparam("ids", expanding=True)
            )
            found.update(row[0] for row in conn.execute(query, {"ids": chunk}))
    return found


def wait_in_ledger(engine: sa.Engine, ids: list[str], timeout: float = 15) -> set[str]:
    """Poll until every id is in the ledger (or ``timeout``); the ids missing at the end."""
    deadline = time.monotonic() + timeout
    missing = set(ids)
    while missing:
        # a pooled connection from before a database restart fails once; the pool drops it
        with contextlib.suppress(sa.exc.OperationalError):
            missing -= ids_in_ledger(engine, sorted(missing))
        if not missing or time.monotonic() > deadline:
            return missing
        time.sleep(0.25)
    return missing
