"""The report renderer's SVG charts against matplotlib's, on the charts the reports draw.

Two charts: the bench report's "every request" scatter (3 series, ``--points`` points) and the
eval report's quality-versus-cost chart (8 labelled models with error bars). For each: render
time (median of ``--repeat``), SVG bytes, and the import time of each library in a fresh
interpreter. matplotlib is not a modelyard dependency; install it in the venv to compare
(``pip install matplotlib``); without it only our figures are recorded.

    python benchmarks/report_render/run.py [--points 2000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from modelyard.report import Axis, Chart, Series, svg

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
MODELS = ["main", "mini", "small", "gpt-4o", "gpt-4o-mini", "llama-8b", "qwen3-8b", "local"]


def scatter_data(n: int) -> dict[str, list[tuple[float, float]]]:
    rng = random.Random(0)
    start = [i * 0.05 for i in range(n)]
    return {
        "TTFT": [(t, rng.uniform(200, 900)) for t in start],
        "E2E": [(t, rng.uniform(20_000, 62_600)) for t in start],
        "failed": [(t, rng.uniform(1_000, 60_000)) for t in start[:: max(1, n // 20)]],
    }


def eval_data() -> list[tuple[str, float, float, float, float]]:
    rng = random.Random(1)
    return [
        (m, rng.uniform(0, 3), mean := rng.uniform(0.3, 0.9), mean - 0.1, mean + 0.1)
        for m in MODELS
    ]


def ours_scatter(data: dict[str, list[tuple[float, float]]]) -> str:
    series = [Series(name, pts, style="points") for name, pts in data.items()]
    return str(svg(Chart("Per request", Axis("seconds since the first send"), Axis("ms"), series)))


def ours_eval(rows: list[tuple[str, float, float, float, float]]) -> str:
    series = Series(
        "models",
        [(x, y) for _, x, y, _, _ in rows],
        style="points",
        errors=[(lo, hi) for *_, lo, hi in rows],
        labels=[m for m, *_ in rows],
    )
    return str(svg(Chart("Quality versus cost", Axis("$ / 1k"), Axis("score", 0, 1), [series])))


def mpl_scatter(data: dict[str, list[tuple[float, float]]]) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    for name, pts in data.items():
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=8, label=name)
    ax.set(title="Per request", xlabel="seconds since the first send", ylabel="ms")
    ax.legend()
    return _mpl_svg(fig)


def mpl_eval(rows: list[tuple[str, float, float, float, float]]) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    for name, x, y, lo, hi in rows:
        ax.errorbar([x], [y], yerr=[[y - lo], [hi - y]], fmt="o")
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(6, 4))
    ax.set(title="Quality versus cost", xlabel="$ / 1k", ylabel="score", ylim=(0, 1))
    return _mpl_svg(fig)


def _mpl_svg(fig: object) -> str:
    import matplotlib.pyplot as plt

    out = io.StringIO()
    fig.savefig(out, format="svg")  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]
    return out.getvalue()


def timed(render: Callable[[], str], repeat: int) -> tuple[float, int]:
    """Median milliseconds of ``repeat`` renders, and the SVG's size in bytes."""
    times, text = [], ""
    for _ in range(repeat):
        t0 = time.perf_counter()
        text = render()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), len(text.encode())


def import_ms(statement: str) -> float:
    """Milliseconds to run ``statement`` in a fresh interpreter, less the interpreter's start."""

    def run(code: str) -> float:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return (time.perf_counter() - t0) * 1e3

    base = statistics.median(run("pass") for _ in range(3))
    return statistics.median(run(statement) for _ in range(3)) - base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    scatter, rows = scatter_data(args.points), eval_data()
    renderers: dict[str, dict[str, Callable[[], str]]] = {
        "modelyard.report": {
            "scatter": lambda: ours_scatter(scatter),
            "eval": lambda: ours_eval(rows),
        },
    }
    imports = {"modelyard.report": "import modelyard.report"}
    try:
        import matplotlib

        matplotlib.use("svg")
        renderers[f"matplotlib {matplotlib.__version__}"] = {
            "scatter": lambda: mpl_scatter(scatter),
            "eval": lambda: mpl_eval(rows),
        }
        imports[f"matplotlib {matplotlib.__version__}"] = (
            "import matplotlib; matplotlib.use('svg'); import matplotlib.pyplot"
        )
    except ImportError:
        print("matplotlib not installed: only modelyard.report is measured", file=sys.stderr)
    result: dict[str, object] = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f} before",
        "points": args.points,
        "repeat": args.repeat,
        "libraries": {},
    }
    for name, charts in renderers.items():
        figures: dict[str, float | int] = {"import_ms": round(import_ms(imports[name]), 1)}
        for chart, render in charts.items():
            ms, size = timed(render, args.repeat)
            figures[f"{chart}_ms"], figures[f"{chart}_bytes"] = round(ms, 2), size
        result["libraries"][name] = figures  # type: ignore[index]
        print(name, figures)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
