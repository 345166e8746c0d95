"""Prometheus metrics: counters and histograms on the request path, gauges read at scrape time.

Under `yard serve --workers N` each worker's counters and histograms live in files of one
directory (prometheus_client's multiprocess mode, chosen by the parent through
PROMETHEUS_MULTIPROC_DIR before the worker starts), so whichever worker a scrape reaches
answers for all of them, replaced workers included.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

if TYPE_CHECKING:
    from modelyard.serve.backends import Backend

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1)
BREAKER_VALUE = {"closed": 0, "half_open": 1, "open": 2}
IN_FLIGHT, IN_FLIGHT_HELP = "yard_backend_in_flight", "Requests in flight per backend"
BREAKER, BREAKER_HELP = (
    "yard_backend_breaker_state",
    "Circuit breaker: 0 closed, 1 half-open, 2 open",
)
SAMPLE_S = 1.0
"""How often a worker writes its backend gauges to the shared files."""


class BackendCollector:
    """In-flight requests and breaker state per backend, computed only when scraped."""

    def __init__(self, backends: Mapping[str, Backend]) -> None:
        self.backends = backends

    def readings(self) -> Iterator[tuple[str, int, int]]:
        """(backend, requests in flight, breaker state as a number), now."""
        for name, backend in self.backends.items():
            yield name, backend.balancer.in_flight, BREAKER_VALUE[backend.breaker.state]

    def collect(self) -> Iterable[Metric]:
        in_flight = GaugeMetricFamily(IN_FLIGHT, IN_FLIGHT_HELP, labels=["backend"])
        breaker = GaugeMetricFamily(BREAKER, BREAKER_HELP, labels=["backend"])
        for name, flying, state in self.readings():
            in_flight.add_metric([name], flying)
            breaker.add_metric([name], state)
        yield in_flight
        yield breaker


class GatewayMetrics:
    """The gateway's metrics in their own registry (one per app, so tests can build many)."""

    def __init__(self, backends: Mapping[str, Backend]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "yard_requests", "Requests answered", ["model", "backend", "status"], registry=r
        )
        self.duration = Histogram(
            "yard_request_seconds",
            "Request duration",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.ttft = Histogram(
            "yard_ttft_seconds", "Streaming time to first token", ["model"],
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.overhead = Histogram(
            "yard_gateway_overhead_seconds",
            "Request time not spent waiting on the upstream",
            buckets=OVERHEAD_BUCKETS,
            registry=r,
        )
        self.upstream_failures = Counter(
            "yard_upstream_failures", "Failed upstream attempts", ["backend", "kind"], registry=r
        )
        self.tokens = Counter("yard_tokens", "Tokens", ["model", "direction"], registry=r)
        self.backend_gauges = BackendCollector(backends)
        """Set its ``backends`` to follow a config reload."""
        r.register(self.backend_gauges)
        self._children: dict[tuple[str, str, int], tuple] = {}
        self._shared: Path | None = None
        self._worker: Gauge | None = None
        self._sampled: tuple[Gauge, Gauge] | None = None
        self._seen: set[str] = set()

    def share(self, directory: Path) -> None:
        """Render every worker's figures from ``directory`` (the multiprocess files): their
        counters and histograms summed, a per-worker request count labelled with its pid, and
        the backend gauges as each worker last sampled them (in flight summed over the live
        workers, breaker state the worst of them)."""
        self._shared = directory
        self._worker = Gauge(
            "yard_worker_requests",
            "Requests answered by each worker process",
            registry=self.registry,
            multiprocess_mode="all",
        )
        self._sampled = (
            Gauge(IN_FLIGHT, IN_FLIGHT_HELP + ", all workers", labelnames=["backend"],
                  registry=None, multiprocess_mode="livesum"),
            Gauge(BREAKER, BREAKER_HELP + "; the worst worker", labelnames=["backend"],
                  registry=None, multiprocess_mode="livemax"),
        )  # fmt: skip

    @property
    def shared(self) -> bool:
        """Workers share these metrics through files (``share``)."""
        return self._shared is not None

    def sample(self) -> None:
        """Write this worker's backend gauges to the shared files; a backend a reload dropped
        goes to 0."""
        assert self._sampled is not None, "share() first"
        in_flight, breaker = self._sampled
        seen = set()
        for name, flying, state in self.backend_gauges.readings():
            in_flight.labels(name).set(flying)
            breaker.labels(name).set(state)
            seen.add(name)
        for gone in self._seen - seen:
            in_flight.labels(gone).set(0)
            breaker.labels(gone).set(0)
        self._seen = seen

    async def sample_every(self, seconds: float = SAMPLE_S) -> None:
        """``sample`` until cancelled: a scrape sees other workers' gauges this fresh."""
        while True:
            self.sample()
            await asyncio.sleep(seconds)

    def backend_readings(self) -> dict[str, tuple[float, float]]:
        """(requests in flight, breaker state as a number) per backend, now: this process's, or
        with shared metrics every worker's (in flight summed, breaker the worst)."""
        if self._shared is None:
            return {name: (flying, state) for name, flying, state in self.backend_gauges.readings()}
        self.sample()
        registry = CollectorRegistry(auto_describe=True)
        MultiProcessCollector(registry, path=str(self._shared))
        found: dict[str, list[float]] = {}
        for metric in registry.collect():
            if metric.name in (IN_FLIGHT, BREAKER):
                slot = 0 if metric.name == IN_FLIGHT else 1
                for sample in metric.samples:
                    found.setdefault(sample.labels["backend"], [0.0, 0.0])[slot] = sample.value
        return {name: (flying, state) for name, (flying, state) in found.items()}

    def request(
        self, model: str, backend: str, status: int, seconds: float, prompt: int, completion: int
    ) -> None:
        """Count one answered request (labelled children are looked up once per label set)."""
        key = (model, backend, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.requests.labels(model, backend, str(status)),
                self.duration.labels(model),
                self.tokens.labels(model, "in"),
                self.tokens.labels(model, "out"),
            )
        count, duration, tokens_in, tokens_out = children
        count.inc()
        if self._worker is not None:
            self._worker.inc()
        duration.observe(seconds)
        if prompt or completion:
            tokens_in.inc(prompt)
            tokens_out.inc(completion)

    def render(self) -> bytes:
        """The text exposition format (every worker's, when shared)."""
        if self._shared is None:
            return generate_latest(self.registry)
        self.sample()
        registry = CollectorRegistry(auto_describe=True)
        MultiProcessCollector(registry, path=str(self._shared))
        return generate_latest(registry)
