"""One client request sent upstream: retries, backoff and fallback until something answers.

Everything here happens before a byte reaches the client, which is what makes a retry safe.
A streaming attempt counts as answered once its first chunk has arrived. An upstream's 4xx
answer (429 aside, which is retried) is the client's to read: it is neither retried nor
counted against the breaker.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from modelyard.privacy import Redacted
from modelyard.serve import logs
from modelyard.serve.backends import Backend
from modelyard.serve.balancer import Replica
from modelyard.serve.errors import GatewayError
from modelyard.serve.metrics import GatewayMetrics
from modelyard.serve.resilience import (
    RETRYABLE_STATUS,
    Deadline,
    backoff_delay,
    retry_after_seconds,
)
from modelyard.serve.upstream_http import ConnectFailed, HttpError, HttpPool, Response


class Failure(Exception):
    """An attempt that may be retried or fallen back from."""

    def __init__(self, kind: str, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.kind = kind
        self.retry_after = retry_after

    @property
    def breaks(self) -> bool:
        """Whether it counts against the backend's breaker (a 429 is the upstream's policy)."""
        return self.kind != "rate_limited"


@dataclass(frozen=True)
class UpstreamRequest:
    """What goes upstream: the client's payload (never changed), the public model it asks for,
    the fields the gateway sets itself (``stream_options``, ``logprobs``) and, for a private
    request in ``redact`` mode, the placeholders remote backends get instead of the values."""

    path: str
    """The API path under the backend's base URL (``/chat/completions``)."""
    payload: Mapping[str, Any]
    model: str
    """The public model name (or `MODEL:ADAPTER`); each backend is sent its own name for it."""
    stream: bool
    overrides: Mapping[str, Any] = field(default_factory=dict)
    redacted: Redacted | None = None
    """The privacy step's redaction of ``sent`` (serve/private_data.py), applied to every
    body a remote backend gets."""

    @property
    def sent(self) -> dict[str, Any]:
        """The body every backend gets but for its model name: what the privacy step scans."""
        return {**self.payload, **self.overrides}

    def body_for(self, backend: Backend) -> bytes:
        """The exact bytes ``backend`` is sent: the one place an upstream body is built.

        Raises:
            GatewayError: 400, the payload cannot be written as JSON (nested deeper than the
                serializer's limit).
        """
        body = {**self.payload, **self.overrides, "model": backend.upstream_model(self.model)}
        if self.redacted is not None and not backend.config.local:
            body = self.redacted.apply(body)
        try:
            return orjson.dumps(body)
        except orjson.JSONEncodeError as exc:
            raise GatewayError(400, f"request body cannot be forwarded: {exc}",
                               code="invalid_request")  from None  # fmt: skip


@dataclass
class Upstream:
    """The upstream answer the client will get."""

    backend: Backend
    replica: Replica | None
    response: Response | None
    status: int
    body: bytes
    """A non-streaming response's body, or a stream's first chunk."""
    data: Any = None
    """The parsed body of a successful non-streaming response."""
    deadline: float = 0.0
    """Event-loop time at which the backend's total timeout ends."""
    attempts: list[str] = field(default_factory=list)

    def close(self) -> None:
        """Give the connection back and the replica's in-flight slot."""
        if self.response is not None:
            self.response.release()
            self.response = None
        if self.replica is not None:
            self.replica.in_flight -= 1
            self.replica = None


async def open_upstream(
    pool: HttpPool, chain: list[Backend], request: UpstreamRequest, metrics: GatewayMetrics
) -> Upstream:
    """Try each backend of ``chain`` in order, each up to its retry budget; each is sent
    ``request.body_for`` itself (the payload is not changed).

    Raises:
        GatewayError: every backend failed or was skipped (429, 502, 503 or 504); 400 when
            the payload cannot be serialized.
    """
    trail: list[str] = []
    last: Failure | None = None
    for backend in chain:
        if trail:
            logs.event("fallback", logging.WARNING, model=request.model, to=backend.name,
                       after=trail[-1])  # fmt: skip
        if backend.down is not None or not backend.breaker.allow():
            trail.append(f"{backend.name}: {backend.down or 'breaker open'}")
            continue
        body = request.body_for(backend)
        for attempt in range(backend.config.max_retries + 1):
            try:
                answer = await _attempt(pool, backend, request.path, body, request.stream)
            except Failure as failure:
                last = failure
                trail.append(f"{backend.name}: {failure}")
                _failed(backend, failure, metrics)
                if not await _wait_retry(backend, attempt, failure):
                    break
                continue
            _succeeded(backend)
            answer.attempts = trail
            return answer
    raise _exhausted(request.model, last, trail)


