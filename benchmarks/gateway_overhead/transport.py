"""Which HTTP server should carry the gateway: the same app and config under `yard serve`'s own
protocol (uvicorn + serve/http_server.py), uvicorn's httptools protocol, and Granian, side by
side in one run, before one fast fake upstream (run.py's placement: the upstream and this load
generator on CPU 0, each gateway in turn on CPU 1, targets interleaved round by round).

Measures what run.py measures, for these targets only: added p50/p99 at concurrency 1, added
time to first token, the sustained rate (p99 ≤ bound) and the gateway's CPU per request.

    .venv/bin/pip install granian          # once; not a dependency of modelyard
    .venv/bin/python benchmarks/gateway_overhead/transport.py
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import orjson
import uvloop
from loadgen import run_load
from run import (
    HERE,
    UPSTREAM,
    YARD,
    cpu_model,
    free_port,
    latency_rounds,
    process,
    sweep,
    wait_ready,
    yard_config,
)

SERVERS = ("httptools", "granian")
"""Servers run by serve_with.py; `yard serve` itself is the third."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=400, help="Per round, c=1")
    parser.add_argument("--stream-requests", type=int, default=100, help="Per round, c=1")
    parser.add_argument("--sweep-seconds", type=float, default=3.0)
    parser.add_argument("--p99-bound-ms", type=float, default=50.0)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "transport.json")
    args = parser.parse_args()
    os.sched_setaffinity(0, {0})
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        results = run_all(args, Path(tmp), stack)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    print(report(results))


def run_all(args: argparse.Namespace, work: Path, stack: ExitStack) -> dict:
    upstream = free_port()
    mock = [*UPSTREAM, "--port", str(upstream)]
    stack.enter_context(process(mock, 0, {}, work / "mock.log"))
    config = yard_config(upstream, work)
    ports = {"direct": upstream, "yard serve (own protocol)": free_port()}
    yard = [
        str(YARD),
        "serve",
        "--config",
        str(config),
        "--port",
        str(ports["yard serve (own protocol)"]),
    ]
    procs = {
        "yard serve (own protocol)": stack.enter_context(
            process(yard, 1, {"YARD_HOME": str(work / "own")}, work / "own.log")
        )
    }
    for server in SERVERS:
        name = f"uvicorn {server}" if server == "httptools" else server
        ports[name] = free_port()
        cmd = [sys.executable, str(HERE / "serve_with.py"), "--server", server,
               "--port", str(ports[name])]  # fmt: skip
        env = {"YARD_GATEWAY_CONFIG": str(config), "YARD_HOME": str(work / server)}
        procs[name] = stack.enter_context(process(cmd, 1, env, work / f"{server}.log"))
    for name, proc in procs.items():
        wait_ready(ports[name], proc)
    for port in ports.values():
        uvloop.run(run_load(port, 4, 2))
    results = {
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "loadavg_before": os.getloadavg()},
        "args": {k: str(v) for k, v in vars(args).items()},
        "c1": latency_rounds(ports, args.rounds, args.requests, stream=False),
        "ttft": latency_rounds(ports, max(1, args.rounds // 2), args.stream_requests, stream=True),
        "sweep": {name: sweep(port, procs[name].pid if name in procs else None,
                              args.sweep_seconds, args.p99_bound_ms)
                  for name, port in ports.items()},
    }  # fmt: skip
    results["machine"]["loadavg_after"] = os.getloadavg()
    return results


def report(results: dict) -> str:
    c1, ttft, sw = results["c1"], results["ttft"], results["sweep"]
    base, base_ttft = c1["direct"], ttft["direct"]
    lines = [
        "| server | added p50 ms | added p99 ms | added TTFT p50 ms | req/s (p99 ≤ bound) "
        "| CPU µs/req |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for name in c1:
        if name == "direct":
            continue
        row, s = c1[name], sw[name]
        lines.append(
            f"| {name} | {row['p50_ms'] - base['p50_ms']:.3f} "
            f"| {row['p99_ms'] - base['p99_ms']:.3f} "
            f"| {ttft[name]['p50_ms'] - base_ttft['p50_ms']:.3f} | {s['sustained_rps']} "
            f"| {s['cpu_us_per_request'] or '—'} |"
        )
    machine = results["machine"]
    lines.append(f"\n{machine['cpu']}, load average {machine['loadavg_before'][0]:.1f} before, "
                 f"{machine['loadavg_after'][0]:.1f} after")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    main()
