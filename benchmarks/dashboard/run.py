"""The dashboard on a million-row ledger: first load, each refresh, each tab, and `yard usage`.

Fills (once, kept in ``--home``) a month of ``--rows`` requests (fill.py), adds five minutes of
live traffic, starts a real `yard serve` on that ledger, logs in, and measures over HTTP:

- first load: what the page fetches when it opens (/ui, its CSS and scripts, the session,
  the gateway, the API offers, the keys, the live figures), one after another, so an upper bound
  on what a browser fetching in parallel waits; with the gateway process's CPU time for it; and
  in Chromium (when Playwright is installed), from asking for /ui to the figures on screen;
- the overview's refresh (GET /admin/stats, every 2 s in the page): wall time and gateway CPU;
- every other tab's request, the routing counts cold (never counted) and warm, and ledger
  searches on their first and 100th page;
- `yard usage` (summarize) from the hourly rollup against the raw GROUP BY over the rows it
  replaced, in this process, on the same database.

Gateway CPU is the utime + stime of the `yard serve` process (kernel ticks: 10 ms) over
``--repeat`` calls, divided by them. The machine may be shared: figures are medians.

    python benchmarks/dashboard/run.py [--rows 1000000] [--home /tmp/yard-dashboard-1m]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import sqlalchemy as sa

from modelyard.catalog import cached_catalog, find_api
from modelyard.serve import connect, parse_since, summarize

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fill import fill, live

HERE = Path(__file__).resolve().parent
YARD = HERE.parents[1] / ".venv" / "bin" / "yard"
ADMIN = "sk-dashboard-bench"
CONFIG = """
server: {admin_key: %s}
backends:
  - {name: home, base_url: "http://127.0.0.1:9/v1", self_hosted: true, gpu: 1xH100,
     model: llama-3.1-8b-instruct, usd_per_hour: 2.5}
  - {name: remote-a, base_url: "http://127.0.0.1:9/v1", model: cheap}
  - {name: remote-b, base_url: "http://127.0.0.1:9/v1", model: mini}
  - {name: openai, base_url: "http://127.0.0.1:9/v1", price: openai/gpt-4o}
models: {big: [home], cheap: [remote-a], mini: [remote-b], gpt-4o: [openai]}
auto: {candidates: [cheap, mini, big, gpt-4o]}
"""
FIRST_LOAD = [
    "/ui",
    "/ui/static/app.css",
    "/ui/static/vendor/uPlot.min.css",
    "/ui/static/vendor/uPlot.iife.min.js",
    "/ui/static/app.js",
    "/admin/session",
    "/admin/gateway",
    "/admin/apis",
    "/admin/keys",
    "/admin/stats",
]
FIGURES_AT = "performance.getEntriesByName('yard:figures')[0].startTime"
TABS = {
    "spend 7d vs gpt-4o": "/admin/usage?since=7d&vs=openai/gpt-4o",
    "spend 30d": "/admin/usage?since=30d",
    "spend all": "/admin/usage?since=all",
    "routing 24h": "/admin/routing?since=24h",
    "routing 30d": "/admin/routing?since=30d",
    "plan 24h": "/admin/plan?since=24h",
    "ledger newest": "/admin/ledger",
    "ledger one key": "/admin/ledger?key={key}",
    "ledger one model": "/admin/ledger?model=big",
    "ledger one backend": "/admin/ledger?backend=home",
    "ledger errors": "/admin/ledger?status=errors",
    "ledger 429s last 7d": "/admin/ledger?status=429&since=7d",
}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(client: httpx.Client, pid: int, paths: list[str], repeat: int) -> dict[str, float]:
    """Wall ms of the whole ``paths`` sequence (median of ``repeat``) and gateway CPU ms each."""
    walls = []
    cpu0 = cpu_seconds(pid)
    for _ in range(repeat):
        t0 = time.perf_counter()
        for path in paths:
            answer = client.get(path)
            assert answer.status_code == 200, (path, answer.status_code, answer.text[:200])
        walls.append((time.perf_counter() - t0) * 1000)
    cpu = (cpu_seconds(pid) - cpu0) / repeat * 1000
    return {
        "wall_ms": round(statistics.median(walls), 1),
        "wall_first_ms": round(walls[0], 1),
        "gateway_cpu_ms": round(cpu, 1),
    }


def browser_first_load(url: str, repeat: int) -> dict[str, float] | str:
    """Milliseconds from asking for /ui to the overview's figures on the page, in Chromium (a
    fresh page each time, already logged in): the page's own clock at the moment its script
    has put them there (its ``yard:figures`` mark); median and first."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "playwright not installed"
    chromium = os.environ.get("YARD_CHROMIUM", "/usr/bin/chromium")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    times = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=flags)
        context = browser.new_context()
        context.request.post(f"{url}/admin/session", data={"admin_key": ADMIN})
        for _ in range(repeat):
            page = context.new_page()
            page.goto(f"{url}/ui")
            page.wait_for_selector("[data-card='Requests/s']")
            times.append(page.evaluate(FIGURES_AT))
            page.close()
        browser.close()
    return {"median_ms": round(statistics.median(times), 1), "first_ms": round(times[0], 1)}


