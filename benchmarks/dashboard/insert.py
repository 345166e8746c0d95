"""What the dashboard costs the ledger's writer: microseconds per inserted row on SQLite.

The writer runs beside the request path (a thread; SQLite releases the GIL while it works), so
this is CPU the gateway cannot spend on requests once a core is saturated. Variants, run in
turns (best of ``--rounds``), each inserting the same ``--rows`` time-ordered rows in batches of
1,000 as ``Ledger`` does:

- before: the schema without migration m005 (no rollups, the two old indexes);
- m005 indexes, no rollup: the ledger-search indexes alone;
- m005, per-row triggers: the rollups kept by an SQLite trigger per inserted row (the design
  the PostgreSQL statement trigger has, which SQLite cannot do per statement);
- m005 as shipped: the rollups summed per batch in Python (serve/rollup.py).

    python benchmarks/dashboard/insert.py [--rows 60000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import operator
import os
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import sqlalchemy as sa

from modelyard.serve import migrations
from modelyard.serve.ledger import (
    LedgerEntry,
    _insert_sql,
    _sqlite_pragmas,
    insert_rows,
    new_entry,
)
from modelyard.serve.migrations import _GRAINS, _usage_into, _usage_row, _usage_update

HERE = Path(__file__).resolve().parent
VARIANTS = ("before", "m005 indexes, no rollup", "m005, per-row triggers", "m005 as shipped")


def rows(count: int) -> list[LedgerEntry]:
    rng = random.Random(0)
    when = datetime(2026, 3, 1, tzinfo=UTC)
    out = []
    for _ in range(count):
        when += timedelta(milliseconds=rng.randint(1, 20))
        out.append(
            new_entry(
                datetime_utc=when.isoformat(timespec="milliseconds"),
                key_id=rng.choice(["01JKEY1", "01JKEY2", "01JKEY3"]),
                requested_model=rng.choice(["auto", "big"]),
                served_model=rng.choice(["a", "b"]),
                backend=rng.choice(["x", "y"]),
                status=rng.choice([200] * 20 + [502]),
                prompt_tokens=100,
                completion_tokens=50,
                cost_usd=0.001,
                duration_ms=500,
                ttft_ms=50,
                route_reason='{"reason": "cheapest allowed", "private": []}',
            )
        )
    return out


def ledger(variant: str, folder: Path) -> sa.Engine:
    engine = sa.create_engine(f"sqlite:///{folder / 'ledger.db'}")
    _sqlite_pragmas(engine, durable=False)
    kept = list(migrations.MIGRATIONS)
    if variant == "before":
        migrations.MIGRATIONS[:] = kept[:4]
    try:
        migrations.migrate(engine)
    finally:
        migrations.MIGRATIONS[:] = kept
    if variant == "m005, per-row triggers":
        with engine.begin() as conn:
            body = "\n".join(
                f"{_usage_into(t, p)} VALUES ({_usage_row('NEW', n)}) {_usage_update(t, p, '+')};"
                for t, p, n in _GRAINS
            )
            conn.exec_driver_sql(
                f"CREATE TRIGGER per_row AFTER INSERT ON requests BEGIN\n{body}\nEND"
            )
    return engine


def insert(engine: sa.Engine, batch: list[LedgerEntry], shipped: bool) -> None:
    """``insert_rows`` as shipped, or the plain insert it made before the rollups."""
    if shipped:
        insert_rows(engine, batch)
        return
    sql, columns = _insert_sql(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql(sql, list(map(operator.attrgetter(*columns), batch)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "insert.json")
    args = parser.parse_args()
    load = os.getloadavg()
    data = rows(args.rows)
    best: dict[str, float] = {}
    for _ in range(args.rounds):
        for variant in VARIANTS:
            with tempfile.TemporaryDirectory() as tmp:
                engine = ledger(variant, Path(tmp))
                t0 = time.perf_counter()
                for start in range(0, len(data), 1000):
                    insert(engine, data[start : start + 1000], variant == "m005 as shipped")
                took = (time.perf_counter() - t0) / len(data) * 1e6
                best[variant] = min(best.get(variant, took), took)
                engine.dispose()
    result = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "loadavg_before": load,
        "rows": args.rows,
        "rounds": args.rounds,
        "us_per_row_best": {k: round(v, 1) for k, v in best.items()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    for variant, us in best.items():
        print(f"{variant:28s} {us:6.1f} us/row (best of {args.rounds})")


if __name__ == "__main__":
    main()
