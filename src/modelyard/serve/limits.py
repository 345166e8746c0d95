"""Per-key request and token rate limits over a sliding 60-second window, and budget
reservations: what a request may still cost is held against its key's budget while it runs.

The key store asks its ``Quotas`` once before a request (``admit``: rate windows, then the
budget reservation) and once after it (``settle``: tokens and cost, releasing the reservation).
A request is admitted while ``spent + reserved < budget`` in its key's budget period; it then
reserves the most it can cost, so concurrent requests can overspend by at most the one that
crosses the budget. ``LocalQuotas`` keeps windows and reservations of one process without I/O;
``serve/shared.py`` keeps them in Redis (one atomic script per call) so several replicas count
together, and ``serve/hub.py`` in the parent of `yard serve --workers`.
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
class Budget:
    """A key's budget, as one request's admission and settlement see it."""

    limit_usd: float
    """The budget per period."""
    period: str
    """Which period spend counts in: "" for a lifetime budget, else the day ("2026-12-07") or
    month ("2026-12") in UTC; a new period starts from nothing spent."""
    known_usd: float
    """What this process knows the key spent in the period (the ledger's sum at start plus
    what it settled since); it seeds shared state that has none."""


@dataclass(frozen=True)
class Admission:
    """What ``Quotas.admit`` decided about one request."""

    refusal: Refusal | None = None
    """A rate limit refused it; nothing was counted or reserved."""
    spent_usd: float | None = None
    """The key's spend in the period, when a budget was checked."""
    over_budget: bool = False
    """The budget refused it (its request was still counted in the rate window)."""


ADMITTED = Admission()


class Quotas(Protocol):
    """Rate windows and budgets, asked once before and once after each keyed request."""

    def admit(
        self, key_id: str, rpm: int | None, tpm: int | None, budget: Budget | None,
        reserve_usd: float,
    ) -> Admission:  # fmt: skip
        """Count one request in ``key_id``'s rate windows, then, while the budget's spend
        and reservations leave room, reserve ``reserve_usd`` against it.

        Args:
            key_id: The key.
            rpm: Requests per minute, or None.
            tpm: Tokens per minute, or None.
            budget: The key's budget; None reserves nothing.
            reserve_usd: The most the request can cost.
        """
        ...

    def settle(
        self, key_id: str, tokens: int, cost_usd: float, budget: Budget | None,
        reserved_usd: float,
    ) -> None:  # fmt: skip
        """Add a finished request's tokens and cost (``budget.known_usd`` includes it) and
        release the ``reserved_usd`` that ``admit`` held for it."""
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


class Reservations:
    """What requests in flight hold against each (key, budget period)."""

    def __init__(self) -> None:
        self.held: dict[tuple[str, str], float] = {}

    def reserve(self, key_id: str, budget: Budget, spent: float, amount: float) -> Admission:
        """Hold ``amount`` while ``spent`` plus what is held stays under the budget."""
        slot = (key_id, budget.period)
        held = self.held.get(slot, 0.0)
        if spent + held >= budget.limit_usd:
            return Admission(spent_usd=spent, over_budget=True)
        self.held[slot] = held + amount
        return Admission(spent_usd=spent)

    def release(self, key_id: str, budget: Budget, amount: float) -> None:
        """Give back ``amount`` held by a request that ended."""
        slot = (key_id, budget.period)
        left = self.held.get(slot, 0.0) - amount
        if left > 1e-12:
            self.held[slot] = left
        else:
            self.held.pop(slot, None)


class LocalQuotas:
    """``Quotas`` of one process: windows and reservations in memory, no I/O."""

    def __init__(self, window_s: float = WINDOW_S) -> None:
        self.limiter = SlidingWindowLimiter(window_s)
        self.books = Reservations()

    def admit(
        self, key_id: str, rpm: int | None, tpm: int | None, budget: Budget | None,
        reserve_usd: float,
    ) -> Admission:  # fmt: skip
        """Count one request unless a window is full, then reserve against the budget (whose
        spend is the key store's own)."""
        refusal = self.limiter.admit(key_id, rpm, tpm)
        if refusal is not None or budget is None:
            return Admission(refusal)
        return self.books.reserve(key_id, budget, budget.known_usd, reserve_usd)

    def settle(
        self, key_id: str, tokens: int, cost_usd: float, budget: Budget | None,
        reserved_usd: float,
    ) -> None:  # fmt: skip
        """Add the request's tokens to the key's window and release its reservation."""
        self.limiter.consume(key_id, tokens)
        if budget is not None:
            self.books.release(key_id, budget, reserved_usd)
