"""`/health` latency while the gateway scans hostile bodies: large bodies scanned in worker
processes (``privacy.scan_processes: 2``, the default) against in a thread of the gateway's own
process (``scan_processes: 0``), and optionally an earlier commit, side by side, interleaved.

    python benchmarks/privacy/health_during_scan.py [--seconds 15] [--rounds 2]
        [--before DIR] [--out results/health.json]

Starts a fake upstream that answers at once and one `yard serve` (one worker) per setting,
each in its own process; ``--before DIR`` adds one running ``DIR/src`` (e.g. ``git archive``
of an earlier commit) with its own privacy defaults. Each round first times ordinary
requests, one at a time, alternating between the gateways request by request: 2 kB (scanned
inline) and 100 kB (scanned off the event loop) bodies of real prompts to the remote model.
Then, for ``--seconds`` per gateway in turn (the order flips every round), it polls
``GET /health`` every 20 ms: with nothing else running (quiet), then while two client threads
keep posting hostile bodies (``"1 " * N``, the input that makes the identifier pass work
hardest): 1 MB to a model named directly (the scan is the only work on the body), 1 MB to
`auto` (the router reads it too), and 16 kB (under ``offload_chars``: scanned on the event
loop until its inline slice is spent) to the named model. (A model whose backends are all
self-hosted is not scanned: nothing can leave.) Reports p50/p99/max of /health, of the hostile
requests and of the ordinary ones, the memory of each gateway and of its scan workers, and the
2 kB scan alone (in this process: the inline path).
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
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx
import yaml

HERE = Path(__file__).parent
SHARED = HERE.parents[2] / "shared" / "data"
HOSTILE = {"1 MB": "1 " * 500_000, "16 kB": "1 " * 7_900}
"""The input that makes the identifier pass work hardest: 1 MB, and just under
``offload_chars`` (scanned on the event loop until its inline slice is spent)."""
TARGETS = (("remote", "1 MB"), ("auto", "1 MB"), ("remote", "16 kB"))
"""A remote model named directly (the scan is the only work on the body; a body it cannot
read in its budget is refused, 400) and `auto` (the router reads it too, and sends it home)."""
ORDINARY = {"2 kB": 2_000, "100 kB": 100_000}
ORDINARY_REPS = {"2 kB": 200, "100 kB": 30}


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

SETTINGS = {"thread": 0, "processes": 2}
"""``privacy.scan_processes`` of each gateway."""


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


def start_upstream() -> tuple[subprocess.Popen[bytes], int]:
    up = free_port()
    upstream = subprocess.Popen([sys.executable, "-c", UPSTREAM, str(up)])
    wait_for(up)
    return upstream, up


def start_gateway(
    home: Path, up: int, processes: int | None, source: Path | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """`yard serve` in its own process: the gateway's event loop shares its interpreter with
    nothing of the benchmark's. ``source``: another checkout's ``src`` to run (its own
    privacy defaults: ``processes`` None)."""
    port = free_port()
    config = {
        "server": {"max_body_bytes": 4 << 20},
        "backends": [{"name": "home", "base_url": f"http://127.0.0.1:{up}/v1",
                      "self_hosted": True},
                     {"name": "api", "base_url": f"http://127.0.0.1:{up}/v1", "api_key": "k"}],
        "models": {"local": ["home"], "remote": ["api"]},
        "auto": {"candidates": ["local", "remote"]},
    }  # fmt: skip
    if processes is not None:
        config["privacy"] = {"scan_processes": processes}
    home.mkdir(parents=True, exist_ok=True)
    path = home / "gateway.yaml"
    path.write_text(yaml.safe_dump(config))
    yard = str(Path(sys.executable).parent / "yard")
    env = {**os.environ, "YARD_HOME": str(home)}
    if source is not None:
        env["PYTHONPATH"] = str(source)  # ahead of the editable install's path
    gateway = subprocess.Popen([yard, "serve", "-c", str(path), "-p", str(port)], env=env)
    wait_for(port)
    return gateway, port


def memory_mb(pid: int) -> dict[str, float]:
    """Resident, proportional (shared pages split among their users) and private memory."""
    fields = {"Rss": "rss_mb", "Pss": "pss_mb", "Private_Clean": "private_mb",
              "Private_Dirty": "private_mb"}  # fmt: skip
    out = dict.fromkeys(fields.values(), 0.0)
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, value = line.partition(":")
        if name in fields:
            out[fields[name]] += int(value.split()[0]) / 1024
    return {k: round(v, 1) for k, v in out.items()}


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def memory(pid: int) -> dict[str, Any]:
    """The gateway's memory and its scan workers' (each, and their sum)."""
    workers = [memory_mb(c) for c in children(pid)]
    total = {k: round(sum(w[k] for w in workers), 1) for k in ("rss_mb", "pss_mb", "private_mb")}
    return {"gateway": memory_mb(pid), "scan_workers": len(workers),
            "each_worker": workers, "workers_total": total}  # fmt: skip


def scan_2kb(text: str, reps: int = 2000) -> dict[str, Any]:
    """The inline path, alone: ``Scanner.scan_body`` on a 2 kB body of real prompts."""
    from modelyard.privacy import Scanner

    scanner = Scanner()
    content = (text * (2_000 // len(text) + 1))[:2_000]
    body: dict[str, Any] = {"model": "remote", "messages": [{"role": "user", "content": content}]}
    times = []
    for i in range(reps):
        body["messages"][0]["content"] = content[i % 100 :] + content[: i % 100]
        t0 = time.perf_counter()
        scanner.scan_body(body)
        times.append((time.perf_counter() - t0) * 1000)
    return summary(times)


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


def load(url: str, model: str, content: str, stop: threading.Event, scans: list[float]) -> None:
    body = {"model": model, "messages": [{"role": "user", "content": content}]}
    payload = json.dumps(body).encode()
    with httpx.Client(timeout=60) as client:
        while not stop.is_set():
            t0 = time.perf_counter()
            reply = client.post(url, content=payload, headers={"content-type": "application/json"})
            scans.append((time.perf_counter() - t0) * 1000)
            assert reply.status_code in (200, 400), reply.text


def busy(base: str, model: str, content: str, seconds: float) -> tuple[list[float], list[float]]:
    """/health while two clients keep posting the adversarial ``content`` to ``model``."""
    stop, scans = threading.Event(), list[float]()
    url = base + "/v1/chat/completions"
    args = (url, model, content, stop, scans)
    workers = [threading.Thread(target=load, args=args) for _ in range(2)]
    for w in workers:
        w.start()
    health = poll(base + "/health", seconds)
    stop.set()
    for w in workers:
        w.join(120)
    return health, scans


def prompts_text() -> str:
    path = SHARED / "evals" / "arena_hard_v0.1" / "question.jsonl"
    if not path.is_file():
        return "What is the capital of France? " * 100
    return "\n\n".join(json.loads(line)["prompt"] for line in path.read_text().splitlines())


def ordinary(bases: dict[str, str], size: int, reps: int, text: str) -> dict[str, list[float]]:
    """One request at a time with a ``size``-character body of real prompts, to each gateway
    in turn, request by request; the times, and "status N" counts as samples' lengths."""
    content = (text * (size // len(text) + 1))[:size]
    payload = json.dumps({"model": "remote", "messages": [{"role": "user", "content": content}]})
    got: dict[str, list[float]] = defaultdict(list)
    statuses: Counter[tuple[str, int]] = Counter()
    with httpx.Client(timeout=30) as client:
        for _ in range(reps):
            for name, base in bases.items():
                t0 = time.perf_counter()
                reply = client.post(
                    base + "/v1/chat/completions",
                    content=payload.encode(),
                    headers={"content-type": "application/json"},
                )
                got[name].append((time.perf_counter() - t0) * 1000)
                assert reply.status_code in (200, 400), reply.text
                statuses[name, reply.status_code] += 1
    for (name, status), count in sorted(statuses.items()):
        print(f"  {name}: {count} x {status}", file=sys.stderr)
    return got


def summary(times: list[float]) -> dict[str, Any]:
    times = sorted(times)
    return {"n": len(times), "p50_ms": round(statistics.median(times), 2),
            "p99_ms": round(times[min(len(times) - 1, int(0.99 * len(times)))], 2),
            "max_ms": round(times[-1], 2)}  # fmt: skip


def run(bases: dict[str, str], seconds: float, rounds: int) -> dict[str, Any]:
    """Every phase, ``rounds`` times: /health phases for each gateway in turn (which goes
    first alternates by round), ordinary requests alternating request by request; samples
    pooled per gateway."""
    samples: dict[str, dict[str, list[float]]] = {name: defaultdict(list) for name in bases}
    text = prompts_text()
    ordinary(bases, ORDINARY["100 kB"], 1, text)  # the scan workers start on a large body
    for r in range(rounds):
        for phase, size in ORDINARY.items():
            print(f"round {r + 1}/{rounds}: {phase} requests", file=sys.stderr, flush=True)
            for name, times in ordinary(bases, size, ORDINARY_REPS[phase], text).items():
                samples[name][f"{phase} requests"] += times
        for target in (None, *TARGETS):  # None: quiet
            for name, base in sorted(bases.items(), reverse=r % 2 == 1):
                what = "quiet" if target is None else ", ".join(target)
                print(f"round {r + 1}/{rounds}: {what} on {name}", file=sys.stderr, flush=True)
                if target is None:
                    samples[name]["health_quiet"] += poll(base + "/health", seconds)
                    continue
                health, scans = busy(base, target[0], HOSTILE[target[1]], seconds)
                samples[name][f"{what}: health"] += health
                samples[name][f"{what}: adversarial requests"] += scans
    return {name: {k: summary(v) for k, v in got.items()} for name, got in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15, help="per phase, gateway, round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--before", type=Path, help="a checkout of an earlier commit: a third gateway runs it"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results" / "health.json")
    args = parser.parse_args()
    processes = []
    with tempfile.TemporaryDirectory() as home:
        try:
            upstream, up = start_upstream()
            processes.append(upstream)
            bases, pids = {}, {}
            gateways: dict[str, tuple[int | None, Path | None]] = {
                name: (count, None) for name, count in SETTINGS.items()
            }
            if args.before is not None:
                gateways["before"] = (None, args.before.resolve() / "src")
            for name, (count, source) in gateways.items():
                gateway, port = start_gateway(Path(home) / name, up, count, source)
                processes.append(gateway)
                bases[name], pids[name] = f"http://127.0.0.1:{port}", gateway.pid
            result: dict[str, Any] = {
                "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "machine": {"cpus": os.cpu_count(), "loadavg_at_start": os.getloadavg()},
                "scan_2kB_in_process": scan_2kb(prompts_text()),
                **run(bases, args.seconds, args.rounds),
            }
            result["machine"]["loadavg_at_end"] = os.getloadavg()
            for name, pid in pids.items():
                result[name]["memory"] = memory(pid)
        finally:
            for proc in processes:
                proc.terminate()
                proc.wait(30)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
