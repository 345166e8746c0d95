"""Circuit breaker, retry timing (``modelyard.retry``, shared with eval) and deadlines for
upstream backends."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Literal

from modelyard.retry import backoff_delay as backoff_delay
from modelyard.retry import retry_after_seconds as retry_after_seconds

BreakerState = Literal["closed", "open", "half_open"]

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
"""Upstream answers worth another try (elsewhere or later) while nothing reached the client."""


class CircuitBreaker:
    """Opens after ``failures`` consecutive failures; after ``cooldown_s`` lets one probe through.

    A successful probe closes it again; a failed probe reopens it for another cooldown.
    """

    def __init__(self, failures: int, cooldown_s: float, clock=time.monotonic) -> None:
        self.threshold = failures
        self.cooldown_s = cooldown_s
        self.clock = clock
        self.consecutive = 0
        self.opened_at: float | None = None
        self.probing = False

    @property
    def state(self) -> BreakerState:
        """closed, open, or half_open (cooldown over, a probe may go or is in flight)."""
        if self.opened_at is None:
            return "closed"
        return "half_open" if self.clock() - self.opened_at >= self.cooldown_s else "open"

    def allow(self) -> bool:
        """Whether a request may go to this backend now (claims the probe when half-open)."""
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self.probing:
            self.probing = True
            return True
        return False

    def success(self) -> None:
        """An exchange worked: close."""
        self.consecutive, self.opened_at, self.probing = 0, None, False

    def failure(self) -> None:
        """An exchange failed: count it; open (or reopen after a failed probe) at the threshold."""
        self.consecutive += 1
        if self.probing or self.consecutive >= self.threshold:
            self.opened_at, self.probing = self.clock(), False

    def release(self) -> None:
        """A probe ended without telling success from failure (client left): allow another."""
        self.probing = False


class Deadline:
    """``asyncio.timeout(delay)`` for the per-request path: one timer handle and no state
    machine. Raises TimeoutError when the delay ran out inside the block;
    a cancellation from anywhere else passes through as it came.
    """

    __slots__ = ("_cancelling", "_delay", "_handle", "_task", "expired")

    def __init__(self, delay: float) -> None:
        self._delay = delay
        self.expired = False

    async def __aenter__(self) -> Deadline:
        task = self._task = asyncio.current_task()
        assert task is not None, "Deadline needs a task"
        self._cancelling = task.cancelling()
        loop = asyncio.get_running_loop()
        self._handle = loop.call_at(loop.time() + self._delay, self._expire)
        return self

    def _expire(self) -> None:
        self.expired = True
        self._task.cancel()  # type: ignore[union-attr]

    async def __aexit__(self, kind: type | None, exc: BaseException | None, tb: Any) -> None:
        self._handle.cancel()
        task = self._task
        assert task is not None
        if self.expired and kind is asyncio.CancelledError and task.uncancel() <= self._cancelling:
            raise TimeoutError from exc
