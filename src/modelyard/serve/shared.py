"""State shared by gateway replicas through Redis: rate windows, budgets, circuit breakers.

Each check is one Lua script, so it is atomic across replicas and costs one loopback round trip
(a blocking call with a short timeout; it runs on the event loop, where a thread hop would cost
more than the call). When Redis does not answer, each replica falls back to its own in-process
state for ``RETRY_S`` and then tries again: requests keep flowing, limits then count only the
replica's own traffic until Redis is back.

Budgets reserve before forwarding: a request is admitted while ``spent + reserved < budget``,
and reserves the key's last settled cost; when it ends the reservation is released and the real
cost added. Overspend is bounded by one request's cost plus, per request in flight at the moment
the budget is crossed, its cost above the reservation (docs/ledger.md, *Budgets and limits
across replicas*).
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from collections import defaultdict, deque
from typing import TYPE_CHECKING, Any

from modelyard.errors import MissingExtraError
from modelyard.serve.limits import Refusal, SlidingWindowLimiter
from modelyard.serve.resilience import BreakerState, CircuitBreaker

if TYPE_CHECKING:
    from modelyard.serve.backends import Backends
    from modelyard.serve.config import StateConfig

log = logging.getLogger("modelyard.serve")

RETRY_S = 1.0
"""After Redis fails, how long a replica uses its local state before trying Redis again."""
TIMEOUT_S = 0.25
"""Connect and read timeout of each Redis call (a loopback or same-zone server answers in <1 ms)."""
CLOSED_CACHE_S = 0.1
"""How long a replica trusts a closed, failure-free shared breaker before asking Redis again."""
IDLE_TTL_MS = 600_000
"""Budget reservations of a key idle this long expire (a replica died holding them)."""

ADMIT_LUA = """
local now_t = redis.call('TIME')
local now = tonumber(now_t[1]) + tonumber(now_t[2]) / 1e6
local window = tonumber(ARGV[1])
local rpm, tpm = tonumber(ARGV[2]), tonumber(ARGV[3])
if tpm > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
  local entries = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
  local used = 0
  for i = 1, #entries, 2 do used = used + tonumber(string.match(entries[i], ':(%d+)$')) end
  if used >= tpm then
    for i = 1, #entries, 2 do
      used = used - tonumber(string.match(entries[i], ':(%d+)$'))
      if used < tpm then return {'tokens', tostring(tonumber(entries[i + 1]) + window - now)} end
    end
    return {'tokens', '0'}
  end
end
if rpm > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
  local count = redis.call('ZCARD', KEYS[1])
  if count >= rpm then
    local oldest = redis.call('ZRANGE', KEYS[1], count - rpm, count - rpm, 'WITHSCORES')
    return {'requests', tostring(tonumber(oldest[2]) + window - now)}
  end
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000) + 1000)
end
return false
"""

CONSUME_LUA = """
local now_t = redis.call('TIME')
local now = tonumber(now_t[1]) + tonumber(now_t[2]) / 1e6
redis.call('ZADD', KEYS[1], now, ARGV[2] .. ':' .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1]) * 1000) + 1000)
"""

RESERVE_LUA = """
if redis.call('HEXISTS', KEYS[1], 'spent') == 0 then
  redis.call('HSET', KEYS[1], 'spent', ARGV[2])
end
local spent = tonumber(redis.call('HGET', KEYS[1], 'spent'))
local reserved = math.max(0, tonumber(redis.call('HGET', KEYS[1], 'reserved') or '0'))
if spent + reserved >= tonumber(ARGV[1]) then return {0, tostring(spent), '0'} end
local estimate = redis.call('HGET', KEYS[1], 'last') or '0'
redis.call('HINCRBYFLOAT', KEYS[1], 'reserved', estimate)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1, tostring(spent), estimate}
"""

SETTLE_LUA = """
if redis.call('HEXISTS', KEYS[1], 'spent') == 0 then
  redis.call('HSET', KEYS[1], 'spent', ARGV[3])
else
  redis.call('HINCRBYFLOAT', KEYS[1], 'spent', ARGV[2])
end
local reserved = tonumber(redis.call('HINCRBYFLOAT', KEYS[1], 'reserved', -tonumber(ARGV[1])))
if reserved < 0 then redis.call('HSET', KEYS[1], 'reserved', 0) end
if tonumber(ARGV[2]) > 0 then redis.call('HSET', KEYS[1], 'last', ARGV[2]) end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
"""

BREAKER_ALLOW_LUA = """
local opened = redis.call('HGET', KEYS[1], 'opened_at')
if not opened then return {1, tonumber(redis.call('HGET', KEYS[1], 'consecutive') or '0')} end
local now_t = redis.call('TIME')
local now = tonumber(now_t[1]) + tonumber(now_t[2]) / 1e6
if now - tonumber(opened) < tonumber(ARGV[1]) then return {0, 0} end
if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then return {1, 1} end
return {0, 0}
"""

BREAKER_FAILURE_LUA = """
local count = redis.call('HINCRBY', KEYS[1], 'consecutive', 1)
local probing = redis.call('GET', KEYS[2]) == ARGV[2]
if probing or count >= tonumber(ARGV[1]) then
  local now_t = redis.call('TIME')
  redis.call('HSET', KEYS[1], 'opened_at', tonumber(now_t[1]) + tonumber(now_t[2]) / 1e6)
  if probing then redis.call('DEL', KEYS[2]) end
