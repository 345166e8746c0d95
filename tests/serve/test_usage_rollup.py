"""The rollups give exactly what the ledger's rows give, on SQLite and PostgreSQL: usage sums
(`usage_hourly`/`usage_daily`, kept by triggers) after batched inserts, replayed duplicates and
deletes, from any `since`; and the routing counts (`route_hourly`/`route_daily`, folded by the
gateway) as rows arrive late and are deleted."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

from modelyard.catalog import ApiOffer, Ref
from modelyard.serve.ledger import Ledger, LedgerEntry, insert_rows, new_entry
from modelyard.serve.routing_stats import route_facts, routing_summary
from modelyard.serve.usage import NO_BACKEND, NO_KEY, UsageRow, over_time, summarize
from tests.serve.databases import ledger_url

OFFER = ApiOffer(
    id="t/p",
    provider="T",
    model_name="p",
    input_per_mtok=2.0,
    cached_input_per_mtok=0.5,
    output_per_mtok=8.0,
    ref=Ref(source="x"),
)


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request: pytest.FixtureRequest, yard_home: Path) -> Iterator[Ledger]:
    with ledger_url(request.param, yard_home) as url:
        opened = Ledger.open(url, yard_home, flush_interval_s=3600)
        yield opened
        opened.close()


def entries(n: int, seed: int = 0) -> list[LedgerEntry]:
    """Requests over three days and several hours, keys, models and backends, some refused."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        refused = rng.random() < 0.1
        status = rng.choice([401, 429]) if refused else rng.choice([200, 200, 200, 502])
        out.append(
            new_entry(
                datetime_utc=f"2026-03-0{rng.randint(1, 3)}T{rng.randint(0, 23):02d}:"
                f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.000+00:00",
                key_id=rng.choice([None, "k1", "k2"]),
                requested_model=rng.choice(["auto", "big", "small"]),
                served_model=None if refused else rng.choice(["big", "small"]),
                backend=None if refused else rng.choice(["gpu", "api"]),
                status=status,
                prompt_tokens=None if refused else rng.randint(1, 5000),
                completion_tokens=None if refused else rng.randint(0, 900),
                cached_tokens=None if refused else rng.randint(0, 100),
                cost_usd=None if refused else rng.random() / 100,
                duration_ms=rng.randint(1, 9000),
                ttft_ms=None if refused or rng.random() < 0.3 else rng.randint(1, 500),
            )
        )
    return out


def expected(rows: list[LedgerEntry], since: str | None, by: str) -> dict[str, list[float]]:
    """Requests, errors, tokens, cost, duration and generation time per group, summed here."""
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0] * 8)
    for e in rows:
        if since is not None and e.datetime_utc < since:
            continue
        group = {
            "key": e.key_id or "",
            "model": e.served_model or e.requested_model or "?",
            "backend": e.backend or "",
            "day": e.datetime_utc[:10],
            "hour": e.datetime_utc[:13],
        }[by]
        ok = e.status < 400
        generation = (e.duration_ms or 0) - (e.ttft_ms or 0) if ok else 0
        tokens = [e.prompt_tokens or 0, e.completion_tokens or 0, e.cached_tokens or 0]
        figures = [1, int(not ok), *tokens, e.cost_usd or 0.0, e.duration_ms or 0, generation]
        sums[group] = [a + b for a, b in zip(sums[group], figures, strict=True)]
    return dict(sums)


def got(rows: list[UsageRow], rename: dict[str, str] | None = None) -> dict[str, list[float]]:
    rename = rename or {}
    return {
        rename.get(r.group, r.group): [
            r.requests,
            r.errors,
            r.prompt_tokens,
            r.completion_tokens,
            r.cached_tokens,
            r.cost_usd,
            r.duration_ms,
            r.generation_ms,
        ]
        for r in rows
    }


def check(ledger: Ledger, rows: list[LedgerEntry], since: str | None) -> None:
    report = summarize(ledger.engine, since, OFFER)
    for by, found, rename in (
        ("key", report.by_key, {NO_KEY: ""}),
        ("model", report.by_model, {}),
        ("backend", report.by_backend, {NO_BACKEND: ""}),
        ("day", report.by_day, {}),
        ("hour", over_time(ledger.engine, since, None, "hour"), {}),
    ):
        want, have = expected(rows, since, by), got(found, rename)
        assert have.keys() == want.keys(), by
        for group, figures in want.items():
            assert have[group] == pytest.approx(figures), (by, group)
    total = expected(rows, since, "day")
    assert report.total.requests == sum(v[0] for v in total.values())
    assert report.total.vs_cost_usd == pytest.approx(sum(r.vs_cost_usd or 0 for r in report.by_day))


