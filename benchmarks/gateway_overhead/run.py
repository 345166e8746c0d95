"""Gateway overhead: modelyard vs the LiteLLM proxy, side by side, before one fast fake upstream.

Placement (2 cores): the fake upstream and this load generator on CPU 0, the gateway under test
(one process, one worker) on CPU 1. Every socket sets TCP_NODELAY; connections are kept alive.
There the direct call crosses no core and a relayed one crosses four times (two round trips),
so on a VM whose cross-core wake-ups are dear the added latency holds them too. Two more rows
compare like with like: a second fake upstream on CPU 1, called directly (one round trip across
cores), and a second `yard serve` on CPU 1 in front of it (one round trip across cores, and its
relay on one core); the second's added latency is taken over the first.

Measures, interleaving the targets round by round:
- added latency at concurrency 1: gateway percentile minus the direct call's, same percentile;
- added time to first token for streams at concurrency 1;
- a closed-loop concurrency sweep: the highest request rate whose p99 stays under --p99-bound-ms;
- gateway CPU time per request (utime + stime of its process tree / requests served).

    benchmarks/gateway_overhead/.venv/bin/pip install 'litellm[proxy]'   # once
    .venv/bin/python benchmarks/gateway_overhead/run.py
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import orjson
import uvloop
from loadgen import Sample, run_load

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
UPSTREAM = [sys.executable, str(ROOT / "tests" / "serve" / "fault_upstream.py"), "--chunks", "16",
            "--gap-ms", "2"]  # fmt: skip
"""The fake upstream (the project's one, as a process): streams of 16 chunks 2 ms apart."""
YARD = ROOT / ".venv" / "bin" / "yard"
LITELLM = HERE / ".venv" / "bin" / "litellm"
SWEEP = (1, 2, 4, 8, 16, 32, 64)
CROSS = "cross-core, no relay"
BESIDE = "modelyard, upstream on its core"
BASELINE = {BESIDE: CROSS}
"""Rows whose added latency is taken over another row than the direct call."""
FLOORS = {"python-floor": ("aiohttp", "httptools"), "floor-own-client": ("own", "own")}
"""Floor name: (upstream client, uvicorn --http): uvicorn + aiohttp, and the stack modelyard
runs on (uvicorn with modelyard's protocol and client)."""
"""Floor gateways (floor_gateway.py) by the upstream client each uses."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    """Until a real chat request through ``port`` answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process on port {port} exited with {proc.returncode}")
        try:
            sample = uvloop.run(run_load(port, 1, 5, count=1))
            if sample.latencies:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"nothing answered on port {port} in {timeout:g}s")


