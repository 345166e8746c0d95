"""Redis-shared rate windows, budgets and breakers: several RedisState objects act as replicas."""

from __future__ import annotations

import threading

import pytest
from ulid import ULID

from modelyard.serve.limits import Admission, Budget
from modelyard.serve.shared import PIN_TTL_S, RedisState
from tests.serve.services import redis_url


@pytest.fixture
def replicas() -> list[RedisState]:
    """Three independent connections (as three gateway processes have), on a fresh key prefix."""
    prefix = f"test:{ULID()}:"
    states = [RedisState(redis_url(), prefix) for _ in range(3)]
    yield states
    states[0].client.delete(*(states[0].client.keys(prefix + "*") or ["none"]))
    for state in states:
        state.close()


def admit(quotas, rpm=None, tpm=None, budget=None, known=0.0, reserve=0.0, period=""):
    spend = Budget(budget, period, known) if budget is not None else None
    return quotas.admit("k", rpm, tpm, spend, reserve)


def settle(quotas, tokens, cost=0.0, budget=None, known=0.0, reserved=0.0, period="") -> None:
    spend = Budget(budget, period, known) if budget is not None else None
    quotas.settle("k", tokens, cost, spend, reserved)


def test_rpm_is_exact_across_replicas(replicas: list[RedisState]) -> None:
    limiters = [r.quotas() for r in replicas]
    admitted: list[int] = []

    def hammer(limiter) -> None:
        admitted.extend(1 for _ in range(40) if admit(limiter, rpm=25).refusal is None)

    threads = [threading.Thread(target=hammer, args=(lim,)) for lim in limiters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(admitted) == 25
    refusal = admit(limiters[0], rpm=25).refusal
    assert refusal is not None and refusal.kind == "requests" and 0 < refusal.retry_after_s <= 60


def test_tpm_counts_tokens_from_every_replica(replicas: list[RedisState]) -> None:
    a, b = replicas[0].quotas(), replicas[1].quotas()
    assert admit(a, tpm=100) == admit(b, tpm=100) == Admission()
    settle(a, 60)
    settle(b, 40)
    refusal = admit(b, tpm=100).refusal
    assert refusal is not None and refusal.kind == "tokens" and refusal.limit == 100


def test_one_call_counts_the_request_then_reserves(replicas: list[RedisState]) -> None:
    quotas = replicas[0].quotas()
    assert admit(quotas, rpm=1, budget=1.0, reserve=0.5) == Admission(spent_usd=0.0)
    refused = admit(quotas, rpm=1, budget=1.0)  # the window refuses before any reservation
    assert refused.refusal is not None and refused.refusal.kind == "requests"
    settle(quotas, 10, 0.4, budget=1.0, known=0.4, reserved=0.5)
    assert admit(replicas[1].quotas(), budget=1.0) == Admission(spent_usd=pytest.approx(0.4))
    assert admit(replicas[1].quotas(), rpm=5, budget=0.4) == Admission(
        spent_usd=pytest.approx(0.4), over_budget=True
    )


def test_budget_reservations_bound_concurrent_spend(replicas: list[RedisState]) -> None:
    books = [r.quotas() for r in replicas]
    held = [b for b in books * 5 if not admit(b, budget=1.0, reserve=0.3).over_budget]
    assert len(held) == 4  # 0 + 0.3 + 0.6 + 0.9 < 1: the fourth is the one that crosses it
    for book in held:
        settle(book, 0, 0.25, budget=1.0, reserved=0.3)
    assert admit(books[2], budget=1.0) == Admission(spent_usd=pytest.approx(1.0), over_budget=True)


def test_each_budget_period_starts_from_nothing(replicas: list[RedisState]) -> None:
    a, b = replicas[0].quotas(), replicas[1].quotas()
    admit(a, budget=1.0, reserve=0.2, period="2026-12-06")
    settle(a, 0, 1.0, budget=1.0, known=1.0, reserved=0.2, period="2026-12-06")
    assert admit(b, budget=1.0, period="2026-12-06").over_budget
    assert admit(b, budget=1.0, period="2026-12-07") == Admission(spent_usd=0.0)


def test_budget_is_seeded_from_the_ledger_figure(replicas: list[RedisState]) -> None:
    assert admit(replicas[0].quotas(), budget=1.0, known=2.5) == Admission(
        spent_usd=2.5, over_budget=True
    )


def test_breaker_opens_for_every_replica_and_one_probe_goes(replicas: list[RedisState]) -> None:
    breakers = [r.breaker("b", failures=3, cooldown_s=0.3) for r in replicas]
    for breaker in breakers:
        assert breaker.allow()
        breaker.failure()
    assert [b.state for b in breakers] == ["open"] * 3
    assert not any(b.allow() for b in breakers)
    threading.Event().wait(0.35)
    assert [b.allow() for b in breakers].count(True) == 1
    probe = next(b for b in breakers if b.state == "half_open" and b._dirty)
    probe.success()
    assert all(b.state == "closed" and b.allow() for b in breakers)


def test_success_on_another_replica_resets_the_count(replicas: list[RedisState]) -> None:
    a, b = (r.breaker("b", failures=2, cooldown_s=30) for r in replicas[:2])
    a.failure()
    assert b.allow()
    b.success()
    a.failure()
    assert a.state == "closed"


def test_unreachable_redis_falls_back_to_local_state() -> None:
    down = RedisState("redis://127.0.0.1:1/0")
    quotas = down.quotas()
    assert [admit(quotas, rpm=2).refusal is None for _ in range(3)] == [True, True, False]
    held = [admit(quotas, budget=1.0, known=0.5, reserve=0.4).over_budget for _ in range(3)]
    assert held == [False, False, True]  # 0.5 spent + 0.8 held: the third would cross twice
    assert down.failures == 1  # later calls skip Redis until RETRY_S has passed


def test_session_pins_are_shared_and_the_first_pin_wins(replicas: list[RedisState]) -> None:
    a, b = replicas[0].pins(100), replicas[1].pins(100)
    assert a.get("k:conv") is None
    a.pin("k:conv", "big")
    b.pin("k:conv", "cheap")  # decided at the same time on another replica: too late
    assert a.get("k:conv") == b.get("k:conv") == "big"
    ttl = replicas[0].client.ttl(replicas[0].prefix + "pin:k:conv")
    assert 0 < ttl <= PIN_TTL_S
    off = replicas[2].pins(0)  # `auto.session_pins: 0`
    off.pin("k:other", "big")
    assert off.get("k:conv") is None and a.get("k:other") is None


def test_session_pins_stay_local_while_redis_is_unreachable() -> None:
    pins = RedisState("redis://127.0.0.1:1/0").pins(10)
    pins.pin("k:conv", "big")
    assert pins.get("k:conv") == "big"
