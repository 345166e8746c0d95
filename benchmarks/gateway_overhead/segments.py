"""Where one request's time goes inside `yard serve` at concurrency 1: timestamps at fixed points
of the request path, as run.py places the processes (gateway alone on CPU 1).

The probes are written into a temporary copy of ``src/`` (the installed package is not
touched), each appending (name, perf_counter_ns) to a list that the server protocol writes out.
A probe whose anchor line has moved makes the script stop with that anchor, not measure less.
SIGUSR1 makes the probed server write its probes to a file.

    .venv/bin/python benchmarks/gateway_overhead/segments.py [--requests 12000]

Prints p50 and p90 of each segment between consecutive probes, in µs. ``in``: the request's
bytes arrive; ``out``: the answer's last write leaves; ``up``/``back``: the upstream request is
written / its answer arrives. A probe costs about 0.3 µs in a tight loop.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import signal
import sys
import tempfile
from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path

import uvloop
from loadgen import run_load
from run import ROOT, UPSTREAM, YARD, free_port, process, wait_ready, yard_config

PROBES = [
    # (file under modelyard/serve, text of the line the probe goes before, probe name)
    ("http_server.py", "self.parser.feed_data(data)", "in"),
    ("middleware/errors.py", "rid = scope[SCOPE_KEY] = new_id()", "middleware"),
    ("middleware/origin.py", "host = origin = site = preflight = None", "origin"),
    ("app.py", 'path = scope["path"]', "core"),
    ("call.py", "request, chain = self._admit(await read_body(receive))", "call"),
    ("call.py", "async with DisconnectWatch(self.scope, receive):", "admitted"),
    ("proxy.py", "body = request.body_for(backend)", "open_upstream"),
    ("upstream_http.py", "conn.send(request)", "up"),
    ("upstream_http.py", "if self.complete or self.error is not None:", "back"),
    ("proxy.py", "status = response.status", "read"),
    ("call.py", 'backend = [(b"x-yard-backend", upstream.backend.name.encode())', "respond"),
    ("call.py", "await send_bytes(send, status, body, [JSON, *backend])", "send"),
    ("http_server.py", "self.state.total_requests += 1", "out"),
]
PROBE = "_yard_probe({probe!r})"
"""A probe: a builtin the probed server protocol defines, so a probe is one call (~0.3 µs)."""
DUMP = """
PROBED: list = []


def _dump_probes(*_: object) -> None:
    import json, os
    with open(os.environ["YARD_PROBES"], "w") as out:
        json.dump(PROBED, out)


def _probe(name: str, _append=PROBED.append, _now=__import__("time").perf_counter_ns) -> None:
    _append((name, _now()))


__import__("builtins")._yard_probe = _probe
__import__("signal").signal(__import__("signal").SIGUSR1, _dump_probes)
"""


def probed_copy(dest: Path) -> Path:
    """``src/`` copied to ``dest`` with the probes written in."""
    shutil.copytree(ROOT / "src", dest, ignore=shutil.ignore_patterns("__pycache__"))
    serve = dest / "modelyard" / "serve"
    protocol = serve / "http_server.py"
    protocol.write_text(protocol.read_text() + DUMP)
    for name, anchor, probe in PROBES:
        path = serve / name
        lines = path.read_text().splitlines(keepends=True)
        at = next((i for i, line in enumerate(lines) if anchor in line), None)
        if at is None:
            sys.exit(f"segments.py: probe {probe!r}: {anchor!r} not found in {name}")
        indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
        lines.insert(at, f"{indent}{PROBE.format(probe=probe)}\n")
        path.write_text("".join(lines))
    return dest


def segments(probes: list[tuple[str, int]]) -> dict[str, list[float]]:
    """µs between consecutive probes, by pair of probe names."""
    out: dict[str, list[float]] = defaultdict(list)
    for (a, ta), (b, tb) in itertools.pairwise(probes):
        out[f"{a} → {b}"].append((tb - ta) / 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=12000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work, upstream = Path(tmp), free_port()
        src, dump = probed_copy(work / "src"), work / "probes.json"
        with ExitStack() as stack:
            mock = [*UPSTREAM, "--port", str(upstream)]
            stack.enter_context(process(mock, 0, {}, work / "mock.log"))
            port = free_port()
            yard = [str(YARD), "serve", "--config", str(yard_config(upstream, work)), "--port"]
            env = {"YARD_HOME": str(work / "home"), "PYTHONPATH": str(src),
                   "YARD_PROBES": str(dump)}  # fmt: skip
            gateway = stack.enter_context(process([*yard, str(port)], 1, env, work / "yard.log"))
            wait_ready(port, gateway)
            os.sched_setaffinity(0, {0})
            uvloop.run(run_load(port, 1, 60, count=args.requests))
            os.kill(gateway.pid, signal.SIGUSR1)  # the probed server writes its probes out
            while not dump.exists():
                uvloop.run(run_load(port, 1, 5, count=1))
        probes = json.loads(dump.read_text())
    print(f"load average {os.getloadavg()[0]:.1f}; {args.requests} requests at c=1")
    print("| segment | n | p50 µs | p90 µs |\n|---|--:|--:|--:|")
    for name, values in segments(probes).items():
        if len(values) >= args.requests // 2:
            values.sort()
            p50, p90 = values[len(values) // 2], values[int(len(values) * 0.9)]
            print(f"| {name} | {len(values)} | {p50:.1f} | {p90:.1f} |")


if __name__ == "__main__":
    main()
