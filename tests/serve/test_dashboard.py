"""The dashboard's admin API against a real gateway: who may call it, sessions and CSRF, the
figures after real requests (equal to `yard usage`'s), key edits, the ledger search, routing
counts, plan vs reality, and hostile parameters and bodies (fuzzed from docs/openapi.yaml)."""

from __future__ import annotations

import json
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
from typer.testing import CliRunner

from modelyard.cli import app
from modelyard.errors import YardError
from modelyard.serve.keys import KeyStore
from modelyard.serve.ledger import insert_rows, new_entry
from modelyard.serve.ui.session import Sessions
from tests.serve.dashboard_gateway import ADMIN_KEY, USD_PER_HOUR, Board, dashboard_gateway

pytestmark = pytest.mark.slow

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
GETS = [
    "/admin/gateway",
    "/admin/stats",
    "/admin/usage",
    "/admin/routing",
    "/admin/ledger",
    "/admin/plan",
    "/admin/apis",
    "/admin/keys",
    "/admin/session",
]


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Board]:
    # wrong keys are sent on purpose here: no failed-login 429s (tested on a gateway of its own)
    with dashboard_gateway(tmp_path_factory.mktemp("board"), failed_logins_per_minute=0) as b:
        yield b


def test_nothing_without_the_admin_key(board: Board) -> None:
    alice = board.client.post("/admin/keys", json={"name": "alice"}).json()["key"]
    for path in GETS:
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": f"Bearer {alice}"},
            {"Cookie": "yard_session=1.2.3"},
        ):
            answer = httpx.get(board.url + path, headers=headers)
            assert answer.status_code == 401, (path, headers)
            assert answer.json()["error"]["code"] == "invalid_api_key"
    page = httpx.get(board.url + "/ui")
    assert page.status_code == 303 and page.headers["location"] == "/ui/login"
    login = httpx.get(board.url + "/ui/login")
    assert login.status_code == 200 and "admin-key" in login.text
    assert "script-src 'self'" in login.headers["content-security-policy"]
    assert httpx.get(board.url + "/ui/static/../../app.py").status_code == 404


def test_session_cookie_csrf_and_origin(board: Board) -> None:
    with httpx.Client(base_url=board.url) as browser:
        check_session(board, browser)


def check_session(board: Board, browser: httpx.Client) -> None:
    assert browser.post("/admin/session", json={"admin_key": "nope"}).status_code == 401
    form = browser.post("/admin/session", data={"admin_key": ADMIN_KEY})
    assert form.status_code == 415  # a cross-site form cannot log a browser in
    answer = browser.post("/admin/session", json={"admin_key": ADMIN_KEY})
    assert answer.status_code == 200
    cookie = answer.headers["set-cookie"]
    for flag in ("HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"):
        assert flag in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback: the browser would drop it
    csrf = answer.json()["csrf"]
    assert browser.get("/admin/stats").status_code == 200
    assert browser.get("/ui").status_code == 200
    body = {"name": "from-the-page"}
    no_token = browser.post("/admin/keys", json=body)
    assert no_token.status_code == 403 and no_token.json()["error"]["code"] == "csrf_failed"
    wrong = browser.post("/admin/keys", json=body, headers={"X-CSRF-Token": csrf[:-2] + "xx"})
    assert wrong.status_code == 403
    foreign = browser.post(
        "/admin/keys", json=body, headers={"X-CSRF-Token": csrf, "Origin": "http://evil.example"}
    )
    # the gateway's origin check (serve/middleware/origin.py) refuses a foreign page first;
    # a sibling site's change (no Origin, Sec-Fetch-Site: same-site) passes that and meets the
    # admin API's own same-origin rule
    assert foreign.status_code == 403 and foreign.json()["error"]["code"] == "forbidden_origin"
    sibling = browser.post(
        "/admin/keys", json=body, headers={"X-CSRF-Token": csrf, "Sec-Fetch-Site": "same-site"}
    )
    assert sibling.status_code == 403 and sibling.json()["error"]["code"] == "cross_origin"
    cross = browser.delete(
        "/admin/session", headers={"X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site"}
    )
    assert cross.status_code == 403
    made = browser.post(
        "/admin/keys", json=body, headers={"X-CSRF-Token": csrf, "Origin": board.url}
    )
    assert made.status_code == 201 and made.json()["key"].startswith("sk-yard-")
    out = browser.delete("/admin/session", headers={"X-CSRF-Token": csrf})
    assert out.status_code == 200 and "Max-Age=0" in out.headers["set-cookie"]
    assert browser.get("/admin/stats").status_code == 401


