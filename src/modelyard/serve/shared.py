"""State shared by gateway replicas through Redis: rate windows, budgets, circuit breakers,
`auto`'s session pins.

Each check is one Lua script, so it is atomic across replicas and costs one loopback round trip
(a blocking call with a short timeout; it runs on the event loop, where a thread hop would cost
more than the call). A keyed request makes at most two: rate windows and budget reservation
before forwarding, token window and settlement after. When Redis does not answer, each replica
falls back to its own in-process state for ``RETRY_S`` and then tries again: requests keep
flowing, limits then count only the replica's own traffic until Redis is back.

Budgets reserve before forwarding: a request is admitted while ``spent + reserved < budget``
in the key's budget period, and reserves the most it can cost; when it ends the reservation is
released and the real cost added. Overspend is bounded by the one request that crosses the
budget (docs/ledger.md, *Budgets and limits across replicas*).
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import time
from typing import TYPE_CHECKING, Any

from modelyard.errors import MissingExtraError
from modelyard.serve.auto import SessionPins
from modelyard.serve.hub import HubState
from modelyard.serve.limits import (
    ADMITTED,
    WINDOW_S,
    Admission,
    Budget,
    LocalQuotas,
    Refusal,
)
from modelyard.serve.resilience import BreakerState, CircuitBreaker

if TYPE_CHECKING:
    from collections.abc import Iterable

    from modelyard.serve.backends import Backend, Backends
    from modelyard.serve.config import StateConfig

log = logging.getLogger("modelyard.serve")

RETRY_S = 1.0
"""After Redis fails, how long a replica uses its local state before trying Redis again."""
TIMEOUT_S = 0.25
"""Connect and read timeout of each Redis call (a loopback or same-zone server answers in <1 ms)."""
CLOSED_CACHE_S = 0.1
"""How long a replica trusts a closed, failure-free shared breaker before asking Redis again."""
IDLE_TTL_MS = 600_000
"""A key's budget state idle this long expires (a replica died holding reservations); the next
request seeds its spend again from the asking replica's figure."""
PIN_TTL_S = 86_400
"""A session pin unused this long is forgotten (Redis bounds pins by age, not by count)."""

PIN_GET_LUA = """
local model = redis.call('GET', KEYS[1])
if model then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return model
"""

PIN_SET_LUA = """
redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2])
"""

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
if ARGV[5] == '' then return false end
if redis.call('HEXISTS', KEYS[3], 'spent') == 0 then
  redis.call('HSET', KEYS[3], 'spent', ARGV[6])
end
local spent = tonumber(redis.call('HGET', KEYS[3], 'spent'))
local reserved = math.max(0, tonumber(redis.call('HGET', KEYS[3], 'reserved') or '0'))
if spent + reserved >= tonumber(ARGV[5]) then return {'budget', 0, tostring(spent)} end
redis.call('HINCRBYFLOAT', KEYS[3], 'reserved', ARGV[8])
redis.call('PEXPIRE', KEYS[3], ARGV[7])
return {'budget', 1, tostring(spent)}
"""

SETTLE_LUA = """
if ARGV[3] ~= '0' then
  local now_t = redis.call('TIME')
  local now = tonumber(now_t[1]) + tonumber(now_t[2]) / 1e6
  redis.call('ZADD', KEYS[1], now, ARGV[2] .. ':' .. ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1]) * 1000) + 1000)
end
if ARGV[4] == '' then return end
if redis.call('HEXISTS', KEYS[2], 'spent') == 0 then
  redis.call('HSET', KEYS[2], 'spent', ARGV[6])
else
  redis.call('HINCRBYFLOAT', KEYS[2], 'spent', ARGV[5])
end
local reserved = tonumber(redis.call('HINCRBYFLOAT', KEYS[2], 'reserved', -tonumber(ARGV[4])))
if reserved < 1e-12 then redis.call('HSET', KEYS[2], 'reserved', 0) end
redis.call('PEXPIRE', KEYS[2], ARGV[7])
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

COUNT_LUA = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
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
                ("admit", ADMIT_LUA), ("settle", SETTLE_LUA), ("allow", BREAKER_ALLOW_LUA),
                ("failure", BREAKER_FAILURE_LUA), ("state", BREAKER_STATE_LUA),
                ("close", CLOSE_LUA), ("release", RELEASE_LUA), ("count", COUNT_LUA),
                ("pin_get", PIN_GET_LUA), ("pin_set", PIN_SET_LUA),
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

    def count(self, name: str, window_s: float) -> tuple[int, float] | None:
        """Add one to the counter ``name``, which every replica sees and which resets
        ``window_s`` after its first count: (count, seconds left), or None while Redis is
        unreachable."""
        ok, result = self.call("count", [self.prefix + name], [math.ceil(window_s * 1000)])
        return (int(result[0]), int(result[1]) / 1000) if ok else None

    def quotas(self) -> RedisQuotas:
        """RPM/TPM windows, budget spend and reservations shared by every replica."""
        return RedisQuotas(self)

    def pins(self, size: int) -> RedisPins:
        """`auto`'s session pins, shared by every replica."""
        return RedisPins(self, size)

    def breaker(self, backend: str, failures: int, cooldown_s: float) -> SharedBreaker:
        """A circuit breaker for ``backend`` whose state every replica sees."""
        return SharedBreaker(self, backend, failures, cooldown_s)

    def share_breakers(self, backends: Iterable[Backend]) -> None:
        """Give each of ``backends`` a circuit breaker kept in Redis (shared by replicas)."""
        for backend in backends:
            settings = backend.config.breaker
            backend.breaker = self.breaker(backend.name, settings.failures, settings.cooldown_s)

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()


