"""Gateway throughput with 1 vs N worker processes (`yard serve --workers N`), same upstream.

Nothing is pinned: on a 2-core machine the fake upstream, this load generator and the gateway's
workers share both cores, so the figure is what a second worker adds when the gateway is not the
only busy process (a lower bound on a machine where the gateway has the cores to itself).
Targets are interleaved round by round; each round is a closed loop at each concurrency.

    .venv/bin/python benchmarks/gateway_overhead/workers.py --workers 1 2
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
from run import HERE, UPSTREAM, YARD, free_port, pct, process, wait_ready, yard_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="Counts to compare")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--seconds", type=float, default=4.0, help="Per round and level")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "workers.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        results = measure(args, Path(tmp), stack)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(
        orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)
    )
    for name, levels in results["targets"].items():
        row = ", ".join(f"c{c}: {v['rps']} req/s (p99 {v['p99_ms']:.1f} ms)"
                        for c, v in levels.items())  # fmt: skip
        print(f"{name}: {row}")


def measure(args: argparse.Namespace, work: Path, stack: ExitStack) -> dict:
    cpus = ",".join(str(c) for c in sorted(os.sched_getaffinity(0)))
    upstream = free_port()
    mock = [*UPSTREAM, "--port", str(upstream)]
    stack.enter_context(process(mock, cpus, {}, work / "mock.log"))  # type: ignore[arg-type]
    ports = {}
    for count in args.workers:
        port = ports[f"{count} worker(s)"] = free_port()
        cmd = [str(YARD), "serve", "--config", str(yard_config(upstream, work)),
               "--port", str(port), "--workers", str(count)]  # fmt: skip
        env = {"YARD_HOME": str(work / f"home{count}")}
        proc = stack.enter_context(process(cmd, cpus, env, work / f"yard{count}.log"))  # type: ignore[arg-type]
        wait_ready(port, proc)
        uvloop.run(run_load(port, 8, 2))
    rounds: dict = {name: {c: [] for c in args.concurrency} for name in ports}
    for _ in range(args.rounds):
        for name, port in ports.items():
            for conc in args.concurrency:
                sample = uvloop.run(run_load(port, conc, args.seconds))
                rounds[name][conc].append((sample.rps, pct(sample.latencies, 0.99), sample.errors))
    targets = {name: {c: {"rps": round(statistics.median(r[0] for r in rows)),
                          "p99_ms": statistics.median(r[1] for r in rows),
                          "errors": sum(r[2] for r in rows),
                          "rounds_rps": [round(r[0]) for r in rows]}
                      for c, rows in levels.items()}
               for name, levels in rounds.items()}  # fmt: skip
    return {"cores": os.cpu_count(), "loadavg": os.getloadavg(), "args": vars(args) | {"out": ""},
            "targets": targets}  # fmt: skip


if __name__ == "__main__":
    main()