def test_forged_tampered_and_expired_sessions_are_refused(board: Board) -> None:
    good, _ = Sessions(ADMIN_KEY).issue()
    expires, nonce, mac = good.split(".")
    forged = [
        Sessions("another-admin-key").issue()[0],
        f"{int(expires) + 3600}.{nonce}.{mac}",
        f"{expires}.{nonce}x.{mac}",
        Sessions(ADMIN_KEY, clock=lambda: 0.0).issue()[0],  # expired in 1970
        "x" * 5000,
        "..",
    ]
    for token in forged:
        answer = httpx.get(board.url + "/admin/stats", cookies={"yard_session": token})
        assert answer.status_code == 401, token[:40]
    assert httpx.get(board.url + "/admin/stats", cookies={"yard_session": good}).status_code == 200


def test_admin_answers_are_not_cached_or_framed(board: Board) -> None:
    answer = board.client.get("/admin/usage")
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"


def test_live_numbers_move_after_requests(board: Board) -> None:
    start = board.settle()
    before = board.get("/admin/stats")["live"]
    for i in range(4):
        assert board.chat("auto", f"hello {i}").status_code == 200
    board.remote_up.plan("500", "500", "500")  # cheap fails three times, big answers
    assert board.chat("cheap", "this one fails").status_code == 502
    with board.client.stream(
        "POST",
        "/v1/chat/completions",
        json={"model": "big", "stream": True, "messages": [{"role": "user", "content": "hi"}]},
    ) as stream:
        assert stream.status_code == 200 and "[DONE]" in stream.read().decode()
    board.wait_rows(start + 6)
    live = board.get("/admin/stats")["live"]
    assert live["requests"] == before["requests"] + 6
    assert live["errors"] == before["errors"] + 1 and live["req_s"] > before["req_s"]
    groups = {(g["model"], g["backend"]): g for g in live["groups"]}
    assert groups[("cheap", "")]["errors"] >= 1  # every backend failed: the row names none
    assert groups[("cheap", "remote")]["latency"]["p95_ms"] is not None
    streamed = [
        g for (m, b), g in groups.items() if b == "home" and g["ttft"]["p50_ms"] is not None
    ]
    assert streamed, groups
    assert sum(b["req_s"] for b in live["series"]) * 10 == pytest.approx(live["requests"])
    backends = {b["name"]: b for b in board.get("/admin/stats")["backends"]}
    assert backends["home"]["breaker"] == "closed" and backends["remote"]["in_flight"] == 0


def test_usage_is_what_yard_usage_says(board: Board, monkeypatch: pytest.MonkeyPatch) -> None:
    start = board.settle()
    for i in range(3):
        board.chat("auto", f"count me {i}")
    board.wait_rows(start + 3)
    over_http = board.get("/admin/usage", since="all", vs="openai/gpt-4o")
    monkeypatch.setenv("YARD_HOME", str(board.home))
    cli = CliRunner().invoke(app, ["usage", "--vs", "openai/gpt-4o", "--json"])
    assert cli.exit_code == 0, cli.output
    assert over_http["report"] == json.loads(cli.stdout)
    monkeypatch.setenv("YARD_ADMIN_KEY", ADMIN_KEY)
    remote = CliRunner().invoke(
        app, ["usage", "--url", board.url, "--vs", "openai/gpt-4o", "--json"]
    )
    assert remote.exit_code == 0, remote.output
    assert json.loads(remote.stdout) == json.loads(cli.stdout)
    table = CliRunner().invoke(app, ["usage", "--url", board.url, "--by", "backend"])
    assert "usage by backend" in table.stdout and "remote" in table.stdout
    monkeypatch.setenv("YARD_ADMIN_KEY", "wrong")
    with pytest.raises(YardError, match="HTTP 401"):
        CliRunner().invoke(app, ["usage", "--url", board.url], catch_exceptions=False)
    total = over_http["report"]["total"]
    assert total["requests"] == board.rows() and total["vs_cost_usd"] > 0
    assert sum(r["requests"] for r in over_http["series"]) == total["requests"]
    assert over_http["unpriced_self_hosted"] == []  # home is priced at USD_PER_HOUR
    hourly = board.get("/admin/usage", since="2h", step="hour")
    assert all(len(r["group"]) == 13 for r in hourly["series"])


