"""Hostile clients against a real gateway: no 5xx for client errors, no leaks, no foreign calls.

The gateway has one configured upstream (with a secret API key) and a canary upstream it was
never told about; every test ends with the canary untouched.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.serve.fault_upstream import FaultUpstream
from tests.serve.gateway_server import gateway_config, running_gateway
from tests.serve.test_gateway import ledger_rows

pytestmark = pytest.mark.slow

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
UPSTREAM_SECRET = "sk-upstream-never-shown-7f3a"
ADMIN = "admin-key-never-shown-c41d"
CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
SQLISH = [
    "' OR '1'='1",
    "sk-yard-' OR 1=1 --",
    'sk-yard-"; DROP TABLE keys; --',
    "sk-yard-%' UNION SELECT key_hash FROM keys --",
    "\\x00\\x00",
]


class Hostile:
    """The running gateway, its upstream, the canary, and two keys (one restricted)."""

    def __init__(self, url: str, upstream: FaultUpstream, canary: FaultUpstream) -> None:
        self.url = url
        self.upstream = upstream
        self.canary = canary
        self.client = httpx.Client(timeout=10)
        admin = {"Authorization": f"Bearer {ADMIN}"}
        made = [
            httpx.post(f"{url}/admin/keys", headers=admin, json=body).json()
            for body in ({"name": "alice"}, {"name": "bob", "models": ["m"], "budget_usd": 5})
        ]
        self.alice, self.bob = (m["key"] for m in made)
        self.bob_id = made[1]["id"]

    def post(self, body: bytes | dict, key: str | None = None, **headers: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key or self.alice}", **headers}
        url = f"{self.url}/v1/chat/completions"
        if isinstance(body, dict):
            return self.client.post(url, json=body, headers=headers)
        headers["Content-Type"] = "application/json"
        return self.client.post(url, content=body, headers=headers)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    home = tmp_path_factory.mktemp("hostile-home")
    with FaultUpstream("a") as upstream, FaultUpstream("canary") as canary:
        backend = {"name": "a", "base_url": upstream.url, "api_key": UPSTREAM_SECRET}
        # these tests send wrong keys by the score: no failed-login 429s
        server = {"admin_key": ADMIN, "max_body_bytes": 65536, "failed_logins_per_minute": 0}
        config = gateway_config([backend], {"m": ["a"]}, **server)
        with running_gateway(config, home) as gateway:
            hostile = Hostile(gateway.url, upstream, canary)
            yield hostile
            hostile.client.close()
        assert canary.requests == []


def assert_client_error(reply: httpx.Response, *statuses: int) -> None:
    assert reply.status_code in statuses, (reply.status_code, reply.text[:300])
    if reply.headers.get("content-type", "").startswith("application/json"):
        assert "error" in reply.json()
    assert UPSTREAM_SECRET not in reply.text and ADMIN not in reply.text


def test_huge_bodies_get_413(hostile: Hostile) -> None:
    huge = b'{"model": "m", "messages": [{"role": "user", "content": "' + b"x" * 200_000 + b'"}]}'
    assert_client_error(hostile.post(huge), 413)

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while it arrives
        yield b'{"model": "m", "messages": [{"role": "user", "content": "'
        for _ in range(100):
            yield b"y" * 4096

    url = f"{hostile.url}/v1/chat/completions"
    headers = {"Authorization": f"Bearer {hostile.alice}"}
    assert_client_error(httpx.post(url, content=chunks(), headers=headers), 413)


def test_deep_nesting_and_bad_encodings_get_400(hostile: Hostile) -> None:
    assert_client_error(hostile.post(b"[" * 20_000 + b"]" * 20_000), 400)
    nested = b'{"model": "m", "messages": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    assert_client_error(hostile.post(nested), 400)
    assert_client_error(hostile.post(b'{"model": "m\xff\xfe", "messages": []}'), 400)
    assert_client_error(hostile.post(b"\xef\xbb\xbf\x00\x00garbage"), 400)
    assert_client_error(hostile.post(b""), 400)
    assert_client_error(hostile.post({"model": ["m"], "messages": "hi"}), 400)
    assert_client_error(hostile.post({**CHAT, "stream": "yes"}), 400)


def test_crlf_in_header_values_is_refused_before_the_app() -> None:
    with FaultUpstream("a") as upstream:
        config = gateway_config([{"name": "a", "base_url": upstream.url}], {"m": ["a"]})
        with (
            running_gateway(config) as gateway,
            socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as conn,
        ):
            conn.sendall(
                b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                b"Authorization: Bearer a\rX-Injected: 1\r\n"
                b"Content-Length: 2\r\n\r\n{}"
            )
            head = conn.recv(4096)
        assert head.startswith(b"HTTP/1.1 400"), head[:100]
        assert upstream.requests == []


def test_names_with_crlf_are_not_reflected_into_headers(hostile: Hostile) -> None:
    reply = hostile.post({**CHAT, "model": "m\r\nX-Injected: 1\r\n\r\n<script>"})
    assert_client_error(reply, 404)
    assert "x-injected" not in reply.headers
    reply = hostile.post(CHAT, **{"x-request-id": "evil"})
    assert reply.status_code == 200 and reply.headers["x-request-id"] != "evil"


def test_wrong_keys_all_get_the_same_401(hostile: Hostile) -> None:
    prefix = hostile.alice[:12]
    guesses = [prefix + "A" * 30, "sk-yard-" + "B" * 43, "x", hostile.alice[:-1], *SQLISH]
    replies = [hostile.post(CHAT, key=guess) for guess in guesses * 20]
    assert {r.status_code for r in replies} == {401}
    assert len({r.content for r in replies}) == 1  # nothing about how close a guess was
    assert hostile.alice not in replies[0].text and "alice" not in replies[0].text


def test_a_near_miss_key_is_not_slower_to_refuse(hostile: Hostile) -> None:
    near, far = hostile.alice[:-1] + "Z", "sk-yard-" + "Q" * 43
    times: dict[str, list[float]] = {near: [], far: []}
    for _ in range(100):
        for key in (near, far):  # interleaved, so drift hits both alike
            t0 = time.perf_counter()
            hostile.post(CHAT, key=key)
            times[key].append(time.perf_counter() - t0)
    near_ms, far_ms = (sorted(times[k])[50] * 1000 for k in (near, far))
    # the lookup is by hash, so no per-character timing; this catches coarse leaks (a database
    # lookup or a slower path for near misses), not nanoseconds, which loopback noise hides
    assert abs(near_ms - far_ms) < 1.5, (near_ms, far_ms)


def test_sql_in_keys_is_just_a_wrong_key(hostile: Hostile) -> None:
    for guess in SQLISH:
        assert_client_error(hostile.post(CHAT, key=guess), 401)
    assert hostile.post(CHAT).status_code == 200  # the keys table is intact


def test_smuggled_upstreams_are_refused_and_never_called(hostile: Hostile) -> None:
    for field in ("api_base", "base_url", "api_key", "azure_endpoint", "api_version",
                  "upstream_url"):  # fmt: skip
        assert_client_error(hostile.post({**CHAT, field: hostile.canary.url}), 400)
    assert_client_error(hostile.post({**CHAT, "model": hostile.canary.url}), 404)
    assert_client_error(hostile.post({**CHAT, "model": "canary/" + hostile.canary.url}), 404)
    hostile.post(CHAT, **{"x-forwarded-host": f"127.0.0.1:{hostile.canary.port}"})
    passthrough = hostile.post({**CHAT, "extra_body": {"base_url": hostile.canary.url}})
    assert passthrough.status_code == 200  # forwarded as data to the configured upstream only
    assert hostile.canary.requests == []


def test_no_secret_or_other_keys_data_leaks(hostile: Hostile) -> None:
    hostile.upstream.plan("500", "500", "500")
    failed = hostile.post(CHAT)
    assert_client_error(failed, 502, 503)
    seen = [failed.text]
    for path in ("/health", "/metrics", "/v1/models"):
        seen.append(
            httpx.get(hostile.url + path, headers={"Authorization": "Bearer " + hostile.bob}).text
        )
    alice_admin = httpx.get(
        f"{hostile.url}/admin/keys", headers={"Authorization": f"Bearer {hostile.alice}"}
    )
    assert_client_error(alice_admin, 401, 403)
    revoke = httpx.delete(f"{hostile.url}/admin/keys/{hostile.bob_id}",
                          headers={"Authorization": f"Bearer {hostile.alice}"})  # fmt: skip
    assert_client_error(revoke, 401, 403)
    assert hostile.post(CHAT, key=hostile.bob).status_code == 200  # bob still works
    for text in seen:
        assert UPSTREAM_SECRET not in text and ADMIN not in text
        assert hostile.alice not in text and hostile.bob not in text
    forwarded = hostile.upstream.headers[-1]
    assert forwarded["Authorization"] == f"Bearer {UPSTREAM_SECRET}"  # the client's never goes


schema = schemathesis.openapi.from_path(OPENAPI)
# valid requests and ones that break the schema (wrong types, missing fields): none may be a 5xx
schema.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
    database="none",
)


@pytest.fixture(scope="module")
def fuzz_target(hostile: Hostile) -> Hostile:
    return hostile


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzz_from_openapi(case: schemathesis.Case, fuzz_target: Hostile) -> None:
    checks = [not_a_server_error, status_code_conformance, content_type_conformance,
              response_schema_conformance]  # fmt: skip
    headers = {"Authorization": f"Bearer {fuzz_target.alice}"}
    case.call_and_validate(base_url=fuzz_target.url, headers=headers, checks=checks)


def raw(port: int, request: bytes, timeout: float = 5) -> bytes:
    """``request`` sent as it is; everything the gateway answers until it closes or stops."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(request)
        seen = b""
        try:
            while chunk := conn.recv(65536):
                seen += chunk
        except TimeoutError:
            pass
        return seen


