"""`/health` latency while the gateway scans 1 MB adversarial bodies, against a quiet baseline.

    python benchmarks/privacy/health_during_scan.py [--seconds 20] [--out results/health.json]

Starts `yard serve` (one worker) with a fake upstream that answers at once, then, for
``--seconds`` each: polls ``GET /health`` every 20 ms with nothing else running (baseline), and
again while two client threads keep posting 1 MB adversarial bodies (``"1 " * 500_000``, the
input that makes the identifier pass work hardest) to `auto`. Reports p50/p99/max of /health and
the scans' own durations as the ledger would see them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import yaml
from aiohttp import web

HERE = Path(__file__).parent
BODY = {"model": "auto", "messages": [{"role": "user", "content": "1 " * 500_000}]}


def upstream(port: int) -> threading.Thread:
    async def answer(request: web.Request) -> web.Response:
        await request.read()
        message = {"role": "assistant", "content": "ok"}
        return web.json_response({"id": "x", "object": "chat.completion", "model": "m",
                                  "choices": [{"index": 0, "message": message,
                                               "finish_reason": "stop"}]})  # fmt: skip

    app = web.Application(client_max_size=8 << 20)
    app.router.add_post("/v1/chat/completions", answer)
    thread = threading.Thread(target=web.run_app, kwargs={
        "app": app, "host": "127.0.0.1", "port": port, "print": None,
        "handle_signals": False}, daemon=True)  # fmt: skip
    thread.start()
    return thread


def gateway(home: Path, up: int, port: int) -> uvicorn.Server:
    from modelyard.serve.app import create_app
    from modelyard.serve.config import load_config

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
    app = create_app(load_config(path), home)
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning", lifespan="on"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server


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


def load(url: str, stop: threading.Event, scans: list[float]) -> None:
    payload = json.dumps(BODY).encode()
    with httpx.Client(timeout=60) as client:
        while not stop.is_set():
            t0 = time.perf_counter()
            reply = client.post(url, content=payload, headers={"content-type": "application/json"})
            scans.append((time.perf_counter() - t0) * 1000)
            assert reply.status_code == 200, reply.text


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
    up, port = 18_765, 18_766
    upstream(up)
    with tempfile.TemporaryDirectory() as home:
        server = gateway(Path(home), up, port)
        base = f"http://127.0.0.1:{port}"
        quiet = poll(base + "/health", args.seconds)
        stop, scans = threading.Event(), []
        workers = [threading.Thread(target=load, args=(base + "/v1/chat/completions", stop, scans))
                   for _ in range(2)]  # fmt: skip
        for w in workers:
            w.start()
        busy = poll(base + "/health", args.seconds)
        stop.set()
        for w in workers:
            w.join(120)
        server.should_exit = True
    result = {"health_quiet": summary(quiet), "health_while_scanning_1MB": summary(busy),
              "adversarial_1MB_requests": summary(scans)}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
