"""Processes for the soak: the fault upstream and `yard serve` replicas on shared PG + Redis."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
UPSTREAM = HERE.parents[1] / "tests" / "serve" / "fault_upstream.py"
YARD = Path(sys.executable).parent / "yard"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 60) -> float:
    """Seconds until ``url`` answers anything below 500."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return time.monotonic() - t0
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up in {timeout}s")


def start_upstream(log: Path, *fault_args: str) -> tuple[subprocess.Popen, str]:
    """The fault upstream on a free port: (process, base URL)."""
    port = free_port()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, str(UPSTREAM), "--port", str(port), *fault_args],
            stdout=out, stderr=out,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    t0 = time.monotonic()
    while time.monotonic() - t0 < 20:
        try:
            httpx.post(url + "/chat/completions", json={}, timeout=1)
            return proc, url
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError("fault upstream did not start")


def gateway_yaml(upstream: str, ledger_url: str, redis_url: str | None, prefix: str) -> str:
    """One priced backend as model `m`; the ledger in PostgreSQL; state in Redis unless None."""
    state = f"state: {{redis_url: '{redis_url}', prefix: '{prefix}'}}\n" if redis_url else ""
    return (
        f"server: {{ledger_url: '{ledger_url}'}}\n" + state + "backends:\n"
        f"  - {{name: a, base_url: '{upstream}', price: openai/gpt-4o, max_retries: 2,\n"
        "     retry_backoff_s: 0.01, breaker: {failures: 50, cooldown_s: 1}}\n"
        "models: {m: [a]}\n"
    )


class Replicas:
    """``count`` `yard serve` processes on one config file, each with its own YARD_HOME."""

    def __init__(self, root: Path, config: str, count: int) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.config = root / "gateway.yaml"
        self.config.write_text(config)
        self.ports = [free_port() for _ in range(count)]
        self.procs: list[subprocess.Popen] = []

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{p}/v1/chat/completions" for p in self.ports]

    def start(self, i: int) -> float:
        """Start replica ``i``; seconds until it answers /health."""
        with (self.root / f"replica{i}.log").open("ab") as log:
            proc = subprocess.Popen(
                [str(YARD), "serve", "--config", str(self.config), "--port", str(self.ports[i])],
                env={**os.environ, "YARD_HOME": str(self.root / f"home{i}")},
                stdout=log, stderr=log,
            )  # fmt: skip
        if i < len(self.procs):
            self.procs[i] = proc
        else:
            self.procs.append(proc)
        return wait_http(f"http://127.0.0.1:{self.ports[i]}/health")

    def __enter__(self) -> Replicas:
        for i in range(len(self.ports)):
            self.start(i)
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            proc.wait(60)

    def kill(self, i: int) -> None:
        self.procs[i].send_signal(signal.SIGKILL)
        self.procs[i].wait(10)

    def rss_mib(self) -> list[float]:
        """Resident memory of each replica, MiB."""
        return [_rss_kib(p.pid) / 1024 for p in self.procs]


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def services(action: str, name: str) -> None:
    """Stop or start PostgreSQL or Redis through scripts/services.sh."""
    script = HERE.parents[1] / "scripts" / "services.sh"
    subprocess.run([str(script), action, name], check=True, stdout=subprocess.DEVNULL)