end
return count
"""

BREAKER_STATE_LUA = """
local opened = redis.call('HGET', KEYS[1], 'opened_at')
if not opened then return 'closed' end
local now_t = redis.call('TIME')
local now = tonumber(now_t[1]) + tonumber(now_t[2]) / 1e6
if now - tonumber(opened) < tonumber(ARGV[1]) then return 'open' end
return 'half_open'
"""

CLOSE_LUA = """
redis.call('DEL', KEYS[1], KEYS[2])
"""

RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
"""


class RedisState:
    """One Redis connection pool per gateway process, and the shared objects built on it.

    Args:
        url: ``redis://host:port/db`` (``rediss://`` for TLS).
        prefix: Prepended to every key, so several gateways can share one Redis.
    """

    def __init__(self, url: str, prefix: str = "yard:") -> None:
        try:
            import redis
        except ImportError:
            raise MissingExtraError("redis", "scale", "shared state (state.redis_url)") from None
        self._errors: tuple[type[Exception], ...] = (redis.RedisError, OSError)
        self.client = redis.Redis.from_url(
            url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S, retry=None
        )
        self.prefix = prefix
        self.token = f"{os.getpid()}-{time.monotonic_ns()}"
        self._ids = itertools.count()
        self._down_until = 0.0
        self.failures = 0
        self.scripts = {
            name: self.client.register_script(text)
            for name, text in (
                ("admit", ADMIT_LUA), ("consume", CONSUME_LUA), ("reserve", RESERVE_LUA),
                ("settle", SETTLE_LUA), ("allow", BREAKER_ALLOW_LUA),
                ("failure", BREAKER_FAILURE_LUA), ("state", BREAKER_STATE_LUA),
                ("close", CLOSE_LUA), ("release", RELEASE_LUA),
            )
        }  # fmt: skip

    def unique(self) -> str:
        """A member name no other request of any replica uses."""
        return f"{self.token}-{next(self._ids)}"

    def call(self, script: str, keys: list[str], args: list[Any]) -> tuple[bool, Any]:
        """Run one script: ``(True, result)``, or ``(False, None)`` while Redis is unreachable."""
        if time.monotonic() < self._down_until:
            return False, None
        try:
            return True, self.scripts[script](keys=keys, args=args)
        except self._errors as exc:
            self.failures += 1
            self._down_until = time.monotonic() + RETRY_S
            log.warning("redis %s failed (%s); local state for %.0fs", script, exc, RETRY_S)
            return False, None

    def limiter(self) -> RedisLimiter:
        """RPM/TPM windows shared by every replica."""
        return RedisLimiter(self)

    def budgets(self) -> RedisBudgets:
        """Budget spend and reservations shared by every replica."""
        return RedisBudgets(self)

    def breaker(self, backend: str, failures: int, cooldown_s: float) -> SharedBreaker:
        """A circuit breaker for ``backend`` whose state every replica sees."""
        return SharedBreaker(self, backend, failures, cooldown_s)

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()


class RedisLimiter:
    """``RateLimiter`` over Redis sorted sets, with an in-process fallback while Redis is down."""

    def __init__(self, state: RedisState, window_s: float = 60.0) -> None:
        self.state = state
        self.window_s = window_s
        self.local = SlidingWindowLimiter(window_s)

    def admit(self, key_id: str, rpm: int | None, tpm: int | None) -> Refusal | None:
        """Count one request unless the key's shared window is full (see ``RateLimiter``)."""
        if rpm is None and tpm is None:
            return None
        keys = [self._key("rpm", key_id), self._key("tpm", key_id)]
        args = [self.window_s, rpm or 0, tpm or 0, self.state.unique()]
        ok, result = self.state.call("admit", keys, args)
        if not ok:
            return self.local.admit(key_id, rpm, tpm)
        if not result:
            return None
        kind, limit = result[0].decode(), rpm if result[0] == b"requests" else tpm
        return Refusal(kind, limit or 0, max(0.0, float(result[1])))  # type: ignore[arg-type]

    def consume(self, key_id: str, tokens: int) -> None:
        """Add a finished request's tokens to the key's shared window."""
        if tokens <= 0:
            return
        args = [self.window_s, self.state.unique(), tokens]
        ok, _ = self.state.call("consume", [self._key("tpm", key_id)], args)
        if not ok:
            self.local.consume(key_id, tokens)

    def _key(self, kind: str, key_id: str) -> str:
        return f"{self.state.prefix}{kind}:{key_id}"


