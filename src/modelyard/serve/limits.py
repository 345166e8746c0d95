"""Per-key request and token rate limits over a sliding 60-second window, held in memory.

The key store asks its ``Quotas`` once before a request (``admit``: rate windows, then the
budget reservation) and once after it (``settle``: tokens and cost). ``LocalQuotas`` keeps the
windows of one process without I/O; ``serve/shared.py`` keeps windows and budgets in Redis (one
atomic script per call) so several replicas count together, and ``serve/hub.py`` keeps them in
the parent of `yard serve --workers`.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

WINDOW_S = 60.0


@dataclass(frozen=True)
class Refusal:
    """Why a request was not admitted, and when it may be retried."""

    kind: Literal["requests", "tokens"]
    """Which limit was hit: requests per minute or tokens per minute."""
    limit: int
    """The limit's value."""
    retry_after_s: float
    """Seconds until the window has room again."""

    @property
    def retry_after_header(self) -> str:
        """Whole seconds, rounded up, as HTTP's Retry-After wants them."""
        return str(max(1, math.ceil(self.retry_after_s)))


@dataclass(frozen=True)
class Admission:
    """What ``Quotas.admit`` decided about one request."""

    refusal: Refusal | None = None
    """A rate limit refused it; nothing was counted or reserved."""
    spent_usd: float | None = None
    """The key's shared spend, when a shared budget was checked."""
    over_budget: bool = False
    """The shared budget refused it (its request was still counted in the rate window)."""


ADMITTED = Admission()


class Quotas(Protocol):
    """Rate windows and budget spend, asked once before and once after each keyed request."""

    def admit(
        self, key_id: str, rpm: int | None, tpm: int | None, budget_usd: float | None,
        known_usd: float,
    ) -> Admission:  # fmt: skip
        """Count one request in ``key_id``'s rate windows, then reserve its estimated cost.

        Args:
            key_id: The key.
            rpm: Requests per minute, or None.
            tpm: Tokens per minute, or None.
            budget_usd: The budget to reserve against; None reserves nothing.
            known_usd: The key store's own figure for the spend (it seeds shared state).
        """
        ...

    def settle(self, key_id: str, tokens: int, cost_usd: float, known_usd: float) -> None:
        """Add a finished request's tokens and cost; release what ``admit`` reserved for it."""
        ...


class SlidingWindowLimiter:
    """An exact sliding-window log per key; memory is bounded by each key's limits."""

    def __init__(self, window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic):
        self._window = window_s
        self._clock = clock
        self._requests: dict[str, deque[float]] = {}
        self._tokens: dict[str, deque[tuple[float, int]]] = {}
        self._token_sum: dict[str, int] = {}

    def admit(self, key_id: str, rpm: int | None, tpm: int | None) -> Refusal | None:
        """Admit a request unless the key's last minute already holds ``rpm`` requests or
        ``tpm`` tokens (a request's own tokens are only known after it, so one large request
        can carry a key past its TPM; the next one then waits)."""
        now = self._clock()
        if tpm is not None:
            used = self._expire_tokens(key_id, now)
            if used >= tpm:
                return Refusal("tokens", tpm, self._tokens_free_at(key_id, tpm) - now)
        if rpm is not None:
            stamps = self._requests.setdefault(key_id, deque())
            while stamps and stamps[0] <= now - self._window:
                stamps.popleft()
            if len(stamps) >= rpm:
                return Refusal("requests", rpm, stamps[-rpm] + self._window - now)
            stamps.append(now)
        return None

    def consume(self, key_id: str, tokens: int) -> None:
        """Record ``tokens`` used now by ``key_id``."""
        if tokens <= 0:
            return
        self._tokens.setdefault(key_id, deque()).append((self._clock(), tokens))
        self._token_sum[key_id] = self._token_sum.get(key_id, 0) + tokens

    def _expire_tokens(self, key_id: str, now: float) -> int:
        entries = self._tokens.get(key_id)
        total = self._token_sum.get(key_id, 0)
        while entries and entries[0][0] <= now - self._window:
            total -= entries.popleft()[1]
        self._token_sum[key_id] = total
        return total

    def _tokens_free_at(self, key_id: str, tpm: int) -> float:
        """When enough old entries leave the window to bring the sum under ``tpm``."""
        total = self._token_sum[key_id]
        for stamp, tokens in self._tokens[key_id]:
            total -= tokens
            if total < tpm:
                return stamp + self._window
        return self._clock()


class LocalQuotas:
    """``Quotas`` of one process: windows in memory; the key store's own spend is the budget's."""

    def __init__(self, window_s: float = WINDOW_S) -> None:
        self.limiter = SlidingWindowLimiter(window_s)

    def admit(
        self, key_id: str, rpm: int | None, tpm: int | None, budget_usd: float | None,
        known_usd: float,
    ) -> Admission:  # fmt: skip
        """Count one request unless a window is full (the key store checks the budget)."""
        return Admission(self.limiter.admit(key_id, rpm, tpm))

    def settle(self, key_id: str, tokens: int, cost_usd: float, known_usd: float) -> None:
        """Add the request's tokens to the key's window."""
        self.limiter.consume(key_id, tokens)
