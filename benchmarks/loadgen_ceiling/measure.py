"""Highest request rate a load generator sustains against a fast local endpoint, ours vs GuideLLM.

The fast server (tests/serve/fault_upstream.py) runs pinned to CPU 1, each generator pinned to
CPU 0. At each offered constant rate the generator runs for DURATION seconds; it *sustains* the
rate when it completes at least 95 % of the offered requests per second with no errors. Also
reported: the TTFT it measures against a server that answers at once (its own latency floor) and
its closed-loop maximum. Run from the repository root:

    .venv/bin/python benchmarks/loadgen_ceiling/measure.py [--out FILE]

Writes results/latest.json (docs/PERFORMANCE.md, "Load generator ceiling", is rendered from it).

GuideLLM runs from this folder's own venv (``python -m venv benchmarks/loadgen_ceiling/.venv &&
benchmarks/loadgen_ceiling/.venv/bin/pip install guidellm``); it is skipped when that is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FAST_SERVER = ROOT / "tests" / "serve" / "fault_upstream.py"
YARD = ROOT / ".venv" / "bin" / "yard"
GUIDELLM = HERE / ".venv" / "bin" / "guidellm"
PORT = 9200
URL = f"http://127.0.0.1:{PORT}"
DURATION = 5
OURS_RATES = [100, 250, 500, 750, 1000, 1250, 1500]
GUIDELLM_RATES = [50, 100, 150, 200, 250, 500]
SUSTAINED = 0.95


def ours(rate: float | None, concurrency: int | None = None) -> dict:
    """One `yard bench` run on CPU 0; its JSON summary of the step."""
    load = ["--rate", str(rate), "-n", str(int(rate * DURATION))] if rate else []
    load = load or ["-c", str(concurrency), "-d", str(DURATION)]
    cmd = ["taskset", "-c", "0", str(YARD), "bench", URL, "-m", "fast", *load,
           "--input-tokens", "32", "--output-tokens", "16", "--json"]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    step = json.loads(out)["steps"][0]
    return {
        "offered": rate, "concurrency": concurrency, "achieved": step["req_s"],
        "errors": step["errors"], "ttft_p50_ms": step["ttft_ms"]["p50"],
        "ttft_p99_ms": step["ttft_ms"]["p99"], "send_lag_p99_ms": step["send_lag_ms"]["p99"],
    }  # fmt: skip


def guidellm(profile: str, prompts: Path, out: Path) -> dict:
    """One GuideLLM run on CPU 0; achieved completed requests/s and its TTFT."""
    cmd = ["taskset", "-c", "0", str(GUIDELLM), "run",
           "--backend", f"kind=openai_http,target={URL}", "--profile", profile,
           "--constraint", f"kind=max_duration,seconds={DURATION}",
           "--data", f"kind=json_file,path={prompts}", "--output", f"kind=json,path={out}",
           "--disable-progress"]  # fmt: skip
    subprocess.run(cmd, capture_output=True, text=True, check=True)
    bench = json.loads(out.read_text())["benchmarks"][0]
    m = bench["metrics"]
    done = m["requests_per_second"]["successful"]["count"]
    errored = m["requests_per_second"].get("errored", {}).get("count", 0)
    incomplete = m["requests_per_second"].get("incomplete", {}).get("count", 0)
    ttft = m["time_to_first_token_ms"]["successful"]
    return {
        "achieved": done / bench["duration"], "errors": errored, "incomplete": incomplete,
        "ttft_p50_ms": ttft["median"], "ttft_p99_ms": ttft["percentiles"]["p99"],
    }  # fmt: skip


def ceiling(rows: list[dict]) -> float | None:
    ok = [
        r["offered"] for r in rows if not r["errors"] and r["achieved"] >= SUSTAINED * r["offered"]
    ]
    return max(ok, default=None)


def run_guidellm(tmp: Path) -> dict:
    if not GUIDELLM.exists():
        return {"skipped": f"{GUIDELLM} not installed"}
    prompts = tmp / "prompts.jsonl"
    prompts.write_text("".join(
        json.dumps({"prompt": f"Request {i}: tell me a story about time and the world"}) + "\n"
        for i in range(20000)))  # fmt: skip
    rows = []
    for rate in GUIDELLM_RATES:
        row = guidellm(f"kind=constant,rate={rate}", prompts, tmp / f"g{rate}.json")
        rows.append({"offered": rate, **row})
        print("guidellm", rows[-1], flush=True)
    top = guidellm("kind=throughput,max_concurrency=64", prompts, tmp / "gmax.json")
    print("guidellm throughput", top, flush=True)
    return {"rates": rows, "ceiling_req_s": ceiling(rows), "throughput_profile": top}


def run_ours() -> dict:
    rows = []
    for rate in OURS_RATES:
        rows.append(ours(rate))
        print("ours", rows[-1], flush=True)
    top = ours(None, 64)
    print("ours c=64", top, flush=True)
    return {"rates": rows, "ceiling_req_s": ceiling(rows), "closed_loop_c64": top}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "results" / "latest.json")
    out = parser.parse_args().out
    server = subprocess.Popen(["taskset", "-c", "1", sys.executable, str(FAST_SERVER),
                               "--port", str(PORT)], stdout=subprocess.DEVNULL)  # fmt: skip
    time.sleep(1.0)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            result: dict[str, Any] = {
                "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                            "loadavg_before": os.getloadavg()},
                "duration_s": DURATION, "sustained_if": f">= {SUSTAINED} x offered, 0 errors",
                "ours": run_ours(), "guidellm": run_guidellm(Path(tmp)),
            }  # fmt: skip
            result["machine"]["loadavg_after"] = os.getloadavg()
    finally:
        server.terminate()
        server.wait()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
