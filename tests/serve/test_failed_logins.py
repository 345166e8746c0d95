"""Failed key checks per client address: 429 after FAILURES, per process or across replicas."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from ulid import ULID

from modelyard.errors import ConfigError
from modelyard.serve.config import GatewayConfig, ServerConfig, StateConfig
from modelyard.serve.config_file import load_config
from modelyard.serve.middleware.client_address import ClientAddress
from modelyard.serve.middleware.failed_logins import FAILURES, WINDOW_S
from tests.serve.fault_upstream import FaultUpstream
from tests.serve.gateway_server import RunningGateway, gateway_config, running_gateway
from tests.serve.services import redis_url

ADMIN = "sk-admin-for-failed-login-tests"
WRONG = "sk-yard-not-a-key-of-this-gateway"
CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
A, B = "203.0.113.7", "203.0.113.8"
"""Two clients behind the balancer (documentation addresses, never the TCP peer here)."""


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


def chat(c: httpx.Client, forwarded: str | None = None) -> httpx.Response:
    """One chat request; ``forwarded`` is sent as its X-Forwarded-For."""
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return c.post("/v1/chat/completions", json=CHAT, headers=headers)


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


def test_behind_a_trusted_proxy_the_forwarded_client_is_refused(
    upstream: FaultUpstream, yard_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "modelyard.serve")
    with (
        running_gateway(config(upstream, trusted_proxies=["127.0.0.1"])) as gw,
        client(gw, "127.0.0.1", WRONG) as balancer,
        client(gw, "127.0.0.1", ADMIN) as valid_via_balancer,
    ):
        assert {chat(balancer, A).status_code for _ in range(FAILURES)} == {401}
        assert chat(balancer, A).status_code == 429
        assert chat(valid_via_balancer, A).status_code == 429
        assert chat(balancer, B).status_code == 401  # B has failed once, not 21 times
        assert chat(valid_via_balancer, B).status_code == 200
        assert chat(valid_via_balancer).status_code == 200  # no header: the balancer itself
    logged = warnings(caplog)
    assert len(logged) == 1 and A in logged[0] and "127.0.0.1" not in logged[0]


@pytest.mark.parametrize("trusted", [[], ["127.0.0.1"]])
def test_an_untrusted_peer_cannot_choose_its_address(
    upstream: FaultUpstream, yard_home: Path, trusted: list[str]
) -> None:
    with (
        running_gateway(config(upstream, trusted_proxies=trusted)) as gw,
        client(gw, "127.0.0.8", WRONG) as attacker,
        client(gw, "127.0.0.8", ADMIN) as attackers_neighbour,
    ):
        statuses = [chat(attacker, A if i % 2 else B).status_code for i in range(FAILURES)]
        assert statuses == [401] * FAILURES  # A and B both counted against 127.0.0.8
        assert chat(attacker, "203.0.113.99").status_code == 429
        assert chat(attackers_neighbour).status_code == 429


def test_a_spoofed_chain_resolves_to_the_rightmost_untrusted_hop(
    upstream: FaultUpstream, yard_home: Path
) -> None:
    trusted = ["127.0.0.1", "10.0.0.0/8"]  # the balancer and an inner proxy it sits behind
    with (
        running_gateway(config(upstream, trusted_proxies=trusted)) as gw,
        client(gw, "127.0.0.1", WRONG) as balancer,
    ):
        for i in range(FAILURES):  # the client makes up a new left part every time
            assert chat(balancer, f"198.51.100.{i}, {A}, 10.1.2.3").status_code == 401
        assert chat(balancer, f"198.51.100.250,{A}").status_code == 429
        assert chat(balancer, A).status_code == 429
        assert chat(balancer, f"{A}, {B}, 10.1.2.3").status_code == 401  # B now


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("127.0.0.1", [b"203.0.113.7"], "203.0.113.7"),
        ("127.0.0.1", [b"198.51.100.1, 203.0.113.7"], "203.0.113.7"),
        ("127.0.0.1", [b"198.51.100.1", b"203.0.113.7,10.0.0.9"], "203.0.113.7"),  # 2 headers
        ("127.0.0.1", [b"10.0.0.8, 10.0.0.9"], "10.0.0.8"),  # all trusted: the first
        ("127.0.0.1", [b"2001:db8::1"], "2001:db8::1"),
        ("::ffff:127.0.0.1", [b"203.0.113.7"], "203.0.113.7"),  # dual-stack listener
        ("127.0.0.1", [], "127.0.0.1"),
        ("127.0.0.1", [b""], "127.0.0.1"),
        ("127.0.0.1", [b"203.0.113.7, not-an-ip"], "127.0.0.1"),
        ("127.0.0.1", [b"203.0.113.7:4711"], "127.0.0.1"),
        ("127.0.0.1", [b"not-an-ip, 203.0.113.7"], "203.0.113.7"),  # left of it: unread
        ("192.0.2.1", [b"203.0.113.7"], "192.0.2.1"),  # untrusted peer
    ],
)
def test_client_address_rules(peer: str, forwarded: list[bytes], expected: str) -> None:
    resolve = ClientAddress(
        ServerConfig(trusted_proxies=["127.0.0.1", "10.0.0.0/8"]).trusted_proxies
    )
    headers = [(b"host", b"gw"), *((b"x-forwarded-for", value) for value in forwarded)]
    assert resolve({"type": "http", "client": (peer, 5000), "headers": headers}) == expected


def test_without_trusted_proxies_the_header_is_not_read() -> None:
    scope = {"type": "http", "client": ("127.0.0.1", 5000), "headers": None}
    assert ClientAddress()(scope) == "127.0.0.1"  # reading None headers would raise


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ("[127.0.0.1, 10.0.0.1/8]",
         r"gateway.yaml:3: server.trusted_proxies.1: .*10.0.0.1/8 has host bits set"),
        ("\n    - 10.0.0.0/8\n    - lb.internal",
         r"gateway.yaml:5: server.trusted_proxies.1: .*'lb.internal' does not appear"),
        ("[10]", r"gateway.yaml:3: server.trusted_proxies.0: .*expected an IP address"),
        ("10.0.0.0/8", r"gateway.yaml:3: server.trusted_proxies: Input should be a valid list"),
    ],
)  # fmt: skip
def test_bad_trusted_proxies_name_file_line_and_field(
    tmp_path: Path, entries: str, message: str
) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(f"backends: [{{name: a, base_url: http://x/v1}}]\nserver:\n"
                    f"  trusted_proxies: {entries}\nmodels: {{m: [a]}}\n")  # fmt: skip
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_an_upstreams_401_is_not_the_clients_failed_login(
    upstream: FaultUpstream, yard_home: Path
) -> None:
    """A backend refusing the gateway's own upstream key is the config at fault: the client
    gets 502 (not a 401 its SDK would blame on its own key), and its address is not refused."""
    upstream.plan(*["401"] * (FAILURES + 2))
    with running_gateway(config(upstream)) as gw, client(gw, "127.0.0.3", ADMIN) as honest:
        replies = [chat(honest) for _ in range(FAILURES + 2)]
    assert [r.status_code for r in replies] == [502] * (FAILURES + 2)  # never a 429
    assert replies[0].json()["error"]["message"] == "backend a answered HTTP 401: injected 401"
