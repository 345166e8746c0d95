"""Eval code sandbox: latency, throughput and memory of bubblewrap, no isolation, the old child."""

from __future__ import annotations

from pathlib import Path

from perfdoc import Section, load, num, table

RESULTS = Path(__file__).resolve().parent / "results"


def section() -> Section:
    latest = max(RESULTS.glob("*.json"))  # files are named by their UTC start time
    run = load(latest)
    rows = [
        [name, num(v["p50_ms"]), num(v["p95_ms"]), num(v["tests_per_s"], 1),
         num(v["peak_rss_one_process_mib"], 1), num(v["peak_rss_one_run_mib"], 1)]
        for name, v in run["variants"].items()
    ]  # fmt: skip
    load_avg = ", ".join(num(x, 1) for x in run["load_average"])
    columns = ["variant", "p50 ms", "p95 ms", f"tests/s at {run['concurrency']}",
               "RSS/process MiB", "RSS/run MiB"]  # fmt: skip
    return Section(
        title="Eval code sandbox",
        command=".venv/bin/python benchmarks/sandbox/run.py",
        results=(latest,),
        when=f"{run['when']} on {run['cpus']} CPUs, load average {load_avg}",
        body=f"{run['items']} HumanEval canonical solutions against their tests.\n\n"
        + table(columns, rows),
        notes=(
            "Three ways, interleaved item by item: the sandbox as `yard eval` runs it "
            "(bubblewrap), the same two-process test stage as a plain child process (what "
            "`--unsafe-code` falls back to; the difference is bubblewrap's own cost), and the "
            "sandbox it replaced (commit 4ba978b: one `python -I -S -B` child with rlimits, an "
            "audit hook and `unshare --user --net`, which most escape probes got out of). "
            "Latency is one test at a time; RSS is sampled from `/proc` every 2 ms (largest "
            "single process, and all of one run's processes together, setpriv/bwrap included). "
            "On a shared machine the absolute times rise with the load; the variants ran under "
            "the same load."
        ),
    )