def test_smuggling_content_length_with_transfer_encoding_is_refused(hostile: Hostile) -> None:
    port = int(hostile.url.rsplit(":", 1)[1])
    body = b'{"model": "m", "messages": [{"role": "user", "content": "hi"}]}'
    smuggled = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
        b"Authorization: Bearer " + hostile.alice.encode() + b"\r\n"
        b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n" % len(body)
        + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        + b"GET /admin/keys HTTP/1.1\r\nHost: localhost\r\n\r\n"
    )  # fmt: skip
    before = len(hostile.upstream.requests)
    answer = raw(port, smuggled)
    assert answer.startswith(b"HTTP/1.1 400") and answer.count(b"HTTP/1.1") == 1
    assert len(hostile.upstream.requests) == before


MALFORMED = [
    ({"messages": ["hi"]}, "messages[0]"),
    ({"messages": [{"role": "user", "content": {"text": "hi"}}]}, "messages[0].content"),
    ({"messages": [{"content": "hi"}]}, "messages[0].role"),
    ({"messages": [{"role": "wizard", "content": "hi"}]}, "messages[0].role"),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]},
     "messages[0].content[0].text"),
    ({"messages": [{"role": "user", "content": [{"type": "video"}]}]},
     "messages[0].content[0].type"),
    ({"n": 0}, "n"), ({"n": 1000}, "n"), ({"max_tokens": 0}, "max_tokens"),
    ({"temperature": "hot"}, "temperature"),
    ({"tools": [{"type": "function", "function": {"name": "no spaces"}}]},
     "tools[0].function.name"),
    ({"tools": [{"type": "function"}]}, "tools[0].function"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "param"), MALFORMED)
