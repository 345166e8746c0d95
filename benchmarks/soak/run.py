"""Scale-out soak: gateway replicas on one PostgreSQL ledger and one Redis, loopback only.

    eval "$(scripts/services.sh start)"
    .venv/bin/python benchmarks/soak/run.py --minutes 10      # --help for rate, phases, ...

Three phases, each with its own processes: throughput (closed loop, a clean upstream, 1 and 3
replicas); soak (3 replicas, a fault-injecting upstream, a steady open-loop rate; RSS sampled,
p99 per minute, every answered request looked up in the ledger); kills (kill -9 a replica,
restart Redis, restart PostgreSQL, each mid-load: what was lost and how long recovery took).
Writes JSON to --out and prints it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
import sqlalchemy as sa
from cluster import Replicas, gateway_yaml, services, start_upstream
from load import Result, closed_loop, open_loop, percentile
from ulid import ULID

from modelyard.serve import KeyStore, Ledger

HERE = Path(__file__).resolve().parent
FAULTS = ("--error-rate", "0.02", "--slow-rate", "0.01", "--reset-rate", "0.005", "--delay-ms", "5")
TARGETS = (("1_replica_local_state", 1, False), ("1_replica", 1, True), ("3_replicas", 3, True))
"""Throughput targets: (label, replicas, limits/budgets/breakers in Redis)."""
CLEAN = ("--error-rate", "0", "--slow-rate", "0", "--reset-rate", "0", "--delay-ms", "0")


class Bench:
    """Shared setup: the ledger, a key (with RPM and budget, so Redis is on the path), a prefix."""

    def __init__(self, args: argparse.Namespace, root: Path) -> None:
        self.args, self.root = args, root
        self.ledger = Ledger.open(args.postgres, root / "bench-home")
        info, self.key = KeyStore.open(self.ledger.engine).create(
            "soak", rpm=10_000_000, budget_usd=1_000_000.0
        )
        self.key_id = info.id
        self.prefix = f"soak:{ULID()}:"

    def replicas(self, name: str, upstream: str, count: int, shared: bool = True) -> Replicas:
        redis_url = self.args.redis if shared else None
        config = gateway_yaml(upstream, self.args.postgres, redis_url, self.prefix)
        return Replicas(self.root / name, config, count)

    def missing(self, results: list[Result], timeout: float = 60) -> int:
        """Answered requests (any status) whose row is not in the ledger after ``timeout``."""
        ids = {r.request_id for r in results if r.request_id}
        deadline = time.monotonic() + timeout
        while ids and time.monotonic() < deadline:
            ids -= _in_ledger(self.ledger.engine, ids)
            time.sleep(0.5)
        return len(ids)


def _in_ledger(engine: sa.Engine, ids: set[str]) -> set[str]:
    found: set[str] = set()
    ordered = sorted(ids)
    query = sa.text("select id from requests where id in :ids").bindparams(
        sa.bindparam("ids", expanding=True)
    )
    try:
        with engine.connect() as conn:
            for at in range(0, len(ordered), 1000):
                found.update(r[0] for r in conn.execute(query, {"ids": ordered[at : at + 1000]}))
    except sa.exc.OperationalError:
        pass  # a pooled connection from before a restart; the next poll gets a fresh one
    return found


def summary(results: list[Result], seconds: float) -> dict[str, Any]:
    ok = [r.latency * 1000 for r in results if r.status == 200]
    statuses: dict[str, int] = {}
    for r in results:
        statuses[str(r.status)] = statuses.get(str(r.status), 0) + 1
    return {
        "requests": len(results),
        "ok_per_s": round(len(ok) / seconds, 1),
        "p50_ms": round(percentile(ok, 0.5), 2),
        "p99_ms": round(percentile(ok, 0.99), 2),
        "statuses": statuses,
    }


def throughput(bench: Bench) -> dict[str, Any]:
    proc, upstream = start_upstream(bench.root / "clean-upstream.log", *CLEAN)
    out = {}
    try:
        for label, count, shared in TARGETS:
            with bench.replicas(label, upstream, count, shared) as replicas:
                seconds = bench.args.throughput_seconds
                results = asyncio.run(
                    closed_loop(replicas.urls, bench.key, bench.args.concurrency, seconds)
                )
                out[label] = summary(results, seconds)
    finally:
        proc.terminate()
    return out


def soak(bench: Bench) -> dict[str, Any]:
    proc, upstream = start_upstream(bench.root / "soak-upstream.log", *FAULTS)
    seconds = bench.args.minutes * 60
    rss: list[dict[str, Any]] = []
    try:
        with bench.replicas("soak", upstream, 3) as replicas:

            async def sample(elapsed: float) -> None:
                if int(elapsed) % bench.args.sample_s == 0:
                    rss.append(
                        {"t_s": int(elapsed), "rss_mib": [round(m, 1) for m in replicas.rss_mib()]}
                    )

            results = asyncio.run(
                open_loop(replicas.urls, bench.key, bench.args.rate, seconds, sample)
            )
    finally:
        proc.terminate()
    start = results[0].due
    per_minute = [
        round(percentile([r.latency * 1000 for r in results
                          if r.status == 200 and m * 60 <= r.due - start < (m + 1) * 60], 0.99), 2)
        for m in range(max(1, int(seconds // 60)))
    ]  # fmt: skip
    return {**summary(results, seconds), "rate": bench.args.rate, "seconds": seconds,
            "p99_ms_per_minute": per_minute, "rss": rss,
            "answered_missing_from_ledger": bench.missing(results)}  # fmt: skip


def kills(bench: Bench) -> dict[str, Any]:
    proc, upstream = start_upstream(bench.root / "kill-upstream.log", *FAULTS)
    try:
        with bench.replicas("kills", upstream, 3) as replicas:
            return {
                "kill -9 replica": _scenario(bench, replicas, _kill_replica(replicas)),
                "restart redis": _scenario(bench, replicas, _restart_redis(bench)),
                "restart postgres": _scenario(bench, replicas, _restart_postgres(bench)),
            }
    finally:
        proc.terminate()


def _scenario(bench: Bench, replicas: Replicas, fault: Callable) -> dict[str, Any]:
    seconds = bench.args.kill_seconds
    sink: list[Result] = []
    recovery: dict[str, float] = {}

    async def every(elapsed: float) -> None:
        await fault(elapsed, sink, recovery)

    results = asyncio.run(
        open_loop(replicas.urls, bench.key, bench.args.rate, seconds, every, sink)
    )
    acked = [r for r in results if r.status == 200]
    return {**summary(results, seconds), "acknowledged": len(acked),
            "acknowledged_lost": bench.missing(acked), **recovery}  # fmt: skip


def _kill_replica(replicas: Replicas) -> Callable:
    async def fault(elapsed: float, sink: list, recovery: dict) -> None:
        if int(elapsed) == 2:
            replicas.kill(2)
        if int(elapsed) == 3:
            started = await asyncio.to_thread(replicas.start, 2)
            recovery["restart_to_ready_s"] = round(started, 2)

    return fault


def _restart_redis(bench: Bench) -> Callable:
    window = f"{bench.prefix}rpm:{bench.key_id}"

    async def fault(elapsed: float, sink: list, recovery: dict) -> None:
        if int(elapsed) == 2:
            await asyncio.to_thread(services, "stop", "redis")
        if int(elapsed) == 4:
            await asyncio.to_thread(services, "start", "redis")
            t0 = time.monotonic()
            client = redis.Redis.from_url(bench.args.redis)
            while not client.zcard(window) and time.monotonic() - t0 < 10:
                await asyncio.sleep(0.02)
            client.close()
            recovery["redis_back_to_shared_state_s"] = round(time.monotonic() - t0, 2)

    return fault


def _restart_postgres(bench: Bench) -> Callable:
    async def fault(elapsed: float, sink: list, recovery: dict) -> None:
        if int(elapsed) == 2:
            await asyncio.to_thread(services, "stop", "postgres")
        if int(elapsed) == 5:
            await asyncio.to_thread(services, "start", "postgres")
            t0 = time.monotonic()
            acked = [r for r in sink if r.status == 200]
            left = await asyncio.to_thread(bench.missing, acked, 30)
            recovery["backlog_landed_after_start_s"] = round(time.monotonic() - t0, 2)
            recovery["backlog_rows"] = len(acked)
            recovery["backlog_missing_after_30s"] = left

    return fault


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="soak length")
    parser.add_argument("--rate", type=float, default=100.0, help="open-loop requests/s")
    parser.add_argument("--concurrency", type=int, default=16, help="closed-loop clients")
    parser.add_argument("--throughput-seconds", type=float, default=15.0)
    parser.add_argument("--kill-seconds", type=float, default=10.0)
    parser.add_argument("--sample-s", type=int, default=30, help="RSS sampling period")
    parser.add_argument("--phases", default="throughput,soak,kills")
    parser.add_argument("--postgres", default=os.environ.get("YARD_TEST_POSTGRES_URL"))
    parser.add_argument("--redis", default=os.environ.get("YARD_TEST_REDIS_URL"))
    parser.add_argument("--out", type=Path, default=HERE / "results" / "latest.json")
    args = parser.parse_args()
    if not (args.postgres and args.redis):
        parser.error('no --postgres/--redis: run eval "$(scripts/services.sh start)" first')
    phases = {"throughput": throughput, "soak": soak, "kills": kills}
    with tempfile.TemporaryDirectory(prefix="yard-soak-") as tmp:
        bench = Bench(args, Path(tmp))
        started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        report: dict[str, Any] = {
            "args": {k: str(v) for k, v in vars(args).items()},
            "cpus": os.cpu_count(),
            "started_utc": started,
        }
        for name in args.phases.split(","):
            report[name] = phases[name](bench)
            print(json.dumps({name: report[name]}, indent=1), flush=True)
        bench.ledger.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