class RedisQuotas:
    """``Quotas`` in Redis: one script before a request (rate windows, then the budget
    reservation) and at most one after it; in-process state while Redis is unreachable.

    This replica remembers which keys have a TPM limit (only their tokens are written after a
    request), and the reservations it made locally while Redis was unreachable (released
    locally, never from Redis's figure).
    """

    def __init__(self, state: RedisState, window_s: float = WINDOW_S) -> None:
        self.state = state
        self.window_s = window_s
        self.local = LocalQuotas(window_s)
        self._tpm_keys: set[str] = set()
        self._held_locally: dict[tuple[str, str], list[float]] = {}

    def admit(
        self, key_id: str, rpm: int | None, tpm: int | None, budget: Budget | None,
        reserve_usd: float,
    ) -> Admission:  # fmt: skip
        """Count one request in the key's shared windows, then reserve ``reserve_usd``.

        The reservation admits while ``spent + reserved < limit`` in the budget's period;
        ``budget.known_usd`` seeds the shared spend when Redis has none (first use, a new
        period, or Redis lost its data).
        """
        if rpm is None and tpm is None and budget is None:
            return ADMITTED
        if tpm is not None:
            self._tpm_keys.add(key_id)
        limit, known = (budget.limit_usd, budget.known_usd) if budget else ("", 0.0)
        args = [self.window_s, rpm or 0, tpm or 0, self.state.unique(), limit, known]
        keys = self._keys(key_id, budget)
        ok, result = self.state.call("admit", keys, [*args, IDLE_TTL_MS, reserve_usd])
        if ok:
            return self._admission(rpm, tpm, result)
        admission = self.local.admit(key_id, rpm, tpm, budget, reserve_usd)
        if budget is not None and admission.refusal is None and not admission.over_budget:
            self._held_locally.setdefault((key_id, budget.period), []).append(reserve_usd)
        return admission

    def settle(
        self, key_id: str, tokens: int, cost_usd: float, budget: Budget | None,
        reserved_usd: float,
    ) -> None:  # fmt: skip
        """Add the tokens of a key with a TPM limit to its window; release a budgeted
        request's reservation and add its cost."""
        tokens = tokens if tokens > 0 and key_id in self._tpm_keys else 0
        if not tokens and budget is None:
            return
        local = self._held_locally.get((key_id, budget.period)) if budget else None
        if local and reserved_usd in local:
            local.remove(reserved_usd)
            self.local.books.release(key_id, budget, reserved_usd)  # type: ignore[arg-type]
            reserved_usd = 0.0
        release = "" if budget is None else reserved_usd
        known = budget.known_usd if budget else 0.0
        args = [self.window_s, self.state.unique(), tokens, release, cost_usd, known]
        keys = self._keys(key_id, budget)[1:]
        ok, _ = self.state.call("settle", keys, [*args, IDLE_TTL_MS])
        if not ok:
            self.local.settle(key_id, tokens, cost_usd, budget, reserved_usd)

    def _admission(self, rpm: int | None, tpm: int | None, result: list[Any] | None) -> Admission:
        if not result:
            return ADMITTED
        kind = result[0].decode()
        if kind == "budget":
            return Admission(spent_usd=float(result[2]), over_budget=not int(result[1]))
        limit = rpm if kind == "requests" else tpm
        return Admission(Refusal(kind, limit or 0, max(0.0, float(result[1]))))

    def _keys(self, key_id: str, budget: Budget | None) -> list[str]:
        """The key's request window, token window and budget hash (one per period)."""
        period = f":{budget.period}" if budget is not None and budget.period else ""
        prefix = self.state.prefix
        return [f"{prefix}rpm:{key_id}", f"{prefix}tpm:{key_id}",
                f"{prefix}budget:{key_id}{period}"]  # fmt: skip


class RedisPins:
    """A replica's ``PinStore`` in Redis: the first replica to pin a session wins, and a pin
    lives ``PIN_TTL_S`` after its last use; this replica's own pins while Redis is unreachable."""

    def __init__(self, state: RedisState, size: int) -> None:
        self._state = state
        self._local = SessionPins(size)

    @property
    def size(self) -> int:
        """Sessions remembered while Redis is unreachable; 0 pins nothing."""
        return self._local.size

    @size.setter
    def size(self, value: int) -> None:
        self._local.size = value

    def get(self, session: str | None) -> str | None:
        """The model any replica pinned ``session`` to, or None."""
        if session is None or not self.size:
            return None
        ok, model = self._state.call("pin_get", [self._key(session)], [PIN_TTL_S])
        if not ok:
            return self._local.get(session)
        return model.decode() if model is not None else None

    def pin(self, session: str | None, model: str) -> None:
        """Pin ``session`` to ``model`` for every replica, unless one pinned it first."""
        if session is None or not self.size:
            return
        ok, _ = self._state.call("pin_set", [self._key(session)], [model, PIN_TTL_S])
        if not ok:
            self._local.pin(session, model)

    def _key(self, session: str) -> str:
        return f"{self._state.prefix}pin:{session}"


def _arg(value: float | None) -> float | str:
    """A script argument that may be absent ('')."""
    return "" if value is None else value


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


def open_shared(config: StateConfig, backends: Backends) -> RedisState | HubState | None:
    """Redis state for ``config`` with every backend's breaker shared; without a URL, the
    parent's hub for a `yard serve --workers` worker (``serve/hub.py``), else None."""
    if config.redis_url is None:
        return HubState(config.hub) if config.hub is not None else None
    shared = RedisState(config.redis_url, config.prefix)
    shared.share_breakers(backends.by_name.values())
    return shared
