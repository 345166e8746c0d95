"""Sandbox cost per test: bubblewrap and the two-process test stage against the old child process.

Runs every HumanEval canonical solution (``../shared/data/evals/humaneval``) against its tests in
three ways, interleaved item by item so that load on the machine hits all three alike:

* ``bubblewrap``: the sandbox as `yard eval` runs it (``modelyard.eval.sandbox``);
* ``no isolation``: the same two-process test stage started as a plain child process (what
  ``--unsafe-code`` falls back to), so the difference to the row above is bubblewrap's own cost;
* ``old child``: the sandbox this replaced (commit 4ba978b, read with ``git show``): one
  ``python -I -S -B`` child under rlimits, an audit hook and ``unshare --user --net``.

Reports per-test latency (one test at a time) and throughput (``--concurrency`` at a time), how
many passed, and the largest resident set of any process a run started (``RUSAGE_CHILDREN``).
Writes the JSON next to this file in ``results/``.

    .venv/bin/python benchmarks/sandbox/run.py [--items 164] [--concurrency 2]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import ModuleType
from typing import Any

from modelyard.eval import Launcher, bubblewrap, code_check, run_check, unisolated

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data" / "evals" / "humaneval" / "HumanEval.jsonl.gz"
OLD = "4ba978b"
Runner = Callable[[dict[str, str]], Coroutine[Any, Any, bool]]


def fetch_old(folder: Path) -> None:
    """The replaced sandbox's two files, as committed in OLD, into ``folder``."""
    for name in ("sandbox.py", "_sandbox_guard.py"):
        source = subprocess.run(
            ["git", "-C", str(REPO), "show", f"{OLD}:src/modelyard/eval/{name}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        (folder / name).write_text(source)


def old_sandbox(folder: Path) -> ModuleType:
    """The replaced sandbox module, imported from ``folder``."""
    spec = importlib.util.spec_from_file_location("old_sandbox", folder / "sandbox.py")
    assert spec and spec.loader
    module = sys.modules["old_sandbox"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def runners(old: ModuleType, isolated: Launcher) -> dict[str, Runner]:
    async def new(row: dict[str, str], how: Launcher) -> bool:
        check = code_check(row["prompt"] + row["canonical_solution"], row)
        return (await run_check(check, how)).passed

    async def previous(row: dict[str, str]) -> bool:
        program = "\n\n".join(
            [row["prompt"], row["prompt"] + row["canonical_solution"], row["test"]]
        )
        result = await old.run_python(f"{program}\n\ncheck({row['entry_point']})\n")
        return bool(result.ok)

    return {
        "bubblewrap": lambda row: new(row, isolated),
        "no isolation": lambda row: new(row, unisolated()),
        "old child": previous,
    }


async def latency(rows: list[dict[str, str]], run: dict[str, Runner]) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in run}
    names = list(run)
    for i, row in enumerate(rows):
        for name in names[i % 3 :] + names[: i % 3]:
            started = time.perf_counter()
            assert await run[name](row), f"{name}: {row['task_id']} failed"
            times[name].append(time.perf_counter() - started)
        print(f"\r{i + 1}/{len(rows)} items", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return times


async def throughput(rows: list[dict[str, str]], runner: Runner, concurrency: int) -> float:
    gate = asyncio.Semaphore(concurrency)

    async def one(row: dict[str, str]) -> bool:
        async with gate:
            return await runner(row)

    started = time.perf_counter()
    passed = await asyncio.gather(*(one(row) for row in rows))
    assert all(passed)
    return len(rows) / (time.perf_counter() - started)


def peak_rss_mib(name: str, items: int, old: Path) -> dict[str, float]:
    """Memory of ``items`` runs of ``name``, sampled in a fresh interpreter (``memory_only``)."""
    done = subprocess.run(
        [sys.executable, __file__, "--items", str(items), "--rss", name, "--old", str(old)],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout))


def descendants(root: int) -> dict[int, int]:
    """pid -> parent pid of every process below ``root`` right now."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    below: dict[int, int] = {}
    frontier = {root}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier}
        below.update({p: parents[p] for p in frontier})
    return below


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory_only(rows: list[dict[str, str]], runner: Runner) -> None:
    """Print the largest resident set of one sandbox process and of a whole run's processes
    together, sampling /proc every 2 ms while the runs go (setpriv/bwrap included)."""
    peak = {"process_mib": 0.0, "run_mib": 0.0}
    stop = threading.Event()

    ours = Path("/proc/self/cmdline").read_bytes()

    def sample() -> None:
        while not stop.wait(0.002):
            # a child between fork and exec is still a copy of this interpreter: not counted
            tree = [p for p in descendants(os.getpid()) if cmdline(p) != ours]
            high = max((kib(p, "VmHWM:") for p in tree), default=0)
            peak["process_mib"] = max(peak["process_mib"], high / 1024)
            peak["run_mib"] = max(peak["run_mib"], sum(kib(p, "VmRSS:") for p in tree) / 1024)

    sampler = threading.Thread(target=sample)
    sampler.start()
    for row in rows:
        assert asyncio.run(runner(row))
    stop.set()
    sampler.join()
    print(json.dumps(peak))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=164)
    parser.add_argument("--concurrency", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rss", help="only print the peak RSS (MiB) of this variant's runs")
    parser.add_argument("--old", type=Path, help="folder holding the old sandbox (with --rss)")
    args = parser.parse_args()
    isolated = bubblewrap()
    if isinstance(isolated, str):
        sys.exit(f"no bubblewrap: {isolated}")
    with gzip.open(DATA, "rt") as handle:
        rows = [json.loads(line) for line in handle][: args.items]
    if args.rss:
        memory_only(rows, runners(old_sandbox(args.old), isolated)[args.rss])
        return
    with tempfile.TemporaryDirectory() as folder:
        fetch_old(Path(folder))
        run = runners(old_sandbox(Path(folder)), isolated)
        times = asyncio.run(latency(rows, run))
        rates = {
            name: asyncio.run(throughput(rows, r, args.concurrency)) for name, r in run.items()
        }
        rss = {name: peak_rss_mib(name, min(20, len(rows)), Path(folder)) for name in run}
    report(rows, times, rates, rss, args.concurrency)


def report(
    rows: list[dict[str, str]],
    times: dict[str, list[float]],
    rates: dict[str, float],
    rss: dict[str, dict[str, float]],
    concurrency: int,
) -> None:
    summary = {
        name: {
            "p50_ms": statistics.median(t) * 1000,
            "p95_ms": statistics.quantiles(t, n=20)[-1] * 1000,
            "mean_ms": statistics.fmean(t) * 1000,
            "tests_per_s": rates[name],
            "peak_rss_one_process_mib": rss[name]["process_mib"],
            "peak_rss_one_run_mib": rss[name]["run_mib"],
        }
        for name, t in times.items()
    }
    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "items": len(rows),
        "concurrency": concurrency,
        "load_average": os.getloadavg(),
        "cpus": os.cpu_count(),
        "variants": summary,
    }
    out = Path(__file__).with_name("results") / f"{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"| variant | p50 ms | p95 ms | tests/s at {concurrency} | RSS/process | RSS/run |")
    print("|---|---|---|---|---|---|")
    for name, s in summary.items():
        print(
            f"| {name} | {s['p50_ms']:.0f} | {s['p95_ms']:.0f} | {s['tests_per_s']:.1f} "
            f"| {s['peak_rss_one_process_mib']:.1f} MiB | {s['peak_rss_one_run_mib']:.1f} MiB |"
        )
    print(f"\n{len(rows)} items, all passed in every variant; written to {out}")


if __name__ == "__main__":
    main()
