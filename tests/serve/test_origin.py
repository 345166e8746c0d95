"""Browser-origin protection against a real gateway: foreign Host names on loopback (DNS
rebinding), cross-origin requests, and CORS for configured origins only."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.serve.fault_upstream import FaultUpstream
from tests.serve.gateway_server import RunningGateway, gateway_config, running_gateway

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
APP = "https://app.example.com"


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RunningGateway, FaultUpstream]]:
    """The keyless default shape (open, on loopback) with one listed origin."""
    with FaultUpstream("a") as upstream:
        config = gateway_config([{"name": "a", "base_url": upstream.url}], {"m": ["a"]},
                                cors_origins=[APP], allowed_hosts=["gateway.internal"])  # fmt: skip
        with running_gateway(config, tmp_path_factory.mktemp("origin")) as gw:
            yield gw, upstream


def post(gw: RunningGateway, **headers: str) -> httpx.Response:
    # a browser's "simple" request: text/plain needs no preflight, so it is sent as is
    body = httpx.Request("POST", "http://x", json=CHAT).content
    return httpx.post(gw.url + "/v1/chat/completions", content=body,
                      headers={"Content-Type": "text/plain", **headers})  # fmt: skip


def test_dns_rebinding_a_foreign_host_name_is_refused(gateway) -> None:
    gw, upstream = gateway
    before = len(upstream.requests)
    for host in ("evil.example", "evil.example:4000", "127.0.0.1.evil.example", "[::2]"):
        reply = post(gw, Host=host)
        assert reply.status_code == 403 and reply.json()["error"]["code"] == "forbidden_host"
    assert httpx.get(gw.url + "/health", headers={"Host": "evil.example"}).status_code == 403
    assert len(upstream.requests) == before
    for host in ("localhost", f"localhost:{gw.port}", f"127.0.0.1:{gw.port}", "[::1]:4000",
                 "app.localhost", "gateway.internal:8080"):  # fmt: skip
        assert post(gw, Host=host).status_code == 200, host


def test_a_cross_origin_simple_post_never_reaches_the_model(gateway) -> None:
    gw, upstream = gateway
    before = len(upstream.requests)
    for origin in ("http://evil.example", "null", "http://localhost:1", f"{APP}.evil.example"):
        reply = post(gw, Origin=origin)
        assert reply.status_code == 403 and reply.json()["error"]["code"] == "forbidden_origin"
        assert "access-control-allow-origin" not in reply.headers
    reply = post(gw, **{"Sec-Fetch-Site": "cross-site"})  # no Origin, still a browser's
    assert reply.status_code == 403
    assert len(upstream.requests) == before


def test_the_gateways_own_pages_and_listed_origins_are_served(gateway) -> None:
    gw, _ = gateway
    own = post(gw, Origin=f"http://127.0.0.1:{gw.port}")
    assert own.status_code == 200 and "access-control-allow-origin" not in own.headers
    listed = post(gw, Origin=APP)
    assert listed.status_code == 200
    assert listed.headers["access-control-allow-origin"] == APP
    assert "x-request-id" in listed.headers["access-control-expose-headers"]


def test_cors_preflight_only_for_listed_origins(gateway) -> None:
    gw, _ = gateway
    asked = {"Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization, content-type"}  # fmt: skip
    url = gw.url + "/v1/chat/completions"
    ok = httpx.options(url, headers={"Origin": APP, **asked})
    assert ok.status_code == 204 and ok.headers["access-control-allow-origin"] == APP
    assert "POST" in ok.headers["access-control-allow-methods"]
    assert ok.headers["access-control-allow-headers"] == "authorization, content-type"
    refused = httpx.options(url, headers={"Origin": "http://evil.example", **asked})
    assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers


def outward_address() -> str | None:
    """This machine's address on its way off loopback (a UDP "connect" sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("203.0.113.1", 9))  # TEST-NET-3: only the route is looked up
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def test_non_loopback_connections_accept_any_host(tmp_path: Path) -> None:
    """Behind a balancer the Host is the site's name; only Origin is checked there."""
    address = outward_address()
    if address is None:
        pytest.skip("this machine has no route off loopback")
    with FaultUpstream("a") as upstream:
        config = gateway_config([{"name": "a", "base_url": upstream.url}], {"m": ["a"]},
                                host="0.0.0.0")  # fmt: skip
        with running_gateway(config, tmp_path, host="0.0.0.0") as gw:
            url = f"http://{address}:{gw.port}/v1/chat/completions"
            assert (
                httpx.post(url, json=CHAT, headers={"Host": "api.example.com"}).status_code == 200
            )
            loop = httpx.post(gw.url + "/v1/chat/completions", json=CHAT,
                              headers={"Host": "api.example.com"})  # fmt: skip
    assert loop.status_code == 403  # the same gateway reached through loopback
