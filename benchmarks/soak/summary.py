"""Scale-out: replicas sharing PostgreSQL and Redis: throughput, a soak with faults, kill tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from perfdoc import Section, goal, load, num, table

RESULTS = Path(__file__).resolve().parent / "results"
THROUGHPUT = RESULTS / "throughput.json"
SOAKS = (RESULTS / "soak-10min.json", RESULTS / "soak-2min-current.json")
TARGETS = {
    "1_replica_local_state": "1 replica, in-process limits (no Redis)",
    "1_replica": "1 replica, Redis-shared limits/budget/breaker",
    "3_replicas": "3 replicas, Redis-shared",
}
P99_BOUND_MS = 300
RECOVERY = {
    "restart_to_ready_s": "ready again",
    "redis_back_to_shared_state_s": "shared state back",
    "backlog_landed_after_start_s": "backlog landed",
}


def _started(run: dict[str, Any]) -> str:
    """``2026-11-22T22:18:08Z`` -> ``2026-11-22 22:18``."""
    return str(run["started_utc"][:16]).replace("T", " ")


def _soak_row(run: dict[str, Any]) -> list[object]:
    soak = run["soak"]
    errors = sum(n for status, n in soak["statuses"].items() if status != "200")
    minutes = soak["p99_ms_per_minute"]
    held = sum(p99 <= P99_BOUND_MS for p99 in minutes)
    rss = soak["rss"]
    return [_started(run), num(soak["requests"]), errors,
            soak["answered_missing_from_ledger"], num(soak["p50_ms"], 1),
            num(soak["p99_ms"]), f"{held} of {len(minutes)}",
            f"{num(max(rss[0]['rss_mib']), 1)} → {num(max(rss[-1]['rss_mib']), 1)}"]  # fmt: skip


def _kill_row(name: str, kill: dict[str, Any]) -> list[object]:
    recovery = next(f"{label} {num(kill[key], 2)} s" for key, label in RECOVERY.items()
                    if key in kill)  # fmt: skip
    return [name, num(kill["requests"]), num(kill["acknowledged"]),
            num(kill["requests"] - kill["acknowledged"]), kill["acknowledged_lost"],
            recovery]  # fmt: skip


def section() -> Section:
    throughput = load(THROUGHPUT)
    soaks = [(path, load(path)) for path in SOAKS]
    current = soaks[-1][1]
    speed = [[TARGETS.get(k, k), num(v["ok_per_s"]), num(v["p50_ms"], 1), num(v["p99_ms"], 1)]
             for k, v in throughput["throughput"].items()]  # fmt: skip
    soak_cols = ["run", "requests", "not 200", "lost", "p50 ms", "p99 ms",
                 f"minutes p99 ≤ {P99_BOUND_MS}", "RSS MiB"]  # fmt: skip
    kills = [_kill_row(name, kill) for name, kill in current["kills"].items()]
    lost = sum(run["soak"]["answered_missing_from_ledger"] for _, run in soaks) + sum(
        kill["acknowledged_lost"] for _, run in soaks for kill in run["kills"].values()
    )
    args = current["args"]
    body = (
        f"Throughput: closed loop, {args['concurrency']} clients, "
        f"{num(float(throughput['args']['throughput_seconds']))} s, an upstream answering at "
        f"once ({_started(throughput)}):\n\n"
        + table(["target", "req/s", "p50 ms", "p99 ms"], speed)
        + f"\n\nSoak: 3 replicas, open loop at {num(float(args['rate']))} req/s with faults:\n\n"
        + table(soak_cols, [_soak_row(run) for _, run in soaks])
        + f"\n\nKill tests ({_started(current)}), 3 replicas, "
        f"{num(float(args['rate']))} req/s for {num(float(args['kill_seconds']))} s each:\n\n"
        + table(["fault, mid-load", "requests", "200", "errors", "lost", "recovery"], kills)
        + "\n\n"
        + goal("no answered request missing from the ledger", lost == 0, f"{lost} lost")
    )
    return Section(
        title="Scale-out",
        command=(
            'eval "$(scripts/services.sh start)"   # PostgreSQL + Redis on loopback\n'
            ".venv/bin/python benchmarks/soak/run.py --phases throughput"
            " --out benchmarks/soak/results/throughput.json\n"
            ".venv/bin/python benchmarks/soak/run.py --phases soak,kills --minutes 10"
            " --out benchmarks/soak/results/soak-10min.json"
        ),
        results=(THROUGHPUT, *SOAKS),
        when=f"on {current['cpus']} CPUs shared with other jobs (dates per table)",
        body=body,
        notes=(
            "Gateway replicas (`yard serve`, one worker each) sharing one PostgreSQL ledger and "
            "one Redis, with the fake upstream (`tests/serve/fault_upstream.py`) and the load "
            "generator (`benchmarks/soak/load.py`) on the same machine, so more replicas cannot "
            "scale on its few cores. The key has an RPM limit and a budget, so every request "
            "runs the Redis scripts. Soak faults: the upstream fails some requests with 503, "
            "drops some connections and answers some slowly; the gateway retries. The soak's "
            'p99 sits at the injected slow answers by construction. "lost" = answered 200 to '
            "the client but absent from the ledger after it drains; the kill test's errors are "
            "the dead replica's share of a blind round-robin (a load balancer with health "
            "checks stops sending to it). The older soak ran before the breaker cache; the "
            "later one is the final code. The guarantee needs PostgreSQL's "
            "`synchronous_commit` on (docs/ledger.md)."
        ),
    )
