"""The dashboard's live figures, from the ledger's newest rows: requests per second, error rate,
latency and time to first token (p50, p95) per model and backend, in 10-second buckets.

The ledger is shared by every worker and replica, so these figures count the whole gateway,
whichever process answers. They lag by the ledger's flush interval (0.5 s). The newest rows are
read through the time index, at most ``cap`` of them, so a refresh costs the same at any
traffic: past ``cap`` requests per window the window shrinks to the newest ``cap`` (``covered_s``
says how long it is).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from modelyard.serve.usage import row_model

WINDOW_S = 300.0
CAP = 5000
BUCKET_CHARS = 18
"""``2026-03-01T10:00:1``: the first 18 characters of an ISO time name its 10-second bucket."""

_requests = sa.table(
    "requests",
    *(
        sa.column(c)
        for c in (
            "datetime_utc",
            "backend",
            "status",
            "duration_ms",
            "ttft_ms",
            "served_model",
            "requested_model",
        )
    ),
)


@dataclass(frozen=True)
class Percentiles:
    """p50 and p95 in milliseconds; None without a sample."""

    p50_ms: float | None
    p95_ms: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Percentiles:
        ordered = sorted(values)
        return cls(_rank(ordered, 0.50), _rank(ordered, 0.95))


@dataclass(frozen=True)
class LiveGroup:
    """One model on one backend over the window."""

    model: str
    backend: str
    requests: int
    errors: int
    req_s: float
    error_rate: float
    latency: Percentiles
    ttft: Percentiles
    """Of the streamed requests (the only ones with a first token)."""


@dataclass(frozen=True)
class LiveBucket:
    """Ten seconds of traffic."""

    start_utc: str
    req_s: float
    errors_s: float
    p95_ms: float | None


@dataclass(frozen=True)
class LiveStats:
    """The whole gateway over the window, then per model and backend, then over time."""

    now_utc: str
    covered_s: float
    """How far back the figures reach: the window, or less when ``cap`` rows filled it."""
    truncated: bool
    requests: int
    errors: int
    req_s: float
    error_rate: float
    latency: Percentiles
    ttft: Percentiles
    groups: list[LiveGroup] = field(default_factory=list)
    series: list[LiveBucket] = field(default_factory=list)


@dataclass
class _Rows:
    requests: int = 0
    errors: int = 0
    durations: list[float] = field(default_factory=list)
    ttfts: list[float] = field(default_factory=list)

    def add(self, status: int, duration: int | None, ttft: int | None) -> None:
        self.requests += 1
        self.errors += status >= 400
        if duration is not None:
            self.durations.append(duration)
        if ttft is not None:
            self.ttfts.append(ttft)


def live_stats(
    engine: Engine, now: datetime | None = None, window_s: float = WINDOW_S, cap: int = CAP
) -> LiveStats:
    """The newest ``window_s`` seconds of the ledger (at most ``cap`` rows)."""
    now = now or datetime.now(UTC)
    start = (now - timedelta(seconds=window_s)).isoformat(timespec="milliseconds")
    c = _requests.c
    query = (
        sa.select(c.datetime_utc, row_model(), c.backend, c.status, c.duration_ms, c.ttft_ms)
        .where(c.datetime_utc >= start)
        .order_by(c.datetime_utc.desc())
        .limit(cap)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    truncated = len(rows) == cap
    covered = window_s
    if truncated:
        covered = max((now - datetime.fromisoformat(rows[-1][0])).total_seconds(), 1e-3)
    return _summarize(rows, now, covered, truncated)


def _summarize(rows: Sequence[sa.Row], now: datetime, covered: float, truncated: bool) -> LiveStats:
    total = _Rows()
    groups: dict[tuple[str, str], _Rows] = defaultdict(_Rows)
    buckets: dict[str, _Rows] = defaultdict(_Rows)
    for when, model, backend, status, duration, ttft in rows:
        total.add(status, duration, ttft)
        groups[(model, backend or "")].add(status, duration, ttft)
        buckets[when[:BUCKET_CHARS]].add(status, duration, ttft)
    return LiveStats(
        now_utc=now.isoformat(timespec="milliseconds"),
        covered_s=covered,
        truncated=truncated,
        requests=total.requests,
        errors=total.errors,
        req_s=total.requests / covered,
        error_rate=total.errors / total.requests if total.requests else 0.0,
        latency=Percentiles.of(total.durations),
        ttft=Percentiles.of(total.ttfts),
        groups=[
            _group(model, backend, g, covered) for (model, backend), g in sorted(groups.items())
        ],
        series=_series(buckets, now, covered),
    )


def _group(model: str, backend: str, rows: _Rows, covered: float) -> LiveGroup:
    return LiveGroup(
        model=model,
        backend=backend,
        requests=rows.requests,
        errors=rows.errors,
        req_s=rows.requests / covered,
        error_rate=rows.errors / rows.requests,
        latency=Percentiles.of(rows.durations),
        ttft=Percentiles.of(rows.ttfts),
    )


def _series(buckets: dict[str, _Rows], now: datetime, covered: float) -> list[LiveBucket]:
    """Every 10-second bucket of the window, oldest first, empty ones included (a quiet
    gateway draws as zero, not as a gap)."""
    first = now - timedelta(seconds=covered)
    start = first.replace(second=first.second // 10 * 10, microsecond=0)
    out = []
    while start <= now:
        name = start.isoformat()[:BUCKET_CHARS]
        rows = buckets.get(name, _Rows())
        out.append(
            LiveBucket(
                start.isoformat(),
                rows.requests / 10,
                rows.errors / 10,
                Percentiles.of(rows.durations).p95_ms,
            )
        )
        start += timedelta(seconds=10)
    return out


def _rank(ordered: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile of sorted values."""
    if not ordered:
        return None
    return float(ordered[max(0, math.ceil(share * len(ordered)) - 1)])
