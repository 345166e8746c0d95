"""How fast the one fake upstream answers, beside the fakes it replaced.

tests/serve/fault_upstream.py speaks HTTP/1.1 on its own asyncio protocol. This measures why:
each server runs as a process pinned to CPU 1 while the gateway benchmark's closed-loop load
generator (benchmarks/gateway_overhead/loadgen.py) drives it from CPU 0, for plain and streaming
chat completions (16 chunks, no pacing), in alternating rounds:

- ``fault_upstream`` (this project's fake, as the benchmarks run it);
- ``aiohttp``: the same answers from an aiohttp app, as the test fake was written before;
- ``mock_upstream``: the raw-protocol fake the gateway benchmark used before (read from git at
  4ba978b), the speed to keep.

    python benchmarks/fake_upstream/run.py [--seconds 5] [--rounds 3] [--concurrency 16]
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
import time
from pathlib import Path

import uvloop

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "benchmarks" / "gateway_overhead"))
from loadgen import run_load  # noqa: E402

AIOHTTP_APP = """
import sys
import orjson
from aiohttp import web

def chunk(text, finish):
    delta = {"content": text} if text is not None else {}
    return b"data: " + orjson.dumps({"object": "chat.completion.chunk", "choices": [
        {"index": 0, "delta": delta, "finish_reason": finish}]}) + b"\\n\\n"

async def handle(request):
    body = orjson.loads(await request.read())
    if not body.get("stream"):
        return web.json_response({"object": "chat.completion", "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hello"},
                         "finish_reason": "stop"}], "usage": {"prompt_tokens": 7,
                         "completion_tokens": 4}})
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    for i in range(16):
        await response.write(chunk(f"t{i} ", None))
    await response.write(chunk(None, "stop") + b"data: [DONE]\\n\\n")
    return response

app = web.Application()
app.router.add_post("/v1/chat/completions", handle)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""


def servers(folder: Path) -> dict[str, list[str]]:
    (folder / "aiohttp_app.py").write_text(AIOHTTP_APP)
    old = subprocess.run(
        ["git", "-C", str(ROOT), "show", "4ba978b:benchmarks/gateway_overhead/mock_upstream.py"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    (folder / "mock_upstream.py").write_text(old)
    fake = ROOT / "tests" / "serve" / "fault_upstream.py"
    return {
        "fault_upstream": [sys.executable, str(fake), "--chunks", "16", "--port"],
        "aiohttp": [sys.executable, str(folder / "aiohttp_app.py")],
        "mock_upstream": [sys.executable, str(folder / "mock_upstream.py"), "--gap-ms", "0",
                          "--port"],
    }  # fmt: skip


def measure(command: list[str], port: int, seconds: float, concurrency: int) -> dict[str, float]:
    server = subprocess.Popen(["taskset", "-c", "1", *command, str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        _wait_listening(port)
        os.sched_setaffinity(0, {0})
        out = {}
        for stream in (False, True):
            sample = uvloop.run(run_load(port, concurrency, seconds, stream))
            kind = "stream" if stream else "plain"
            out[f"{kind}_req_s"] = sample.rps
            out[f"{kind}_p50_ms"] = 1000 * statistics.median(sample.latencies)
            out[f"{kind}_errors"] = sample.errors
        return out
    finally:
        server.terminate()
        server.wait(10)


def _wait_listening(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    runs: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        commands = servers(Path(tmp))
        for round_ in range(args.rounds):
            for i, (name, command) in enumerate(commands.items()):
                port = 9400 + 10 * round_ + i
                runs.setdefault(name, []).append(
                    measure(command, port, args.seconds, args.concurrency)
                )
    medians = {
        name: {key: statistics.median(r[key] for r in rows) for key in rows[0]}
        for name, rows in runs.items()
    }
    print(f"{'server':<16}{'plain req/s':>12}{'p50 ms':>8}{'stream req/s':>14}{'p50 ms':>8}")
    for name, m in medians.items():
        print(f"{name:<16}{m['plain_req_s']:>12.0f}{m['plain_p50_ms']:>8.2f}"
              f"{m['stream_req_s']:>14.0f}{m['stream_p50_ms']:>8.2f}")  # fmt: skip
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{os.cpu_count()} CPUs, load {load:.1f} before",
        "args": vars(args),
        "medians": medians,
        "runs": runs,
    }
    out = HERE / "results" / "latest.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