@contextmanager
def process(cmd: list[str], cpu: int, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """``cmd`` pinned to ``cpu``; terminated on exit."""
    with log.open("w") as out:
        proc = subprocess.Popen(["taskset", "-c", str(cpu), *cmd], env={**os.environ, **env},
                                stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


def yard_config(upstream: int, work: Path, name: str = "yard") -> Path:
    path = work / f"{name}.yaml"
    path.write_text(
        "server:\n  admin_key: sk-bench\n"
        f"backends:\n  - name: mock\n    base_url: http://127.0.0.1:{upstream}/v1\n"
        "    api_key: sk-upstream\nmodels:\n  m: [mock]\n"
    )
    return path


def litellm_config(upstream: int, work: Path) -> Path:
    path = work / "litellm.yaml"
    path.write_text(
        "model_list:\n  - model_name: m\n    litellm_params:\n      model: openai/m\n"
        f"      api_base: http://127.0.0.1:{upstream}/v1\n      api_key: sk-upstream\n"
        "litellm_settings:\n  telemetry: false\n"
        "general_settings:\n  master_key: sk-bench\n"
    )
    return path


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` and its descendants, in seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = fields
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        if current in stats:
            total += (int(stats[current][11]) + int(stats[current][12])) / tick
        todo += children.get(current, [])
    return total


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def latency_rounds(ports: dict[str, int], rounds: int, count: int, stream: bool) -> dict:
    """Per target: median over rounds of p50 and p99 (ms) of latency (or TTFT for streams)."""
    per: dict[str, list[tuple[float, float]]] = {name: [] for name in ports}
    for _ in range(rounds):
        for name, port in ports.items():
            sample = uvloop.run(run_load(port, 1, 600, stream=stream, count=count))
            values = sample.ttfts if stream else sample.latencies
            per[name].append((pct(values, 0.5), pct(values, 0.99)))
    return {
        name: {
            "p50_ms": statistics.median(r[0] for r in rows),
            "p99_ms": statistics.median(r[1] for r in rows),
            "rounds_p50_ms": [round(r[0], 3) for r in rows],
        }
        for name, rows in per.items()
    }


def sweep(port: int, pid: int | None, seconds: float, bound_ms: float) -> dict:
    """Closed-loop sweep over SWEEP concurrencies; the best rate with p99 under ``bound_ms``."""
    levels, cpu_per_req = [], None
    for conc in SWEEP:
        before = cpu_seconds(pid) if pid else 0.0
        sample: Sample = uvloop.run(run_load(port, conc, seconds))
        used = cpu_seconds(pid) - before if pid else 0.0
        times = sample.latencies
        level = {"concurrency": conc, "rps": round(sample.rps), "errors": sample.errors,
                 "p50_ms": pct(times, 0.5), "p99_ms": pct(times, 0.99)}  # fmt: skip
        if pid and sample.latencies:
            level["cpu_us_per_request"] = round(used / len(sample.latencies) * 1e6)
            cpu_per_req = cpu_per_req or (level["cpu_us_per_request"] if conc >= 16 else None)
        levels.append(level)
    ok = [lv["rps"] for lv in levels if lv["p99_ms"] <= bound_ms and not lv["errors"]]
    return {
        "levels": levels,
        "sustained_rps": max(ok, default=0),
        "cpu_us_per_request": cpu_per_req,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="Interleaved rounds at c=1")
    parser.add_argument("--requests", type=int, default=400, help="Requests per round at c=1")
    parser.add_argument("--stream-requests", type=int, default=100, help="Streams per round")
    parser.add_argument("--sweep-seconds", type=float, default=3.0, help="Seconds per level")
    parser.add_argument("--p99-bound-ms", type=float, default=50.0, help="Sustained-rate bound")
    parser.add_argument("--no-litellm", action="store_true", help="Only modelyard")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "latest.json")
    args = parser.parse_args()
    os.sched_setaffinity(0, {0})
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        work = Path(tmp)
        results = run_all(args, work, stack)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    print(report(results))


def run_all(args: argparse.Namespace, work: Path, stack: ExitStack) -> dict:
    upstream = free_port()
    mock = [*UPSTREAM, "--port", str(upstream)]
    stack.enter_context(process(mock, 0, {}, work / "mock.log"))
    ports = {"direct": upstream, "modelyard": free_port(), CROSS: free_port()}
    procs: dict[str, subprocess.Popen] = {}
    # a second fake upstream on the gateways' core: what one round trip across cores costs
    # in this run, with no relay in between (it moves with the VM's phases)
    cross = [*UPSTREAM, "--port", str(ports[CROSS])]
    wait_ready(ports[CROSS], stack.enter_context(process(cross, 1, {}, work / "cross.log")))
    yard_cmd = [str(YARD), "serve", "--config", str(yard_config(upstream, work)),
                "--port", str(ports["modelyard"])]  # fmt: skip
    procs["modelyard"] = stack.enter_context(
        process(yard_cmd, 1, {"YARD_HOME": str(work / "home")}, work / "yard.log")
    )
    ports[BESIDE] = free_port()
    beside_cmd = [str(YARD), "serve", "--config", str(yard_config(ports[CROSS], work, "beside")),
                  "--port", str(ports[BESIDE])]  # fmt: skip
    procs[BESIDE] = stack.enter_context(
        process(beside_cmd, 1, {"YARD_HOME": str(work / "home-beside")}, work / "beside.log")
    )
    for name, (client, protocol) in FLOORS.items():
        ports[name] = free_port()
        floor = [sys.executable, str(HERE / "floor_gateway.py"), "--http", protocol,
                 "--port", str(ports[name])]  # fmt: skip
        env = {"UPSTREAM": f"http://127.0.0.1:{upstream}/v1", "FLOOR_CLIENT": client}
        procs[name] = stack.enter_context(process(floor, 1, env, work / f"{name}.log"))
    if not args.no_litellm:
        ports["litellm"] = free_port()
        cmd = [str(LITELLM), "--config", str(litellm_config(upstream, work)),
               "--port", str(ports["litellm"]), "--num_workers", "1"]  # fmt: skip
        env = {"LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False"}
        procs["litellm"] = stack.enter_context(process(cmd, 1, env, work / "litellm.log"))
    for name, proc in procs.items():
        wait_ready(ports[name], proc)
    for port in ports.values():  # warm up every path
        uvloop.run(run_load(port, 4, 2))
    results = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "kernel": platform.release(),
                    "python": platform.python_version(), "loadavg_before": os.getloadavg()},
        "args": {k: str(v) for k, v in vars(args).items()},
        "c1": latency_rounds(ports, args.rounds, args.requests, stream=False),
        "ttft": latency_rounds(ports, max(1, args.rounds // 2), args.stream_requests, stream=True),
        "sweep": {name: sweep(port, procs[name].pid if name in procs else None,
                              args.sweep_seconds, args.p99_bound_ms)
                  for name, port in ports.items()},
    }  # fmt: skip
    results["machine"]["loadavg_after"] = os.getloadavg()
    results["versions"] = versions()
    return results


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def versions() -> dict[str, str]:
    """modelyard's and LiteLLM's package versions, as each gateway's own Python sees them."""
    found = {}
    for name, python, package in (("modelyard", ROOT / ".venv/bin/python", "modelyard"),
                                  ("litellm", HERE / ".venv/bin/python", "litellm")):  # fmt: skip
        if python.exists():
            cmd = [
                str(python),
                "-c",
                f"import importlib.metadata as m; print(m.version('{package}'))",
            ]
            done = subprocess.run(cmd, capture_output=True, text=True)
            found[name] = done.stdout.strip() or "not installed"
    return found


def added(table: dict, name: str, key: str) -> str:
    """``name``'s figure ``key`` over its baseline's (BASELINE, else the direct call), in ms."""
    if name == "direct":
        return "—"
    return f"{table[name][key] - table[BASELINE.get(name, 'direct')][key]:.3f}"


def report(results: dict) -> str:
    c1, ttft, sw = results["c1"], results["ttft"], results["sweep"]
    lines = [
        "| target | c=1 p50 ms | c=1 p99 ms | added p50 ms | added p99 ms | added TTFT p50 ms "
        "| sustained req/s (p99 ≤ bound) | CPU µs/req |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for name in c1:
        row, s = c1[name], sw[name]
        lines.append(
            f"| {name} | {row['p50_ms']:.3f} | {row['p99_ms']:.3f} | {added(c1, name, 'p50_ms')} "
            f"| {added(c1, name, 'p99_ms')} | {added(ttft, name, 'p50_ms')} "
            f"| {s['sustained_rps']} | {s['cpu_us_per_request'] or '—'} |"
        )
    lines += ["", *(f"{name}: added over `{base}`, not over `direct`."
                    for name, base in BASELINE.items())]  # fmt: skip
    machine = results["machine"]
    lines += ["", f"{machine['cpu']}, {machine['cores']} cores, Python {machine['python']}, "
              f"load average before/after {machine['loadavg_before'][0]:.1f}/"
              f"{machine['loadavg_after'][0]:.1f}; versions {results['versions']}", ""]  # fmt: skip
    for name, s in sw.items():
        levels = ", ".join(f"c{lv['concurrency']}: {lv['rps']}/s p99 {lv['p99_ms']:.1f}ms"
                           + (f" ({lv['errors']} err)" if lv["errors"] else "")
                           for lv in s["levels"])  # fmt: skip
        lines.append(f"- {name}: {levels}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