class RedisBudgets:
    """Atomic spend reservation per key; this replica remembers what it reserved per key."""

    def __init__(self, state: RedisState) -> None:
        self.state = state
        self._held: defaultdict[str, deque[float]] = defaultdict(deque)

    def reserve(self, key_id: str, budget_usd: float, known_usd: float) -> tuple[bool, float]:
        """Admit a request against ``key_id``'s shared budget, reserving its estimated cost.

        Args:
            key_id: The key.
            budget_usd: Its budget.
            known_usd: This replica's own figure for the spend, used to seed Redis when it has
                none (first use, or Redis lost its data).

        Returns:
            (admitted, spent): refused when spend plus reservations reached the budget;
            ``spent`` is the shared spend, or ``known_usd`` while Redis is unreachable.
        """
        held = self._held[key_id]  # from now on this key's costs are settled in Redis
        args = [budget_usd, known_usd, IDLE_TTL_MS]
        ok, result = self.state.call("reserve", [self._key(key_id)], args)
        if not ok:
            return known_usd < budget_usd, known_usd
        admitted, spent, estimate = int(result[0]), float(result[1]), float(result[2])
        if admitted:
            held.append(estimate)
        return bool(admitted), spent

    def settle(self, key_id: str, cost_usd: float, known_usd: float) -> None:
        """Release this replica's oldest reservation on ``key_id`` and add the real cost."""
        held = self._held.get(key_id)
        if held is None:
            return  # a key without a budget: its spend only matters to the ledger
        reserved = held.popleft() if held else 0.0  # none when Redis was down at admission
        if not reserved and not cost_usd:
            return
        args = [reserved, cost_usd, known_usd, IDLE_TTL_MS]
        self.state.call("settle", [self._key(key_id)], args)

    def _key(self, key_id: str) -> str:
        return f"{self.state.prefix}budget:{key_id}"


class SharedBreaker(CircuitBreaker):
    """A ``CircuitBreaker`` whose counts and open/half-open state live in Redis.

    Consecutive failures from all replicas add up; one replica's probe is the only one let
    through when the cooldown ends (a Redis ``SET NX`` claim). While Redis is unreachable the
    in-process breaker inherited from ``CircuitBreaker`` decides.
    """

    def __init__(self, state: RedisState, backend: str, failures: int, cooldown_s: float) -> None:
        super().__init__(failures, cooldown_s)
        self.shared = state
        self.keys = [f"{state.prefix}breaker:{backend}", f"{state.prefix}breaker:{backend}:probe"]
        self._dirty = False
        self._closed_until = 0.0

    @property
    def state(self) -> BreakerState:
        """The shared state (the local one while Redis is unreachable)."""
        ok, result = self.shared.call("state", self.keys[:1], [self.cooldown_s])
        return result.decode() if ok else super().state

    def allow(self) -> bool:
        """Whether a request may go now; claims the one shared probe when half-open.

        A breaker seen closed with no failures counted is trusted for ``CLOSED_CACHE_S``, so
        other replicas' failures open it here up to that much later.
        """
        if not self._dirty and time.monotonic() < self._closed_until:
            return True
        probe_ms = round(self.cooldown_s * 1000)
        args = [self.cooldown_s, self.shared.token, probe_ms]
        ok, result = self.shared.call("allow", self.keys, args)
        if not ok:
            return super().allow()
        # a failure count or a probe in Redis: the next success must reset it
        self._dirty = bool(result[1])
        if result[0] and not self._dirty:
            self._closed_until = time.monotonic() + CLOSED_CACHE_S
        return bool(result[0])

    def success(self) -> None:
        """Close the breaker; a Redis call only when failures were counted there."""
        super().success()
        if self._dirty:
            ok, _ = self.shared.call("close", self.keys, [])
            self._dirty = not ok

    def failure(self) -> None:
        """Count a failure for every replica; open at the threshold or after a failed probe."""
        super().failure()
        ok, _ = self.shared.call("failure", self.keys, [self.threshold, self.shared.token])
        self._dirty = self._dirty or ok
        self._closed_until = 0.0

    def release(self) -> None:
        """Give back this replica's probe claim."""
        super().release()
        self.shared.call("release", self.keys[1:], [self.shared.token])


def open_shared(config: StateConfig, backends: Backends) -> RedisState | None:
    """Redis state for ``config`` with every backend's breaker shared; None without a URL."""
    if config.redis_url is None:
        return None
    shared = RedisState(config.redis_url, config.prefix)
    for backend in backends.by_name.values():
        settings = backend.config.breaker
        backend.breaker = shared.breaker(backend.name, settings.failures, settings.cooldown_s)
    return shared
