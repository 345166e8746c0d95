"""How much of a gateway's added latency is the machine: the same gateways on the load
generator's core and on a core of their own (c=1, 5 interleaved rounds of 400 requests).

The fake upstream and the load generator run on CPU 0, as in run.py. Each gateway runs twice:
pinned to CPU 1 (run.py's placement, every hop crosses cores) and to CPU 0 (no hop does).

    .venv/bin/python benchmarks/gateway_overhead/placement.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import uvloop
from loadgen import run_load
from run import HERE, UPSTREAM, YARD, free_port, process, wait_ready, yard_config

ROUNDS, REQUESTS = 5, 400


def relays(upstream: int, work: Path) -> dict[str, list[str]]:
    """Command per relay (the port goes last): none (a second fake upstream: on CPU 1, one
    round trip across cores and nothing else), the minimal one, the ASGI floor with modelyard's
    protocol and client, and `yard serve` as run.py runs it."""
    floor = [sys.executable, str(HERE / "floor_gateway.py"), "--http", "own", "--port"]
    yard = [str(YARD), "serve", "--config", str(yard_config(upstream, work)), "--port"]
    return {
        "fake upstream (no relay)": [*UPSTREAM, "--port"],
        "relay-floor": [sys.executable, str(HERE / "relay_floor.py")],
        "asgi-floor": floor,
        "yard serve": yard,
    }


def main() -> None:
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        work, upstream = Path(tmp), free_port()
        mock = [*UPSTREAM, "--port", str(upstream)]
        stack.enter_context(process(mock, 0, {}, work / "mock.log"))
        env = {"UPSTREAM": f"http://127.0.0.1:{upstream}/v1", "FLOOR_CLIENT": "own",
               "YARD_HOME": str(work / "home")}  # fmt: skip
        ports = {"direct": upstream}
        for name, cmd in relays(upstream, work).items():
            for cpu in (1, 0):
                port = ports[f"{name} on CPU {cpu}"] = free_port()
                log = work / f"{name}{cpu}.log"
                wait_ready(port, stack.enter_context(process([*cmd, str(port)], cpu, env, log)))
        os.sched_setaffinity(0, {0})
        p50s: dict[str, list[float]] = {name: [] for name in ports}
        for _ in range(ROUNDS):
            for name, port in ports.items():
                sample = uvloop.run(run_load(port, 1, 60, count=REQUESTS))
                p50s[name].append(statistics.median(sample.latencies) * 1e3)
    direct = statistics.median(p50s["direct"])
    print(f"load average {os.getloadavg()[0]:.1f}; p50 ms, added over direct:")
    for name, values in p50s.items():
        p50 = statistics.median(values)
        print(f"{name:34} {p50:.3f}  +{p50 - direct:.3f}")


if __name__ == "__main__":
    main()
