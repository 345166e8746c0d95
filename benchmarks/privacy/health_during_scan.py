"""`/health` latency while the gateway scans 1 MB adversarial bodies, against a quiet baseline.

    python benchmarks/privacy/health_during_scan.py [--seconds 20] [--out results/health.json]

Starts `yard serve` (one worker) and a fake upstream that answers at once, each in its own
process. For ``--seconds`` each, it polls ``GET /health`` every 20 ms: with nothing else
running (baseline), then while two client threads keep posting 1 MB adversarial bodies
(``"1 " * 500_000``, the input that makes the identifier pass work hardest), first to a model
named directly (the scan is the only work on the body), then to `auto` (the router reads it
too). (A model whose backends are all self-hosted is not scanned: nothing can leave.) Reports
p50/p99/max of /health and of the adversarial requests.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

HERE = Path(__file__).parent
ADVERSARIAL = "1 " * 500_000
TARGETS = ("remote", "auto")
"""A remote model named directly (the scan is the only work on the body; a body it cannot
read in its budget is refused, 400) and `auto` (the router reads it too, and sends it home)."""


UPSTREAM = """
import sys
from aiohttp import web

async def answer(request):
    await request.read()
    message = {"role": "assistant", "content": "ok"}
    choice = {"index": 0, "message": message, "finish_reason": "stop"}
    return web.json_response({"id": "x", "object": "chat.completion", "model": "m",
                              "choices": [choice]})

app = web.Application(client_max_size=8 << 20)
app.router.add_post("/v1/chat/completions", answer)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""
"""A fake upstream that answers at once, in its own process."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def start(home: Path) -> tuple[list[subprocess.Popen[bytes]], int]:
    """The fake upstream and `yard serve`, each in its own process: the gateway's event loop
    shares its interpreter with nothing of the benchmark's."""
    up, port = free_port(), free_port()
    upstream = subprocess.Popen([sys.executable, "-c", UPSTREAM, str(up)])
    config = {
        "server": {"max_body_bytes": 4 << 20},
        "backends": [{"name": "home", "base_url": f"http://127.0.0.1:{up}/v1",
                      "self_hosted": True},
                     {"name": "api", "base_url": f"http://127.0.0.1:{up}/v1", "api_key": "k"}],
        "models": {"local": ["home"], "remote": ["api"]},
        "auto": {"candidates": ["local", "remote"]},
    }  # fmt: skip
    path = home / "gateway.yaml"
    path.write_text(yaml.safe_dump(config))
    yard = str(Path(sys.executable).parent / "yard")
    env = {**os.environ, "YARD_HOME": str(home)}
    gateway = subprocess.Popen([yard, "serve", "-c", str(path), "-p", str(port)], env=env)
    wait_for(up)
    wait_for(port)
    return [gateway, upstream], port


def poll(url: str, seconds: float) -> list[float]:
    times = []
    with httpx.Client(timeout=10) as client:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            t0 = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.02)
    return times


def load(url: str, model: str, stop: threading.Event, scans: list[float]) -> None:
    body = {"model": model, "messages": [{"role": "user", "content": ADVERSARIAL}]}
    payload = json.dumps(body).encode()
    with httpx.Client(timeout=60) as client:
        while not stop.is_set():
            t0 = time.perf_counter()
            reply = client.post(url, content=payload, headers={"content-type": "application/json"})
            scans.append((time.perf_counter() - t0) * 1000)
            assert reply.status_code in (200, 400), reply.text


def busy(base: str, model: str, seconds: float) -> dict[str, Any]:
    """/health while two clients keep posting the adversarial body to ``model``."""
    stop, scans = threading.Event(), []
    url = base + "/v1/chat/completions"
    workers = [threading.Thread(target=load, args=(url, model, stop, scans)) for _ in range(2)]
    for w in workers:
        w.start()
    health = poll(base + "/health", seconds)
    stop.set()
    for w in workers:
        w.join(120)
    return {"health": summary(health), "adversarial_1MB_requests": summary(scans)}


def summary(times: list[float]) -> dict[str, Any]:
    times = sorted(times)
    return {"n": len(times), "p50_ms": round(statistics.median(times), 2),
            "p99_ms": round(times[min(len(times) - 1, int(0.99 * len(times)))], 2),
            "max_ms": round(times[-1], 2)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "health.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        processes, port = start(Path(home))
        base = f"http://127.0.0.1:{port}"
        try:
            result = {"health_quiet": summary(poll(base + "/health", args.seconds))}
            for model in TARGETS:
                result[model] = busy(base, model, args.seconds)
        finally:
            for proc in processes:
                proc.terminate()
                proc.wait(30)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
