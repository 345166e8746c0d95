"""The dashboard's pieces on their own: route reasons read into facts, live figures from ledger
rows, session tokens, and the planner's side of plan vs reality."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from modelyard.catalog import cached_catalog
from modelyard.serve.backends import Backend
from modelyard.serve.config import BackendConfig
from modelyard.serve.ledger import connect, insert_rows, new_entry
from modelyard.serve.live import live_stats
from modelyard.serve.reality import reality
from modelyard.serve.routing_stats import route_facts
from modelyard.serve.ui.session import Sessions, set_cookie
from modelyard.serve.usage import UsageRow


def auto(**verdict: object) -> str:
    return orjson.dumps(verdict).decode()


@pytest.mark.parametrize(
    ("reason", "backend", "status", "facts"),
    [
        ("first in chain", "a", 200, [("kind", "named"), ("reason", "first in chain")]),
        (
            "a: HTTP 503; a: timed out",
            "a",
            200,
            [("kind", "named"), ("reason", "retried"), ("fell_back_from", "a")],
        ),
        (
            "a: breaker open",
            "b",
            200,
            [("kind", "named"), ("reason", "fell back"), ("fell_back_from", "a")],
        ),
        (None, None, 401, [("kind", "refused")]),
        ("{not json", None, 404, [("kind", "refused")]),
        (
            auto(reason="cheapest allowed", private=[], attempts=[]),
            "b",
            200,
            [("kind", "auto"), ("reason", "cheapest allowed")],
        ),
        (
            auto(
                reason="private data, self-hosted only; cheapest allowed",
                private=["email", "iban"],
                attempts=["cheap: reply doubted, escalated", "big: HTTP 500"],
            ),
            "b",
            200,
            [
                ("kind", "auto"),
                ("reason", "cheapest allowed"),
                ("private", "email"),
                ("private", "iban"),
                ("escalated_from", "cheap"),
                ("fell_back_from", "big"),
            ],
        ),
        (
            auto(reason="key is private, self-hosted only; pinned to session", private=["key"]),
            "b",
            200,
            [("kind", "auto"), ("reason", "pinned to session"), ("private", "key")],
        ),
        (
            auto(chosen=None, reason="", private="weird", attempts=7),
            None,
            400,
            [("kind", "auto"), ("reason", "no candidate could take it")],
        ),
    ],
)
def test_route_reasons_become_facts(
    reason: str | None, backend: str | None, status: int, facts: list[tuple[str, str]]
) -> None:
    assert sorted(route_facts(reason, backend, status)) == sorted(facts)


def test_live_figures_from_the_newest_rows(yard_home: Path) -> None:
    engine = connect(None, yard_home)
    now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    rows = [
        new_entry(
            datetime_utc=(now - timedelta(seconds=s)).isoformat(timespec="milliseconds"),
            served_model="m",
            backend="b",
            status=500 if s % 10 == 0 else 200,
            duration_ms=s,
            ttft_ms=s // 2 if s % 2 else None,
        )
        for s in range(1, 101)
    ] + [new_entry(datetime_utc=(now - timedelta(hours=1)).isoformat(), status=200)]
    insert_rows(engine, rows)
    live = live_stats(engine, now, window_s=300)
    assert (live.requests, live.errors) == (100, 10)  # the hour-old row is outside the window
    assert live.req_s == pytest.approx(100 / 300) and not live.truncated
    assert (live.latency.p50_ms, live.latency.p95_ms) == (50, 95)
    assert live.ttft.p50_ms == 24  # odd durations streamed: 1..99 halved
    (group,) = live.groups
    assert (group.model, group.backend, group.error_rate) == ("m", "b", 0.1)
    assert len(live.series) == 31 and sum(b.req_s * 10 for b in live.series) == pytest.approx(100)
    capped = live_stats(engine, now, window_s=300, cap=20)
    assert capped.truncated and capped.requests == 20
    assert capped.covered_s == pytest.approx(20) and capped.req_s == pytest.approx(1.0)
    assert live_stats(engine, now + timedelta(days=1)).requests == 0


def test_sessions_expire_and_bind_their_csrf_token() -> None:
    clock = [1_000_000.0]
    sessions = Sessions("admin", lifetime_s=60, clock=lambda: clock[0])
    token, session = sessions.issue()
    assert sessions.read(token) == session
    assert sessions.csrf_ok(session, session.csrf) and not sessions.csrf_ok(session, None)
    other_token, other = sessions.issue()
    assert other.csrf != session.csrf and not sessions.csrf_ok(session, other.csrf)
    clock[0] += 61
    assert sessions.read(token) is None
    assert Sessions("admin", clock=lambda: clock[0]).read(other_token) is None
    cookie = set_cookie(token, 60, secure=True)
    assert cookie.endswith("HttpOnly; SameSite=Strict; Secure")


def test_the_planner_side_says_why_it_is_missing() -> None:
    catalog = cached_catalog()
    unknown_gpu = Backend(
        BackendConfig(
            name="g", base_url="http://x/v1", self_hosted=True, model="llama-3.1-8b-instruct"
        )
    )
    unknown_model = Backend(
        BackendConfig(
            name="u",
            base_url="http://x/v1",
            self_hosted=True,
            model="my-private-finetune",
            gpu="1xH100",
        )
    )
    remote = Backend(BackendConfig(name="r", base_url="http://x/v1", model="gpt-4o"))
    planned = Backend(
        BackendConfig(
            name="p",
            base_url="http://x/v1",
            self_hosted=True,
            model="Qwen/Qwen3-8B",
            gpu="2xH100",
            usd_per_hour=4.0,
        )
    )
    usage = {"p": UsageRow("p", None, 10, 0, 10_000, 4_000, 0, 0.1, 20_000, 16_000)}
    rows = {
        r.backend: r
        for r in reality([unknown_gpu, unknown_model, remote, planned], usage, 2.0, catalog)
    }
    assert set(rows) == {"g", "u", "p"}
    assert "gpu" in (rows["g"].why_no_plan or "") and rows["g"].planned is None
    assert "my-private-finetune" in (rows["u"].why_no_plan or "")
    p = rows["p"]
    assert p.planned is not None and p.planned.model == "qwen3-8b" and "2×" in p.planned.hardware
    assert p.tok_s == pytest.approx(4_000 / 16)  # output tokens over generation seconds
    assert p.usd_per_mtok == pytest.approx(4.0 * 2.0 / 4_000 * 1e6)
    assert rows["g"].usd_per_hour is None  # unpriced, not $0