def _failed(backend: Backend, failure: Failure, metrics: GatewayMetrics) -> None:
    """Count a failed attempt; log the breaker opening here."""
    metrics.upstream_failures.labels(backend.name, failure.kind).inc()
    if not failure.breaks:
        return
    breaker = backend.breaker
    before = breaker.opened_at
    breaker.failure()
    if breaker.opened_at is not None and breaker.opened_at != before:
        logs.event("breaker_open", logging.WARNING, backend=backend.name,
                   failures=breaker.consecutive, cooldown_s=breaker.cooldown_s,
                   last=failure.kind)  # fmt: skip


def _succeeded(backend: Backend) -> None:
    """An answer came: close the breaker, logging it when it had been open."""
    breaker = backend.breaker
    was_open = breaker.opened_at is not None
    breaker.success()
    if was_open:
        logs.event("breaker_close", backend=backend.name)


async def _wait_retry(backend: Backend, attempt: int, failure: Failure) -> bool:
    """Sleep before the next attempt on ``backend``; False when it should be left instead."""
    config = backend.config
    if attempt >= config.max_retries:
        return False
    delay = backoff_delay(attempt, config.retry_backoff_s, failure.retry_after)
    if delay > config.max_retry_wait_s:
        return False
    logs.event("retry", backend=backend.name, attempt=attempt + 2, after=failure.kind,
               delay_ms=round(delay * 1000))  # fmt: skip
    await asyncio.sleep(delay)
    return backend.breaker.allow()


async def _attempt(
    pool: HttpPool, backend: Backend, path: str, body: bytes, stream: bool
) -> Upstream:
    replica = backend.pick()
    replica.in_flight += 1
    try:
        return await _exchange(pool, backend, replica, path, body, stream)
    except BaseException:
        replica.in_flight -= 1
        raise


async def _exchange(
    pool: HttpPool,
    backend: Backend,
    replica: Replica,
    path: str,
    body: bytes,
    stream: bool,
) -> Upstream:
    limits = backend.config.timeouts
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limits.total
    try:
        async with Deadline(limits.first_token if stream else limits.total):
            response = await pool.post(replica.url + path, backend.headers, body, limits.connect)
            try:
                return await _read(backend, replica, response, stream, deadline)
            except BaseException:
                response.release()
                raise
    except TimeoutError as exc:
        raise Failure(
            "timeout", "timed out" + (" before the first token" if stream else "")
        ) from exc
    except ConnectFailed as exc:
        raise Failure("connect", f"cannot connect ({exc})") from exc
    except HttpError as exc:
        raise Failure("disconnect", f"connection lost ({exc})") from exc


async def _read(
    backend: Backend,
    replica: Replica,
    response: Response,
    stream: bool,
    deadline: float,
) -> Upstream:
    status = response.status
    if status in RETRYABLE_STATUS:
        await response.read()
        kind = "rate_limited" if status == 429 else "status"
        after = retry_after_seconds(response.headers.get("retry-after"))
        raise Failure(kind, f"HTTP {status}", after)
    if stream and status == 200:
        first = await response.read_chunk()
        if not first:
            raise Failure("disconnect", "stream ended before the first chunk")
        return Upstream(backend, replica, response, status, first, deadline=deadline)
    raw = await response.read()
    data = None
    if status == 200:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise Failure("malformed", "malformed JSON in a 200 answer") from exc
    response.release()
    return Upstream(backend, replica, None, status, raw, data=data, deadline=deadline)


def _exhausted(model: str, last: Failure | None, trail: list[str]) -> GatewayError:
    why = "; ".join(trail)
    if last is None:
        return GatewayError(
            503, f"no backend available for model {model!r}: {why}", "server_error",
            code="backend_unavailable", headers={"Retry-After": "1"},
        )  # fmt: skip
    message = f"all backends failed for model {model!r}: {why}"
    if last.kind == "rate_limited":
        after = {"Retry-After": str(round(last.retry_after))} if last.retry_after else {}
        return GatewayError(429, message, "rate_limit_error", code="upstream_rate_limited",
                            headers=after)  # fmt: skip
    if last.kind == "timeout":
        return GatewayError(504, message, "server_error", code="upstream_timeout")
    return GatewayError(502, message, "server_error", code="upstream_error")