def test_rollup_equals_the_rows_from_any_since(ledger: Ledger) -> None:
    rows = entries(600)
    for start in range(0, 600, 150):  # batches, as the ledger's writer inserts them
        insert_rows(ledger.engine, rows[start : start + 150])
    insert_rows(ledger.engine, rows[:40])  # a replayed journal: duplicates change nothing
    for since in (
        None,
        "2026-03-01T00:00:00.000+00:00",
        "2026-03-02T13:27:41.500+00:00",
        "2026-03-03T23:59:00.000+00:00",
        "2026-04-01T00:00:00.000+00:00",
    ):
        check(ledger, rows, since)


def test_deleting_rows_takes_them_out_of_the_rollup(ledger: Ledger) -> None:
    rows = entries(300, seed=1)
    insert_rows(ledger.engine, rows)
    gone = {e.id for e in rows if e.datetime_utc < "2026-03-02"}
    with ledger.engine.begin() as conn:  # an operator pruning old rows
        conn.execute(sa.text("DELETE FROM requests WHERE datetime_utc < '2026-03-02'"))
    kept = [e for e in rows if e.id not in gone]
    check(ledger, kept, None)
    with ledger.engine.connect() as conn:
        hours = conn.execute(sa.text("SELECT min(hour) FROM usage_hourly")).scalar_one()
    assert hours >= "2026-03-02"  # emptied groups are removed, not left at zero


def test_rows_written_by_the_gateway_ledger_are_counted(ledger: Ledger) -> None:
    rows = entries(50, seed=2)
    for entry in rows:
        ledger.record(entry)
    assert ledger.flush() == 50
    check(ledger, rows, None)


def routed(n: int, seed: int) -> list[LedgerEntry]:
    """Requests with route reasons: `auto` (private kinds, escalations), named, refused."""
    rng = random.Random(seed)
    rows = entries(n, seed)
    for e in rows:
        if e.backend is None:
            continue
        if e.requested_model == "auto":
            verdict = {
                "reason": rng.choice(["cheapest allowed", "pinned to session"]),
                "private": rng.sample(["email", "iban", "phone"], rng.randint(0, 2)),
                "attempts": ["cheap: doubted, escalated"] if rng.random() < 0.2 else [],
            }
            e.route_reason = orjson.dumps(verdict).decode()
        else:
            e.route_reason = rng.choice(["first in chain", "gpu: HTTP 503", "api: timed out"])
    return rows


def counted(rows: list[LedgerEntry], since: str | None) -> Counter[tuple[str, str]]:
    return Counter(
        fact
        for e in rows
        if since is None or e.datetime_utc >= since
        for fact in route_facts(e.route_reason, e.backend, e.status)
    )


def summary_facts(ledger: Ledger, since: str | None) -> Counter[tuple[str, str]]:
    found = routing_summary(ledger.engine, since)
    return Counter(
        {
            (name, c.value): c.requests
            for name, counts in (
                ("kind", found.kinds),
                ("reason", found.reasons),
                ("private", found.private),
                ("escalated_from", found.escalated_from),
                ("fell_back_from", found.fell_back_from),
            )
            for c in counts
        }
    )


def test_routing_counts_stay_exact_as_rows_arrive_late_and_go(ledger: Ledger) -> None:
    rows = routed(500, seed=3)
    insert_rows(ledger.engine, rows[:300])
    sinces = [
        None,
        "2026-03-02T00:00:00.000+00:00",
        "2026-03-02T13:27:41.500+00:00",
        "2026-03-03T05:00:00.000+00:00",
    ]
    for since in sinces:
        assert summary_facts(ledger, since) == counted(rows[:300], since), since
    insert_rows(ledger.engine, rows[300:])  # late rows into hours and days already counted
    for since in sinces:
        assert summary_facts(ledger, since) == counted(rows, since), since
    with ledger.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM requests WHERE datetime_utc < '2026-03-02T12'"))
    kept = [e for e in rows if e.datetime_utc >= "2026-03-02T12"]
    for since in sinces:
        assert summary_facts(ledger, since) == counted(kept, since), since