def test_keys_are_edited_over_http_and_the_edit_applies_at_once(board: Board) -> None:
    made = board.client.post("/admin/keys", json={"name": "carol", "models": ["cheap"]}).json()
    key_id, raw = made["id"], made["key"]
    assert board.chat("big", "hi", key=raw).status_code == 403
    edit = board.client.patch(
        f"/admin/keys/{key_id}",
        json={
            "models": ["big", "cheap"],
            "budget_usd": 0.5,
            "rpm": 100,
            "name": "carol-2",
            "private": True,
        },
    )
    assert edit.status_code == 200, edit.text
    edited = edit.json()
    assert (edited["name"], edited["models"], edited["budget_usd"]) == (
        "carol-2",
        ["big", "cheap"],
        0.5,
    )
    assert edited["private"] is True and edited["updated_utc"] and "key" not in edited
    assert board.chat("big", "hi", key=raw).status_code == 200  # the new allow-list, at once
    cleared = board.client.patch(f"/admin/keys/{key_id}", json={"models": None, "budget_usd": None})
    assert cleared.json()["models"] is None and cleared.json()["budget_usd"] is None
    other = KeyStore.open(board.engine)  # another gateway process on the same ledger
    assert other.refresh_if_changed() is False
    board.client.patch(f"/admin/keys/{key_id}", json={"rpm": 7})
    assert other.refresh_if_changed() is True
    assert next(k for k in other.list() if k.id == key_id).rpm == 7
    for body, field in (
        (json.dumps({"rpm": 0}), "rpm"),
        (json.dumps({"name": None}), "name"),
        (json.dumps({"models": []}), "models"),
        (json.dumps({"key_hash": "x"}), "key_hash"),
        (json.dumps({"budget_usd": "5"}), "budget_usd"),
        ("{}", "nothing"),
        ("[1]", "object"),
        ("{", "JSON"),
    ):
        bad = board.client.patch(f"/admin/keys/{key_id}", content=body)
        assert bad.status_code == 400 and field in bad.json()["error"]["message"], body
    assert board.client.patch("/admin/keys/nope", json={"rpm": 2}).status_code == 404
    board.client.delete(f"/admin/keys/{key_id}")
    revoked = board.client.patch(f"/admin/keys/{key_id}", json={"rpm": 2})
    assert revoked.status_code == 400 and "revoked" in revoked.json()["error"]["message"]
    huge = board.client.post("/admin/keys", content=b'{"name": "' + b"x" * 70_000 + b'"}')
    assert huge.status_code == 413


