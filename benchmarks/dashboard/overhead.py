"""Does the dashboard cost proxied requests anything? Three gateways side by side, in one run:

- ``before``: `yard serve` from a checkout without the dashboard (``--before``, e.g. the main
  branch's), its ledger without the rollup triggers and search indexes;
- ``after``: this checkout's `yard serve`, fresh ledger, nobody looking at the dashboard;
- ``after, watched``: this checkout on a million-row ledger (``--home``, see run.py), with a
  client polling /admin/stats every 2 s as an open dashboard page does.

Placement as benchmarks/gateway_overhead (2 cores): the fake upstream and this load generator on
CPU 0, each gateway on CPU 1. Interleaved rounds at concurrency 1 give the added latency over
the direct call (p50, p99: median over rounds); closed loops at concurrency 16, in rounds too, give
the rate and the gateway's CPU per request.

    python benchmarks/dashboard/overhead.py --before /work/main [--rounds 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import orjson
import uvloop

HERE = Path(__file__).resolve().parent
OVERHEAD = HERE.parent / "gateway_overhead"
sys.path.insert(0, str(OVERHEAD))
from loadgen import run_load  # noqa: E402
from run import cpu_seconds, free_port, pct, process, wait_ready, yard_config  # noqa: E402

ROOT = HERE.parents[1]


def poll(url: str, stop: threading.Event, every_s: float, seen: list[float]) -> None:
    """What an open dashboard does: log in, then GET /admin/stats every ``every_s``."""
    with httpx.Client(base_url=url, timeout=30) as client:
        client.post("/admin/session", json={"admin_key": "sk-bench"}).raise_for_status()
        while not stop.wait(every_s):
            t0 = time.perf_counter()
            client.get("/admin/stats").raise_for_status()
            seen.append((time.perf_counter() - t0) * 1000)


def rounds(ports: dict[str, int], count: int, rounds_: int) -> dict[str, dict[str, float]]:
    per: dict[str, list[tuple[float, float]]] = {name: [] for name in ports}
    for _ in range(rounds_):
        for name, port in ports.items():
            sample = uvloop.run(run_load(port, 1, 600, count=count))
            per[name].append((pct(sample.latencies, 0.5), pct(sample.latencies, 0.99)))
    return {
        name: {
            "p50_ms": statistics.median(r[0] for r in rows),
            "p99_ms": statistics.median(r[1] for r in rows),
        }
        for name, rows in per.items()
    }


def loaded(
    ports: dict[str, int], pids: dict[str, int], seconds: float, rounds_: int
) -> dict[str, dict]:
    """Concurrency 16 in interleaved rounds: median rate, p99 and gateway CPU per request."""
    per: dict[str, list[tuple[float, float, float]]] = {name: [] for name in ports}
    for _ in range(rounds_):
        for name, port in ports.items():
            pid = pids.get(name)
            before = cpu_seconds(pid) if pid else 0.0
            sample = uvloop.run(run_load(port, 16, seconds))
            used = cpu_seconds(pid) - before if pid else 0.0
            cpu = used / len(sample.latencies) * 1e6 if pid and sample.latencies else 0.0
            per[name].append((sample.rps, pct(sample.latencies, 0.99), cpu))
    return {
        name: {
            "rps": round(statistics.median(r[0] for r in rows)),
            "p99_ms": round(statistics.median(r[1] for r in rows), 3),
            "cpu_us_per_request": round(statistics.median(r[2] for r in rows)),
        }
        for name, rows in per.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", type=Path, required=True, help="Checkout without the dashboard")
    parser.add_argument("--home", type=Path, default=Path("/tmp/yard-dashboard-1m"))
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "overhead.json")
    args = parser.parse_args()
    os.sched_setaffinity(0, {0})
    stop, polled = threading.Event(), []
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        work = Path(tmp)
        upstream = free_port()
        mock = [sys.executable, str(OVERHEAD / "mock_upstream.py"), "--port", str(upstream)]
        stack.enter_context(process(mock, 0, {}, work / "mock.log"))
        config = yard_config(upstream, work)
        gateways = {
            "before": (args.before / ".venv" / "bin" / "yard", work / "home-before"),
            "after": (ROOT / ".venv" / "bin" / "yard", work / "home-after"),
            "after, watched": (ROOT / ".venv" / "bin" / "yard", args.home),
        }
        ports, pids = {"direct": upstream}, {}
        for name, (yard, home) in gateways.items():
            ports[name] = free_port()
            cmd = [str(yard), "serve", "--config", str(config), "--port", str(ports[name])]
            proc = stack.enter_context(
                process(cmd, 1, {"YARD_HOME": str(home)}, work / f"{name}.log")
            )
            wait_ready(ports[name], proc)
            pids[name] = proc.pid
        watcher = threading.Thread(
            target=poll,
            daemon=True,
            args=(f"http://127.0.0.1:{ports['after, watched']}", stop, 2.0, polled),
        )
        watcher.start()
        for port in ports.values():
            uvloop.run(run_load(port, 4, 2))
        results = {
            "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "loadavg_before": os.getloadavg(),
            "c1": rounds(ports, args.requests, args.rounds),
            "c16": loaded(ports, pids, args.seconds, max(1, args.rounds // 2)),
        }
        stop.set()
        watcher.join(10)
    direct = results["c1"].pop("direct")
    for row in results["c1"].values():
        row["added_p50_ms"] = round(row["p50_ms"] - direct["p50_ms"], 3)
        row["added_p99_ms"] = round(row["p99_ms"] - direct["p99_ms"], 3)
    results["c1"]["direct"] = direct
    results["dashboard_polls"] = {
        "count": len(polled),
        "median_ms": statistics.median(polled) if polled else None,
    }
    results["loadavg_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    print(orjson.dumps(results, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
