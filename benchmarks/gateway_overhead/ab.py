"""Two or more versions of `yard serve` side by side: added p50 and added TTFT at c=1 (run.py's
latency rounds) and CPU per request at c=16, the versions called in turn, round by round, in
one run (run.py's placement: each gateway pinned to CPU 1, the fake upstream and the load
generator on CPU 0).

Each version is a source tree (a ``src/`` directory) put first on PYTHONPATH, e.g. an older
commit checked out with ``git worktree add /tmp/before <commit>``:

    .venv/bin/python benchmarks/gateway_overhead/ab.py before=/tmp/before/src after=src
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from contextlib import ExitStack
from pathlib import Path

import orjson
import uvloop
from loadgen import run_load
from run import (
    UPSTREAM,
    YARD,
    cpu_seconds,
    free_port,
    latency_rounds,
    process,
    wait_ready,
    yard_config,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("versions", nargs="+", help="NAME=SRC_DIR")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--requests", type=int, default=400, help="Per round, c=1")
    parser.add_argument("--streams", type=int, default=100, help="Per round, c=1, for TTFT")
    parser.add_argument("--cpu-requests", type=int, default=16000, help="Per round, c=16")
    parser.add_argument("--out", type=Path, help="Also write the figures here, as JSON")
    args = parser.parse_args()
    versions = dict(v.split("=", 1) for v in args.versions)
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        work, upstream = Path(tmp), free_port()
        mock = [*UPSTREAM, "--port", str(upstream)]
        stack.enter_context(process(mock, 0, {}, work / "mock.log"))
        ports, procs = {"direct": upstream}, {}
        for name, src in versions.items():
            port = ports[name] = free_port()
            env = {"YARD_HOME": str(work / f"home-{name}"), "PYTHONPATH": str(Path(src).resolve())}
            cmd = [str(YARD), "serve", "--config", str(yard_config(upstream, work)), "--port"]
            log = work / f"{name}.log"
            procs[name] = stack.enter_context(process([*cmd, str(port)], 1, env, log))
            wait_ready(port, procs[name])
        os.sched_setaffinity(0, {0})
        for port in ports.values():  # warm up
            uvloop.run(run_load(port, 1, 60, count=1000))
        latency = latency_rounds(ports, args.rounds, args.requests, stream=False)
        ttft = latency_rounds(ports, args.rounds, args.streams, stream=True)
        cpu: dict[str, list[float]] = {name: [] for name in versions}
        for _ in range(args.rounds):
            for name in versions:
                before = cpu_seconds(procs[name].pid)
                count = args.cpu_requests // 16
                sample = uvloop.run(run_load(ports[name], 16, 60, count=count))
                used = cpu_seconds(procs[name].pid) - before
                cpu[name].append(used / len(sample.latencies) * 1e6)
    direct, direct_ttft = latency["direct"]["p50_ms"], ttft["direct"]["p50_ms"]
    if args.out is not None:
        figures = {"versions": versions, "c1": latency, "ttft": ttft, "cpu_us_per_request": cpu,
                   "loadavg_after": os.getloadavg()}  # fmt: skip
        args.out.write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))
    print(f"load average {os.getloadavg()[0]:.1f}; direct p50 {direct:.3f} ms; medians of rounds")
    print("| version | added p50 ms, c=1 | added TTFT p50 ms | CPU µs/req, c=16 |")
    print("|---|--:|--:|--:|")
    for name in versions:
        added = latency[name]["p50_ms"] - direct
        added_ttft = ttft[name]["p50_ms"] - direct_ttft
        print(f"| {name} | {added:.3f} | {added_ttft:.3f} | {statistics.median(cpu[name]):.0f} |")


if __name__ == "__main__":
    main()
