"""Slow down clients that keep sending invalid API keys: 429 per address, before any key check.

Every 401 the gateway's own key check raises counts one failure against the client's address
(the TCP peer, or behind a proxy in ``server.trusted_proxies`` the address it forwards:
``client_address.py``); an upstream's 401 passed through does not.
Once an address reaches ``server.failed_logins_per_minute`` failures (``FAILURES`` by default)
within a ``WINDOW_S`` window, its requests to guarded paths are answered 429 without reaching
the key check until the window ends, and one warning is logged (the address, never the key).
With Redis (``state.redis_url``) the count is shared by every replica: a failure costs one Redis
call, a request from an address this replica does not know as blocked costs none. Without Redis
each process counts its own. Other addresses, and so their valid keys, are never affected.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

from modelyard.serve.config import ServerConfig
from modelyard.serve.errors import GatewayError
from modelyard.serve.middleware.client_address import ClientAddress
from modelyard.serve.shared import RedisState
from modelyard.serve.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger("modelyard.serve")

FAILURES = ServerConfig.model_fields["failed_logins_per_minute"].default
"""Failed key checks an address may make per window before it is refused."""
WINDOW_S = 60.0
"""The window; it starts at an address's first failure."""
GUARDED = ("/v1/", "/admin/")
"""Paths that check keys; /health and /metrics stay open to a refused address (probes)."""


class LoginThrottle:
    """Failures per address in fixed windows; the blocked addresses this process knows of.

    Args:
        failures: Failures per window that block an address; 0 blocks none.
        window_s: Window length in seconds.
        clock: Monotonic seconds.
    """

    def __init__(
        self,
        failures: int = FAILURES,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failures = failures
        self.window_s = window_s
        self._clock = clock
        self._seen: dict[str, tuple[int, float]] = {}
        """Address -> (failures, window end), the shared figures when Redis gave them."""
        self._sweep_at = 0.0

    def retry_after(self, address: str) -> float:
        """Seconds until ``address`` may try again; 0 when it is not blocked."""
        count, end = self._seen.get(address, (0, 0.0))
        left = end - self._clock()
        return left if count >= self.failures and left > 0 else 0.0

    def failed(self, address: str, shared: RedisState | None) -> None:
        """Count one failed key check from ``address`` (in Redis when ``shared`` answers)."""
        now = self._clock()
        counted = shared.count(f"logins:{address}", self.window_s) if shared else None
        count, end = (counted[0], now + counted[1]) if counted else self._bump(address, now)
        self._seen[address] = (count, end)
        if count == self.failures:  # once per window, across replicas too (Redis INCR)
            log.warning(
                "%d failed API key checks from %s within %.0fs; refusing it for %.0fs",
                count, address, self.window_s, end - now,
            )  # fmt: skip
        self._sweep(now)

    def _bump(self, address: str, now: float) -> tuple[int, float]:
        count, end = self._seen.get(address, (0, 0.0))
        return (count + 1, end) if end > now else (1, now + self.window_s)

    def _sweep(self, now: float) -> None:
        """Forget ended windows, once per window (memory stays bounded by recent addresses)."""
        if now < self._sweep_at:
            return
        self._seen = {a: seen for a, seen in self._seen.items() if seen[1] > now}
        self._sweep_at = now + self.window_s


class FailedLoginMiddleware:
    """Refuses blocked addresses with 429 and counts every 401 the key check raises (an
    upstream's 401 passed through is the gateway's config at fault, not the client).

    Args:
        app: The app that checks keys.
        shared: The gateway's shared state once started (Redis counts for every replica).
        throttle: The counts; a new ``LoginThrottle`` by default.
        client_address: Who sent a request; by default the TCP peer.
    """

    def __init__(
        self,
        app: ASGIApp,
        shared: Callable[[], object],
        throttle: LoginThrottle | None = None,
        client_address: ClientAddress | None = None,
    ) -> None:
        self.app = app
        self.shared = shared
        self.throttle = throttle or LoginThrottle()
        self.client_address = client_address or ClientAddress()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        guarded = scope["type"] == "http" and scope["path"].startswith(GUARDED)
        if not guarded or not self.throttle.failures:
            return await self.app(scope, receive, send)
        address = self.client_address(scope)
        left = self.throttle.retry_after(address)
        if left:
            raise _refusal(left)

        try:
            await self.app(scope, receive, send)
        except GatewayError as exc:
            if exc.status == 401:
                self._failed(address)
            raise

    def _failed(self, address: str) -> None:
        shared = self.shared()
        self.throttle.failed(address, shared if isinstance(shared, RedisState) else None)


def _refusal(retry_after_s: float) -> GatewayError:
    seconds = str(max(1, math.ceil(retry_after_s)))
    return GatewayError(
        429,
        f"Too many requests with an invalid API key from this address; retry in {seconds}s.",
        type="requests",
        code="rate_limit_exceeded",
        headers={
            "Retry-After": seconds,
            "retry-after-ms": str(max(1, round(retry_after_s * 1000))),
        },
    )