def test_malformed_requests_get_400_naming_the_field_and_never_leave(
    hostile: Hostile, change: dict, param: str
) -> None:
    before = len(hostile.upstream.requests)
    reply = hostile.post({**CHAT, **change})
    assert_client_error(reply, 400)
    assert reply.json()["error"]["param"] == param, reply.json()
    assert len(hostile.upstream.requests) == before


def test_max_tokens_beyond_the_models_context_is_a_400(tmp_path: Path) -> None:
    with FaultUpstream("a") as upstream:
        backend = {"name": "a", "base_url": upstream.url, "model": "smollm2-135m-instruct"}
        with running_gateway(gateway_config([backend], {"m": ["a"]}), tmp_path) as gw:
            url = gw.url + "/v1/chat/completions"
            reply = httpx.post(url, json={**CHAT, "max_tokens": 10**9})
            fits = httpx.post(url, json={**CHAT, "max_tokens": 8192})
    assert_client_error(reply, 400)
    error = reply.json()["error"]
    assert error["param"] == "max_tokens" and "8192" in error["message"]
    assert fits.status_code == 200 and len(upstream.requests) == 1


def test_json_nested_past_the_serializer_is_a_400(hostile: Hostile) -> None:
    deep = b"[" * 300 + b"]" * 300  # orjson reads 1,024 levels but writes 254
    body = b'{"model": "m", "messages": [{"role": "user", "content": "hi"}], "x": ' + deep + b"}"
    assert_client_error(hostile.post(body), 400)


