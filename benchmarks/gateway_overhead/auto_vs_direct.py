"""Latency `model: "auto"` adds over naming the model directly, with run.py's harness.

Two `yard serve` processes (one at a time under load, both pinned to CPU 1) in front of the same
fake upstream (CPU 0): one serves the upstream as `m`; the other serves it as `direct` and routes
`m` through `auto` (one candidate, policy rule, no router file), so the load generator's fixed
request hits each path. Interleaved rounds at concurrency 1; median over rounds.

    .venv/bin/python benchmarks/gateway_overhead/auto_vs_direct.py [--rounds 5 --requests 400]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from contextlib import ExitStack
from pathlib import Path

import uvloop
from loadgen import run_load
from run import UPSTREAM, YARD, free_port, pct, process, wait_ready


def config(upstream: int, work: Path, routed: bool) -> Path:
    """A gateway config serving the fake upstream as `m`, directly or through `auto`."""
    name = "direct" if routed else "m"
    auto = "auto:\n  name: m\n  candidates: [direct]\n" if routed else ""
    path = work / f"{name}.yaml"
    path.write_text(
        "server:\n  admin_key: sk-bench\n"
        f"backends:\n  - name: mock\n    base_url: http://127.0.0.1:{upstream}/v1\n"
        f"models:\n  {name}: [mock]\n{auto}"
    )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    os.sched_setaffinity(0, {0})
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        work = Path(tmp)
        upstream = free_port()
        mock = [*UPSTREAM, "--port", str(upstream)]
        stack.enter_context(process(mock, 0, {}, work / "mock.log"))
        ports = {}
        for target, routed in (("direct", False), ("auto", True)):
            ports[target] = free_port()
            cmd = [str(YARD), "serve", "--config", str(config(upstream, work, routed)),
                   "--port", str(ports[target])]  # fmt: skip
            env = {"YARD_HOME": str(work / target)}
            proc = stack.enter_context(process(cmd, 1, env, work / f"{target}.log"))
            wait_ready(ports[target], proc)
            uvloop.run(run_load(ports[target], 4, 2))
        rows: dict[str, list[tuple[float, float]]] = {t: [] for t in ports}
        for _ in range(args.rounds):
            for target, port in ports.items():
                sample = uvloop.run(run_load(port, 1, 600, count=args.requests))
                assert not sample.errors, f"{target}: {sample.errors} errors"
                rows[target].append((pct(sample.latencies, 0.5), pct(sample.latencies, 0.99)))
    p50 = {t: statistics.median(r[0] for r in v) for t, v in rows.items()}
    p99 = {t: statistics.median(r[1] for r in v) for t, v in rows.items()}
    print(f"load average {os.getloadavg()[0]:.1f}")
    for target in ports:
        print(f"{target:7} p50 {p50[target]:.3f} ms  p99 {p99[target]:.3f} ms")
    print(f"auto adds p50 {p50['auto'] - p50['direct']:+.3f} ms, "
          f"p99 {p99['auto'] - p99['direct']:+.3f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