def test_ledger_search_filters_and_pages(board: Board) -> None:
    statuses = [200, 200, 429, 502, 200]
    entries = [
        new_entry(
            datetime_utc=f"2026-01-0{1 + i % 3}T0{i % 9}:00:00.{i:03d}+00:00",
            key_id=f"01KTEST{i % 2}",
            requested_model="auto",
            served_model=["alpha", "beta"][i % 2],
            backend=["gpu", "api"][i % 2],
            status=statuses[i % 5],
            request_json='{"secret": "prompt"}',
        )
        for i in range(60)
    ]
    insert_rows(board.engine, entries)
    wanted = sorted(
        (e for e in entries if e.backend == "gpu"),
        key=lambda e: (e.datetime_utc, e.id),
        reverse=True,
    )
    seen, cursor = [], None
    while True:
        page = board.get(
            "/admin/ledger",
            backend="gpu",
            until="2026-02-01",
            limit=7,
            **({"cursor": cursor} if cursor else {}),
        )
        seen += [r["id"] for r in page["rows"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [e.id for e in wanted]
    errors = board.get("/admin/ledger", status="errors", until="2026-02-01", limit=500)["rows"]
    assert {r["status"] for r in errors} == {429, 502} and len(errors) == 24
    assert (
        len(board.get("/admin/ledger", status="429", until="2026-02-01", limit=500)["rows"]) == 12
    )
    by_model = board.get("/admin/ledger", model="beta", key="01KTEST1", limit=500)["rows"]
    assert len(by_model) == 30 and "request_json" not in by_model[0]
    one = board.get(f"/admin/ledger/{entries[0].id}")
    assert one["request_json"] == '{"secret": "prompt"}' and one["prompts_logged"] is True
    for params, word in (
        ({"limit": "0"}, "limit"),
        ({"limit": "x"}, "limit"),
        ({"status": "5x"}, "status"),
        ({"cursor": "nope"}, "cursor"),
        ({"since": "yesterday"}, "since"),
        ({"sort": "id"}, "unknown"),
    ):
        bad = board.client.get("/admin/ledger", params=params)
        assert bad.status_code == 400 and word in bad.json()["error"]["message"], params
    twice = board.client.get("/admin/ledger?key=a&key=b")
    assert twice.status_code == 400 and "twice" in twice.json()["error"]["message"]
    assert board.client.get("/admin/ledger/" + "x" * 300).status_code == 404


def test_routing_counts_private_kinds_fallbacks_and_refusals(board: Board) -> None:
    start = board.settle()
    before = board.get("/admin/routing", since="all")
    board.chat("auto", "write to jane.doe@muller-bau.de please")
    board.remote_up.plan("500", "500", "500")
    board.chat("auto", "plain question")  # cheap (remote) fails, big answers
    board.chat("no-such-model", "hi")
    # a wrong key is refused from the headers alone: no ledger row, so nothing to count
    assert board.chat("cheap", "hi", key="sk-yard-wrong").status_code == 401
    board.wait_rows(start + 3)
    after = board.get("/admin/routing", since="all")

    def grew(name: str, value: str) -> int:
        count = {c["value"]: c["requests"] for c in after[name]}.get(value, 0)
        return count - {c["value"]: c["requests"] for c in before[name]}.get(value, 0)

    assert grew("private", "email") == 1
    assert grew("fell_back_from", "cheap") == 1
    assert grew("kinds", "refused") == 1 and grew("kinds", "auto") == 2
    assert after["requests"] == before["requests"] + 3
    # rows landing in an hour already counted are counted too
    late = [
        new_entry(
            datetime_utc="2026-01-01T00:30:00.000+00:00",
            requested_model="auto",
            route_reason='{"private": ["iban"], "reason": "cheapest allowed"}',
            backend="gpu",
            status=200,
        )
    ]
    board.get("/admin/routing", since="all")
    insert_rows(board.engine, late)
    again = board.get("/admin/routing", since="all")
    assert {c["value"]: c["requests"] for c in again["private"]}["iban"] >= 1


def test_plan_beside_reality_for_the_self_hosted_backend(board: Board) -> None:
    start = board.settle()
    for i in range(3):
        with board.client.stream(
            "POST",
            "/v1/chat/completions",
            json={
                "model": "big",
                "stream": True,
                "messages": [{"role": "user", "content": f"go {i}"}],
            },
        ) as s:
            s.read()
    board.wait_rows(start + 3)
    rows = board.get("/admin/plan", since="1h")["backends"]
    assert [r["backend"] for r in rows] == ["home"]  # the remote API is not self-hosted
    home = rows[0]
    planned = home["planned"]
    assert planned["model"] == "llama-3.1-8b-instruct" and "H100" in planned["hardware"]
    assert planned["engine"] == "vllm" and planned["tok_s"] > 10
    assert planned["usd_per_mtok"] is not None and planned["basis"]
    assert home["usd_per_hour"] == USD_PER_HOUR and home["output_tokens"] > 0
    assert home["usd_per_mtok"] == pytest.approx(
        USD_PER_HOUR * 1 / home["output_tokens"] * 1e6, rel=0.01
    )


def test_wrong_dashboard_logins_are_throttled(tmp_path: Path) -> None:
    with dashboard_gateway(tmp_path, failed_logins_per_minute=3) as b:
        codes = [
            httpx.post(f"{b.url}/admin/session", json={"admin_key": f"guess-{i}"}).status_code
            for i in range(5)
        ]
        assert codes == [401, 401, 401, 429, 429]
        right = httpx.post(f"{b.url}/admin/session", json={"admin_key": ADMIN_KEY})
        assert right.status_code == 429  # refused before the key is looked at


schema = schemathesis.openapi.from_path(OPENAPI)
schema.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
    database="none",
)
admin_schema = schema.include(path_regex="^/admin/(?!reload)")


@pytest.fixture(scope="module")
def fuzz_board(board: Board) -> Board:
    return board


@admin_schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzz_the_admin_api_with_the_admin_key(case: schemathesis.Case, fuzz_board: Board) -> None:
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    case.call_and_validate(
        base_url=fuzz_board.url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, checks=checks
    )
