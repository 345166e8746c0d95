"""Instructions `yard serve` executes per request at concurrency 1, counted by valgrind.

On this shared VM latency moves by 2× from one hour to the next; an instruction count does
not. Each version runs under callgrind (about 50× slower), takes 300 warm-up requests, then
its counters are zeroed, ``--requests`` requests are sent one at a time, and the counters are
dumped: user-space instructions of every thread of the gateway (the ledger's writer included)
divided by the requests. The kernel's share (system calls, TCP) is not counted. Needs
valgrind (``apt-get install valgrind``).

    .venv/bin/python benchmarks/gateway_overhead/instructions.py before=/tmp/before/src after=src

Each version is a source tree put first on PYTHONPATH, as for ab.py.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import uvloop
from loadgen import run_load
from run import UPSTREAM, YARD, free_port, process, wait_ready, yard_config

WARM_UP = 300
TOTAL = re.compile(r"^summary:\s+(\d+)", re.M)


def instructions_per_request(
    name: str, src: Path, requests: int, upstream: int, work: Path
) -> float:
    """Run one version under callgrind; its instructions per request."""
    out = work / f"callgrind-{name}"
    port = free_port()
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}.%p", str(YARD), "serve",
           "--config", str(yard_config(upstream, work)), "--port", str(port)]  # fmt: skip
    env = {"YARD_HOME": str(work / f"home-{name}"), "PYTHONPATH": str(src.resolve())}
    with process(cmd, 1, env, work / f"{name}.log") as gateway:
        wait_ready(port, gateway, timeout=900)
        uvloop.run(run_load(port, 1, 600, count=WARM_UP))
        subprocess.run(["callgrind_control", "--zero", str(gateway.pid)], check=True,
                       capture_output=True)  # fmt: skip
        uvloop.run(run_load(port, 1, 1800, count=requests))
        subprocess.run(["callgrind_control", "--dump", str(gateway.pid)], check=True,
                       capture_output=True)  # fmt: skip
        time.sleep(1)
        latest = max(work.glob(f"{out.name}.*"), key=lambda p: p.stat().st_mtime)
        return _summary(latest) / requests


def _summary(dump: Path) -> int:
    match = TOTAL.search(dump.read_text())
    if match is None:
        sys.exit(f"instructions.py: no summary line in {dump}")
    return int(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("versions", nargs="+", help="NAME=SRC_DIR")
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    versions = {name: Path(src) for name, src in (v.split("=", 1) for v in args.versions)}
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        work, upstream = Path(tmp), free_port()
        mock = [*UPSTREAM, "--port", str(upstream)]
        stack.enter_context(process(mock, 0, {}, work / "mock.log"))
        counts = {
            name: instructions_per_request(name, src, args.requests, upstream, work)
            for name, src in versions.items()
        }
    print(f"{args.requests} requests at c=1 after {WARM_UP} to warm up")
    print("| version | instructions per request |\n|---|--:|")
    for name, count in counts.items():
        print(f"| {name} | {count:,.0f} |")


if __name__ == "__main__":
    main()