def paged(client: httpx.Client, path: str, pages: int) -> dict[str, float]:
    """Wall ms of the first page and of page ``pages`` (reached through the cursors)."""
    cursor, first, last = None, 0.0, 0.0
    for page in range(pages):
        t0 = time.perf_counter()
        answer = client.get(path, params={"cursor": cursor} if cursor else None)
        took = (time.perf_counter() - t0) * 1000
        first, last = (took if page == 0 else first), took
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            break
    return {"first_page_ms": round(first, 1), f"page_{pages}_ms": round(last, 1)}


def usage_before_and_after(home: Path) -> dict[str, float]:
    """`yard usage --vs openai/gpt-4o` from the rollup, and from the rows as before it existed."""
    engine = connect(None, home)
    offer = find_api(cached_catalog(), "openai/gpt-4o")
    out = {}
    for since in (None, "7d"):
        start = parse_since(since) if since else None
        t0 = time.perf_counter()
        summarize(engine, start, offer)
        out[f"rollup {since or 'all'} ms"] = round((time.perf_counter() - t0) * 1000, 1)
        t0 = time.perf_counter()
        raw_summary(engine, start)
        out[f"raw rows {since or 'all'} ms"] = round((time.perf_counter() - t0) * 1000, 1)
    return out


def raw_summary(engine: sa.Engine, since: str | None) -> None:
    """The four GROUP BYs `yard usage` ran over the requests table before the rollup."""
    where = "WHERE datetime_utc >= :since" if since else ""
    sums = (
        "count(*), sum(CASE WHEN status >= 400 THEN 1 ELSE 0 END), sum(prompt_tokens), "
        "sum(completion_tokens), sum(cached_tokens), sum(cost_usd)"
    )
    with engine.connect() as conn:
        for group in (
            "'total'",
            "key_id",
            "coalesce(served_model, requested_model, '?')",
            "substr(datetime_utc, 1, 10)",
        ):
            by = "" if group == "'total'" else f"GROUP BY {group}"
            conn.execute(
                sa.text(f"SELECT {group}, {sums} FROM requests {where} {by}"), {"since": since}
            ).all()


def measure(home: Path, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "gateway.yaml"
        config.write_text(CONFIG % ADMIN)
        port = free_port()
        env = {**os.environ, "YARD_HOME": str(home)}
        log = (Path(tmp) / "serve.log").open("w")
        proc = subprocess.Popen(
            [str(YARD), "serve", "-c", str(config), "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            return measure_gateway(f"http://127.0.0.1:{port}", proc.pid, args)
        finally:
            proc.terminate()
            proc.wait(30)


def measure_gateway(url: str, pid: int, args: argparse.Namespace) -> dict[str, Any]:
    client = httpx.Client(base_url=url, timeout=120)
    deadline = time.monotonic() + 60
    while True:
        try:
            if client.get("/health").status_code in (200, 503):
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "yard serve did not start"
        time.sleep(0.2)
    login = client.post("/admin/session", json={"admin_key": ADMIN})
    assert login.status_code == 200, login.text
    key = client.get("/admin/keys").json()["data"][0]["id"]
    results: dict[str, Any] = {
        "first_load": timed(client, pid, FIRST_LOAD, args.repeat),
        "first_load in Chromium": browser_first_load(url, args.repeat),
        "refresh (/admin/stats)": timed(client, pid, ["/admin/stats"], args.repeat * 3),
    }
    routing_cold = timed(client, pid, [TABS["routing 30d"]], 1)
    results["routing 30d, never counted before"] = routing_cold
    for name, path in TABS.items():
        results[name] = timed(client, pid, [path.format(key=key)], args.repeat)
    for name in ("ledger one backend", "ledger errors"):
        results[f"{name}, paged"] = paged(client, TABS[name], 100)
    client.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--home", type=Path, default=Path("/tmp/yard-dashboard-1m"))
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "latest.json")
    args = parser.parse_args()
    now = datetime.now(UTC)
    filled = fill(args.home, args.rows, now)
    live(args.home, now)
    with connect(None, args.home).begin() as conn:  # routing counts start cold in every run
        for table in ("route_hourly", "route_hours", "route_daily", "route_days"):
            conn.execute(sa.text(f"DELETE FROM {table}"))
    results = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "rows": args.rows,
        "fill_s": round(filled, 1),
        "machine": {"cores": os.cpu_count(), "loadavg_before": os.getloadavg()},
        "gateway": measure(args.home, args),
        "yard usage": usage_before_and_after(args.home),
    }
    results["machine"]["loadavg_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    print(orjson.dumps(results, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
