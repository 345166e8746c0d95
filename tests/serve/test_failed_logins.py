"""Failed key checks per client address: 429 after FAILURES, per process or across replicas."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from ulid import ULID

from modelyard.serve.config import GatewayConfig, StateConfig
from modelyard.serve.middleware.failed_logins import FAILURES, WINDOW_S
from tests.serve.fault_upstream import FaultUpstream
from tests.serve.gateway_server import RunningGateway, gateway_config, running_gateway
from tests.serve.services import redis_url

ADMIN = "sk-admin-for-failed-login-tests"
WRONG = "sk-yard-not-a-key-of-this-gateway"
CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def config(upstream: FaultUpstream, state: StateConfig | None = None, **server) -> GatewayConfig:
    backend = {"name": "a", "base_url": upstream.url, "model": "up-model"}
    plain = gateway_config([backend], {"m": ["a"]}, admin_key=ADMIN, **server)
    return plain.model_copy(update={"state": state}) if state else plain


def client(gateway: RunningGateway, address: str, key: str) -> httpx.Client:
    """A client whose requests come from ``address`` (any 127.x.y.z reaches loopback)."""
    return httpx.Client(
        base_url=gateway.url,
        headers={"Authorization": f"Bearer {key}"},
        transport=httpx.HTTPTransport(local_address=address),
        timeout=10,
    )


def chat(c: httpx.Client) -> httpx.Response:
    return c.post("/v1/chat/completions", json=CHAT)


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "failed API key checks" in r.getMessage()]


@pytest.fixture
def upstream() -> Iterator[FaultUpstream]:
    with FaultUpstream("a") as up:
        yield up


def test_an_address_is_refused_after_repeated_failures(
    upstream: FaultUpstream, yard_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "modelyard.serve")
    with (
        running_gateway(config(upstream)) as gw,
        client(gw, "127.0.0.2", WRONG) as attacker,
        client(gw, "127.0.0.2", ADMIN) as attackers_neighbour,
        client(gw, "127.0.0.1", ADMIN) as someone_else,
    ):
        assert [chat(attacker).status_code for _ in range(FAILURES)] == [401] * FAILURES
        refused = chat(attacker)
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limit_exceeded"
        assert 0 < int(refused.headers["retry-after"]) <= WINDOW_S
        assert attacker.get("/v1/models").status_code == 429
        assert chat(attackers_neighbour).status_code == 429  # the address, not the key
        assert attacker.get("/health").status_code == 200
        assert chat(someone_else).status_code == 200
    logged = warnings(caplog)
    assert len(logged) == 1 and "127.0.0.2" in logged[0] and WRONG not in caplog.text


def test_successes_and_other_addresses_do_not_count(upstream: FaultUpstream, yard_home: Path):
    with (
        running_gateway(config(upstream)) as gw,
        client(gw, "127.0.0.3", WRONG) as first,
        client(gw, "127.0.0.4", WRONG) as second,
        client(gw, "127.0.0.3", ADMIN) as valid,
    ):
        half = FAILURES // 2 + 1
        assert {chat(first).status_code for _ in range(half)} == {401}
        assert {chat(second).status_code for _ in range(half)} == {401}
        assert {chat(valid).status_code for _ in range(FAILURES)} == {200}
        assert chat(first).status_code == 401


@pytest.mark.parametrize("limit", [3, 0])
def test_the_limit_is_configurable_and_0_turns_it_off(
    upstream: FaultUpstream, yard_home: Path, limit: int
) -> None:
    with (
        running_gateway(config(upstream, failed_logins_per_minute=limit)) as gw,
        client(gw, "127.0.0.6", WRONG) as attacker,
    ):
        statuses = [chat(attacker).status_code for _ in range(FAILURES + 1)]
    assert statuses == (
        [401] * limit + [429] * (FAILURES + 1 - limit) if limit else [401] * (FAILURES + 1)
    )


def test_replicas_count_failures_together_through_redis(
    upstream: FaultUpstream, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "modelyard.serve")
    state = StateConfig(redis_url=redis_url(), prefix=f"test:{ULID()}:")
    with ExitStack() as stack:
        a, b = (
            stack.enter_context(running_gateway(config(upstream, state), tmp_path / name))
            for name in ("a", "b")
        )
        on_a = stack.enter_context(client(a, "127.0.0.5", WRONG))
        on_b = stack.enter_context(client(b, "127.0.0.5", WRONG))
        for i in range(FAILURES):  # each replica sees half, below the limit
            assert chat(on_b if i % 2 else on_a).status_code == 401
        assert chat(on_b).status_code == 429  # it counted the last failure: blocked
        # a replica learns of the block from Redis at its next failure, so it lets one more by
        assert [chat(on_a).status_code for _ in range(2)] == [401, 429]
    assert len(warnings(caplog)) == 1
