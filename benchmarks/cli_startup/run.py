"""How long `yard` takes to answer: --help, --version, `models list`, beside Python's own floors.

Each command runs under hyperfine (``apt-get install hyperfine``) with warm-up runs and no shell,
in a fresh YARD_HOME. Two floors run in the same session: ``python -c pass`` and a bare Typer
app printing its --help (what any Typer CLI pays before its own code). ``--src`` runs another
checkout's source instead (e.g. a worktree of an older commit), with the same interpreter and
packages, so before and after are measured side by side.

    python benchmarks/cli_startup/run.py [--runs 30] [--src /tmp/base/src] [--label after]

(a base checkout for --src: ``mkdir /tmp/base && git archive 4ba978b src | tar -x -C /tmp/base``)

Goals (issue #24): `yard --help` <= 300 ms and `yard models list` <= 500 ms (median wall time).
The CPU column (user + system) shows what a command costs when other jobs share the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
YARD = [str(Path(sys.executable).parent / "yard")]
"""The console script pip installed; PYTHONPATH (``--src``) decides which source it runs."""
BARE_TYPER = """
import typer
app = typer.Typer(no_args_is_help=True)
@app.command()
def one(x: int = 1) -> None:
    '''First command'''
@app.command()
def two(y: str = "") -> None:
    '''Second command'''
app()
"""
GOALS_MS = {"yard --help": 300, "yard models list": 500}


def cases(bare: Path) -> dict[str, list[str]]:
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "bare Typer app --help": [sys.executable, str(bare), "--help"],
        "yard --help": [*YARD, "--help"],
        "yard version": [*YARD, "version"],
        "yard serve --help": [*YARD, "serve", "--help"],
        "yard models list": [*YARD, "models", "list"],
        "yard models list --json": [*YARD, "models", "list", "--json"],
        "yard gpus list": [*YARD, "gpus", "list"],
    }


@dataclass(frozen=True)
class Timing:
    """One command's wall times over all runs, in milliseconds."""

    name: str
    median_ms: float
    mean_ms: float
    p90_ms: float
    min_ms: float
    cpu_ms: float
    """Mean user + system CPU time: what the command costs, whatever else runs beside it."""
    runs: int


def hyperfine(name: str, argv: list[str], runs: int, env: dict[str, str]) -> Timing:
    """Run ``argv`` ``runs`` times (3 warm-ups first); times in milliseconds."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = " ".join(_quote(a) for a in argv)
        subprocess.run(
            ["hyperfine", "-N", "--warmup", "3", "--runs", str(runs), "--style", "none",
             "--export-json", out.name, command],
            env=env, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        result = json.loads(Path(out.name).read_text())["results"][0]
    times = sorted(t * 1000 for t in result["times"])
    return Timing(
        name=name,
        median_ms=statistics.median(times),
        mean_ms=statistics.fmean(times),
        p90_ms=times[int(0.9 * (len(times) - 1))],
        min_ms=times[0],
        cpu_ms=1000 * (result["user"] + result["system"]),
        runs=len(times),
    )


def _quote(arg: str) -> str:
    return f"'{arg}'" if any(c in arg for c in ' ;()"') else arg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--src", type=Path, help="source folder to import modelyard from")
    parser.add_argument("--label", default="current")
    args = parser.parse_args()
    if args.src is not None and not (args.src / "modelyard" / "cli").is_dir():
        parser.error(f"{args.src} holds no modelyard package")
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare_typer.py"
        bare.write_text(BARE_TYPER)
        env = {**os.environ, "YARD_HOME": str(Path(tmp) / "home"), "COLUMNS": "80"}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # users' runs reuse compiled modules: so do these
        if args.src:
            env["PYTHONPATH"] = str(args.src.resolve())
        rows = [hyperfine(n, argv, args.runs, env) for n, argv in cases(bare).items()]
    report = {
        "label": args.label,
        "src": str(args.src) if args.src else "installed",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}",
        "results": [asdict(r) for r in rows],
    }
    print(f"{'command':<26}{'median':>7}{'p90':>7}{'min':>7}{'CPU':>7}  goal (median, ms)")
    for r in rows:
        goal = GOALS_MS.get(r.name)
        met = goal is not None and r.median_ms <= goal
        verdict = "" if goal is None else f"<= {goal} ms: {'met' if met else 'MISSED'}"
        times = f"{r.median_ms:>7.0f}{r.p90_ms:>7.0f}{r.min_ms:>7.0f}{r.cpu_ms:>7.0f}"
        print(f"{r.name:<26}{times}  {verdict}")
    out = HERE / "results" / f"{args.label}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {out.relative_to(HERE.parents[1])}")


if __name__ == "__main__":
    main()
