"""A ledger of a busy month: ``--rows`` requests over 30 days, and 5 minutes of live traffic.

Twenty keys, six public models over four backends (one self-hosted on an H100), `auto` routing
for 60% of requests (its route reasons as JSON, 5% private, 3% escalated), 3% errors, 30%
streamed. Rows are written as the gateway writes them (``insert_rows``, 1,000 a batch, time
order), so the triggers build ``usage_hourly`` as they would in service.

    python benchmarks/dashboard/fill.py --home /tmp/ledger-1m --rows 1000000
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from modelyard.serve import KeyStore, LedgerEntry, connect, count_rows, insert_rows, new_entry

MODELS = {"big": "home", "cheap": "remote-a", "gpt-4o": "openai", "mini": "remote-b"}
AUTO_CANDIDATES = ["cheap", "mini", "big", "gpt-4o"]
REASONS = ["cheapest allowed", "router, cheapest within 0.100 of best", "pinned to session"]
PRIVATE = ["email", "iban", "phone", "person", "health"]
LIVE_S, LIVE_RPS = 300, 12


def keys(home: Path) -> list[str]:
    """Twenty keys in the store, their ids."""
    store = KeyStore.open(connect(None, home))
    return [store.create(f"team-{i:02d}", budget_usd=100.0)[0].id for i in range(20)]


def entry(when: datetime, rng: random.Random, key_ids: list[str]) -> LedgerEntry:
    auto = rng.random() < 0.6
    model = rng.choice(AUTO_CANDIDATES) if auto else rng.choice(list(MODELS))
    status = rng.choice([500, 502, 429, 401]) if rng.random() < 0.03 else 200
    refused = status in (401, 429)
    stream = rng.random() < 0.3
    prompt, completion = rng.randint(50, 4000), rng.randint(10, 800)
    duration = rng.randint(200, 9000)
    reason = None if refused else _reason(rng, model) if auto else "first in chain"
    return new_entry(
        datetime_utc=when.isoformat(timespec="milliseconds"),
        key_id=rng.choice(key_ids),
        requested_model="auto" if auto else model,
        served_model=None if refused else model,
        backend=None if refused else MODELS[model],
        endpoint="chat.completions",
        stream=stream,
        status=status,
        prompt_tokens=None if refused else prompt,
        completion_tokens=None if refused or status >= 400 else completion,
        cached_tokens=None if refused else rng.randint(0, prompt // 4),
        cost_usd=None if refused else (prompt * 2.5 + completion * 10) / 1e6,
        duration_ms=duration,
        ttft_ms=rng.randint(30, 900) if stream and status == 200 else None,
        route_reason=reason,
    )


def _reason(rng: random.Random, model: str) -> str:
    private = [rng.choice(PRIVATE)] if rng.random() < 0.05 else []
    reason = rng.choice(REASONS)
    attempts = (
        [f"{rng.choice(AUTO_CANDIDATES)}: reply doubted, escalated"]
        if (rng.random() < 0.03)
        else []
    )
    verdict = {
        "private": private,
        "reason": ("private data, self-hosted only; " if private else "") + reason,
        "chosen": model,
        "attempts": attempts,
    }
    return orjson.dumps(verdict).decode()


def history(rows: int, now: datetime, rng: random.Random) -> Iterator[datetime]:
    """``rows`` times, in order, over the 30 days before ``now``."""
    start = now - timedelta(days=30)
    span = timedelta(days=30).total_seconds()
    for offset in sorted(rng.random() * span for _ in range(rows)):
        yield start + timedelta(seconds=offset)


def write(home: Path, moments: Iterator[datetime], rng: random.Random) -> float:
    """One row per moment (batches of 1,000, as the ledger's writer inserts); the seconds."""
    engine = connect(None, home)
    key_ids = [k.id for k in KeyStore.open(engine).list()] or keys(home)
    t0 = time.perf_counter()
    batch: list[LedgerEntry] = []
    for when in moments:
        batch.append(entry(when, rng, key_ids))
        if len(batch) == 1000:
            insert_rows(engine, batch)
            batch = []
    insert_rows(engine, batch)
    engine.dispose()
    return time.perf_counter() - t0


def fill(home: Path, rows: int, now: datetime) -> float:
    """The month's history under ``home`` (kept: a second run reuses it); the seconds it took."""
    if (home / "ledger.db").is_file() and count_rows(connect(None, home)) >= rows:
        return 0.0
    return write(
        home, history(rows, now - timedelta(seconds=LIVE_S), random.Random(0)), random.Random(0)
    )


def live(home: Path, now: datetime) -> float:
    """The last ``LIVE_S`` seconds of traffic at ``LIVE_RPS``, written now."""
    start = now - timedelta(seconds=LIVE_S)
    moments = (start + timedelta(seconds=i / LIVE_RPS) for i in range(LIVE_S * LIVE_RPS))
    return write(home, moments, random.Random(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    now = datetime.now(UTC)
    seconds = fill(args.home, args.rows, now) + live(args.home, now)
    print(f"{args.rows:,} rows and a live window in {seconds:.0f} s, in {args.home}")


if __name__ == "__main__":
    main()
