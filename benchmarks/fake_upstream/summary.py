"""One fake upstream: the test fake against the gateway benchmark's old one and an aiohttp app."""

from __future__ import annotations

from pathlib import Path

from perfdoc import Section, load, num, table

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
NAMES = {
    "fault_upstream": "`tests/serve/fault_upstream.py`",
    "mock_upstream": "`mock_upstream.py` (at 4ba978b)",
    "aiohttp": "an aiohttp app, same answers",
}


def section() -> Section:
    run = load(RESULTS)
    rows = [
        [NAMES.get(name, name), num(m["plain_req_s"]), num(m["plain_p50_ms"], 2),
         num(m["stream_req_s"]), num(m["stream_p50_ms"], 2)]
        for name, m in run["medians"].items()
    ]  # fmt: skip
    args = run["args"]
    return Section(
        title="One fake upstream",
        command=".venv/bin/python benchmarks/fake_upstream/run.py --seconds 2 --rounds 7",
        results=(RESULTS,),
        when=f"{run['when']} on {run['machine']}",
        body=f"Medians of {args['rounds']} rounds of {num(args['seconds'], 0)} s, "
        f"{args['concurrency']} connections:\n\n"
        + table(["server", "plain req/s", "p50 ms", "stream req/s", "p50 ms"], rows),
        notes=(
            "Each server is a process pinned to CPU 1, the gateway benchmark's closed-loop load "
            "generator on CPU 0; plain and streaming chat completions of 16 chunks without "
            "pacing; servers alternated round by round. Single rounds vary several-fold on the "
            "shared machine, so read the order, not the figures. The fake speaks HTTP/1.1 "
            "itself because the gateway benchmark's floors need an upstream several times "
            "faster than the gateway; requests that no planned behaviour, recording or pacing "
            "touches are answered from cached bytes."
        ),
    )