def test_bad_requests_never_open_the_breaker(tmp_path: Path) -> None:
    """A client's malformed messages are refused before they reach the model; an upstream's
    4xx is passed back once, never retried and never counted: other clients are served."""
    with FaultUpstream("a") as upstream:
        backend = {"name": "a", "base_url": upstream.url, "breaker": {"failures": 2}}
        with running_gateway(gateway_config([backend], {"m": ["a"]}), tmp_path) as gw:
            url = gw.url + "/v1/chat/completions"
            for _ in range(5):
                bad = httpx.post(url, json={"model": "m", "messages": [{"content": "x"}]})
                assert bad.status_code == 400
            assert upstream.requests == []
            upstream.plan(*["400"] * 5)
            assert [httpx.post(url, json=CHAT).status_code for _ in range(5)] == [400] * 5
            assert len(upstream.requests) == 5  # one attempt each
            assert httpx.post(url, json=CHAT).status_code == 200
            health = httpx.get(gw.url + "/health").json()
    assert health["backends"]["a"]["breaker"] == "closed"


def test_an_upstream_echoing_its_credential_leaks_nothing(tmp_path: Path) -> None:
    with FaultUpstream("a") as upstream:
        backend = {"name": "a", "base_url": upstream.url, "api_key": UPSTREAM_SECRET}
        with running_gateway(gateway_config([backend], {"m": ["a"]}), tmp_path) as gw:
            url = gw.url + "/v1/chat/completions"
            upstream.plan("leak:400", "leak:422", "leak:401", "leak:200")
            replies = [httpx.post(url, json=CHAT) for _ in range(3)]
            with httpx.stream("POST", url, json={**CHAT, "stream": True}) as streamed:
                events = streamed.read().decode()
    assert [r.status_code for r in replies] == [400, 422, 502]
    for text in [*(r.text for r in replies), events]:
        assert UPSTREAM_SECRET not in text and "sk-upstream" not in text
        assert "10.1.2.3" not in text and "/srv/llm" not in text and "Traceback" not in text
    error = replies[0].json()["error"]
    assert error["message"].startswith("backend a answered HTTP 400: Incorrect API key provided:")
    assert (error["type"], error["code"]) == ("invalid_request_error", "invalid_api_key")
    assert '"code":"invalid_api_key"' in events.replace(" ", "")


def test_hostile_usage_figures_are_dropped_not_recorded(tmp_path: Path) -> None:
    with FaultUpstream("a") as upstream:
        with running_gateway(gateway_config([{"name": "a", "base_url": upstream.url}],
                                            {"m": ["a"]}), tmp_path) as gw:  # fmt: skip
            upstream.plan('usage:{"prompt_tokens": "7", "completion_tokens": 1e300}',
                          'usage:{"prompt_tokens": 100000000000000000000, "completion_tokens": -4}',
                          "usage:[1, 2]")  # fmt: skip
            statuses = [httpx.post(gw.url + "/v1/chat/completions", json=CHAT).status_code
                        for _ in range(3)]  # fmt: skip
        rows = ledger_rows(tmp_path)
    assert statuses == [200, 200, 200]
    assert [(r["prompt_tokens"], r["completion_tokens"]) for r in rows] == [(None, None)] * 3
