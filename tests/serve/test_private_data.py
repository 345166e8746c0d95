"""Private data never leaves: a real gateway, a self-hosted and a remote fake upstream that
records every body it receives, and the corpus's private prompts in every request field.

Every test ends by checking the remote upstream's bodies: no private value may be there, in
any mode, streamed or not.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from modelyard.privacy.ner import installed
from modelyard.serve.config import GatewayConfig
from tests.serve.fault_upstream import FaultUpstream
from tests.serve.gateway_server import auto_config, gateway_config, running_gateway
from tests.serve.test_gateway import ledger_rows

CORPUS = Path(__file__).resolve().parents[2] / "benchmarks" / "privacy" / "corpus" / "dev.jsonl"
IBAN = "DE89 3704 0044 0532 0130 00"
EMAIL = "maria.keller@web.de"
PROMPT = f"Please write to {EMAIL} that the refund goes to {IBAN} by Friday."
ADMIN = {"Authorization": "Bearer sk-admin"}


def corpus(private: bool) -> list[dict[str, Any]]:
    return [i for i in map(json.loads, CORPUS.read_text().splitlines()) if i["private"] == private]


def leaked(upstream: FaultUpstream, values: list[str]) -> list[str]:
    """The values found in any body the upstream received (also with separators removed)."""
    sent = [orjson.dumps(r).decode() for r in upstream.requests]
    sent += [json.dumps(r, ensure_ascii=False) for r in upstream.requests]
    found = []
    for value in values:
        bare = "".join(value.split())
        if any(value in s or (len(bare) >= 6 and bare in s.replace(" ", "")) for s in sent):
            found.append(value)
    return found


@pytest.fixture
def echo_home() -> Iterator[FaultUpstream]:
    with FaultUpstream("home", default="echo") as up:
        yield up


@pytest.fixture
def echo_remote() -> Iterator[FaultUpstream]:
    with FaultUpstream("remote", default="echo") as up:
        yield up


def with_privacy(config: GatewayConfig, **privacy: Any) -> GatewayConfig:
    raw = config.model_dump()
    raw["privacy"] = {**raw["privacy"], **privacy}
    return GatewayConfig.model_validate(raw)


def remote_only(remote: FaultUpstream, **privacy: Any) -> GatewayConfig:
    """One remote model, `cheap`, and `auto` over it alone."""
    base = gateway_config(
        [{"name": "remote", "base_url": remote.url, "model": "smollm2-135m-instruct"}],
        {"cheap": ["remote"]},
    ).model_dump()
    base["auto"] = {"candidates": ["cheap"]}
    base["privacy"] = privacy
    return GatewayConfig.model_validate(base)


class Client:
    def __init__(self, config: GatewayConfig, home: Path | None = None) -> None:
        self.stack = ExitStack()
        gw = self.stack.enter_context(running_gateway(config))
        self.http = self.stack.enter_context(httpx.Client(base_url=gw.url, timeout=30))
        self.home = home

    def send(self, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
        path = "/v1/completions" if "prompt" in body else "/v1/chat/completions"
        return self.http.post(path, json=body, **kwargs)

    def stream_text(self, body: dict[str, Any]) -> str:
        text = []
        with self.http.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as r:
            assert r.status_code == 200, r.read()
            for line in r.iter_lines():
                if line.startswith("data: {"):
                    for choice in orjson.loads(line[6:])["choices"]:
                        text.append(choice.get("delta", {}).get("content") or "")
        return "".join(text)

    def close(self) -> None:
        self.stack.close()


@pytest.fixture
def local_mode(home_up, remote_up):
    client = Client(auto_config(home_up, remote_up))
    yield client
    client.close()


def malformed(body: dict[str, Any]) -> bool:
    """A body OpenAI's schema refuses (a message that is a bare string, content an object): the
    gateway answers 400 before any upstream sees it."""
    messages = body.get("messages") or []
    return any(not isinstance(m, dict) or isinstance(m.get("content"), dict) for m in messages)


def test_every_private_corpus_prompt_stays_home(local_mode, home_up, remote_up):
    items = corpus(private=True)
    for item in items:
        reply = local_mode.send(item["body"])
        expected = 400 if malformed(item["body"]) else 200
        assert reply.status_code == expected, (item["id"], reply.text)
    assert leaked(remote_up, [v for i in items for v in i["values"]]) == []
    sent = [i for i in items if not malformed(i["body"])]
    assert len(home_up.requests) == len(sent) and not remote_up.requests


def test_look_alikes_may_go_remote(local_mode, remote_up):
    items = [i for i in corpus(private=False) if not malformed(i["body"])]
    for item in items:
        local_mode.send(item["body"])
    assert len(remote_up.requests) >= 0.95 * len(items)


def test_redact_sends_placeholders_and_restores_values(echo_remote, yard_home):
    client = Client(remote_only(echo_remote, private_data="redact"))
    try:
        reply = client.send({"model": "cheap", "messages": [{"role": "user", "content": PROMPT}]})
        assert reply.status_code == 200, reply.text
        assert reply.json()["choices"][0]["message"]["content"] == PROMPT
        streamed = client.stream_text(
            {"model": "auto", "messages": [{"role": "user", "content": PROMPT}]}
        )
        assert streamed == PROMPT
    finally:
        client.close()
    sent = echo_remote.requests[0]["messages"][0]["content"]
    assert "<EMAIL_1>" in sent and "<IBAN_1>" in sent
    assert leaked(echo_remote, [EMAIL, IBAN]) == []


def test_redact_never_sends_a_corpus_value(echo_remote):
    client = Client(remote_only(echo_remote, private_data="redact"))
    items = corpus(private=True)
    try:
        for item in items:
            body = {**item["body"], "model": "cheap"}
            reply = client.send(body)
            assert reply.status_code in (200, 400), (item["id"], reply.text)
    finally:
        client.close()
    assert leaked(echo_remote, [v for i in items for v in i["values"]]) == []


def test_redacted_tool_arguments_and_split_stream_chunks(echo_remote):
    args = json.dumps({"to": EMAIL, "note": "pay " + IBAN})
    body = {
        "model": "cheap",
        "messages": [
            {"role": "user", "content": "Send it."},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "mail", "arguments": args},
                    }
                ],
            },
            {"role": "user", "content": f"And mail {EMAIL} again."},
        ],
    }
    client = Client(remote_only(echo_remote, private_data="redact"))
    try:
        for size in (1, 2, 5):
            echo_remote.plan(f"echo:{size}")
            assert client.stream_text(body) == f"And mail {EMAIL} again."
    finally:
        client.close()
    arguments = echo_remote.requests[0]["messages"][1]["tool_calls"][0]["function"]["arguments"]
    assert json.loads(arguments) == {"to": "<EMAIL_1>", "note": "pay <IBAN_1>"}
    assert leaked(echo_remote, [EMAIL, IBAN]) == []


def test_block_refuses_naming_kinds_not_values(echo_remote, yard_home):
    client = Client(remote_only(echo_remote, private_data="block"), yard_home)
    try:
        reply = client.send({"model": "auto", "messages": [{"role": "user", "content": PROMPT}]})
        clean = client.send({"model": "cheap", "messages": [{"role": "user", "content": "Hi"}]})
    finally:
        client.close()
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["code"] == "private_data" and "email" in error["message"]
    assert "iban" in error["message"] and EMAIL not in reply.text and "DE89" not in reply.text
    assert clean.status_code == 200 and len(echo_remote.requests) == 1
    rows = ledger_rows(yard_home)
    assert rows[0]["status"] == 400 and "email" in rows[0]["route_reason"]
    assert all(EMAIL not in json.dumps(r) and "3704" not in json.dumps(r) for r in rows)


def test_local_mode_without_a_self_hosted_model_is_a_400(echo_remote):
    client = Client(remote_only(echo_remote))
    try:
        named = client.send({"model": "cheap", "messages": [{"role": "user", "content": PROMPT}]})
        routed = client.send({"model": "auto", "messages": [{"role": "user", "content": PROMPT}]})
    finally:
        client.close()
    for reply in (named, routed):
        assert reply.status_code == 400 and reply.json()["error"]["code"] == "private_data"
        assert "self-hosted" in reply.text and EMAIL not in reply.text
    assert not echo_remote.requests


def test_strictest_of_key_model_and_gateway_wins(echo_remote, yard_home):
    config = remote_only(echo_remote, private_data="redact")
    raw = config.model_dump()
    raw["server"] = {**raw["server"], "admin_key": "sk-admin"}
    client = Client(GatewayConfig.model_validate(raw), yard_home)
    try:
        made = client.http.post(
            "/admin/keys", headers=ADMIN, json={"name": "hr", "private_data": "block"}
        )
        assert made.status_code == 201, made.text
        strict = {"Authorization": f"Bearer {made.json()['key']}"}
        body = {"model": "cheap", "messages": [{"role": "user", "content": PROMPT}]}
        blocked = client.send(body, headers=strict)
        redacted = client.send(body, headers=ADMIN)
        bad = client.http.post(
            "/admin/keys", headers=ADMIN, json={"name": "x", "private_data": "sometimes"}
        )
    finally:
        client.close()
    assert blocked.status_code == 400 and "block" in blocked.json()["error"]["message"]
    assert redacted.status_code == 200 and len(echo_remote.requests) == 1
    assert bad.status_code == 400 and "local, redact, block" in bad.text
    assert leaked(echo_remote, [EMAIL, IBAN]) == []


def test_scan_over_budget_counts_as_private(home_up, remote_up, yard_home):
    config = with_privacy(
        auto_config(home_up, remote_up), scan_budget_ms=0.001, scan_budget_ms_per_mb=0
    )
    client = Client(config, yard_home)
    try:
        reply = client.send(
            {"model": "auto", "messages": [{"role": "user", "content": "Hi" * 500}]}
        )
    finally:
        client.close()
    assert reply.status_code == 200 and reply.headers["x-yard-backend"] == "home"
    assert not remote_up.requests
    reason = orjson.loads(ledger_rows(yard_home)[-1]["route_reason"])
    assert reason["private"] == ["unread"]
    assert "scan budget" in reason["privacy"]["reason"]


def test_inline_image_cannot_be_read_so_stays_home(local_mode, home_up, remote_up):
    image = "data:image/png;base64," + "iVBORw0KGgo" * 40
    body = {
        "model": "auto",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this picture?"},
                    {"type": "image_url", "image_url": {"url": image}},
                ],
            }
        ],
    }
    reply = local_mode.send(body)
    assert reply.headers.get("x-yard-backend") == "home" or reply.status_code == 400
    assert not remote_up.requests


def test_url_in_code_is_not_a_secret(local_mode, remote_up):
    code = "resp = requests.get('https://api.github.com/repos/psf/requests/commits?per_page=100')"
    reply = local_mode.send({"model": "auto", "messages": [{"role": "user", "content": code}]})
    assert reply.status_code == 200 and reply.headers["x-yard-backend"] == "remote"


@pytest.mark.parametrize("processes", [2, 0], ids=["worker processes", "a thread"])
def test_health_answers_while_a_large_adversarial_body_is_scanned(home_up, remote_up, processes):
    config = with_privacy(
        auto_config(home_up, remote_up),
        scan_budget_ms=3000,
        scan_budget_ms_per_mb=0,
        scan_processes=processes,
    )
    config = GatewayConfig.model_validate(
        {**config.model_dump(), "server": {**config.server.model_dump(), "max_body_bytes": 4 << 20}}
    )
    client = Client(config)
    adversarial = "1 " * 500_000
    done: list[float] = []

    def big() -> None:
        client.send({"model": "auto", "messages": [{"role": "user", "content": adversarial}]})
        done.append(time.perf_counter())

    try:
        worker = threading.Thread(target=big)
        worker.start()
        time.sleep(0.3)
        answered = []
        while worker.is_alive() and len(answered) < 20:
            assert client.http.get("/health").status_code == 200
            answered.append(time.perf_counter())
        worker.join(30)
    finally:
        client.close()
    assert done and answered and answered[0] < done[0]
    assert not remote_up.requests


@pytest.mark.parametrize("processes", [2, 0], ids=["worker processes", "a thread"])
def test_a_small_hostile_body_leaves_the_event_loop_once_its_slice_is_spent(
    home_up, remote_up, processes
):
    # 16 kB, under offload_chars, that take about 300 ms of CPU to read to the end: on the
    # event loop, /health would wait for all of it
    config = with_privacy(
        auto_config(home_up, remote_up),
        scan_budget_ms=5000,
        scan_budget_ms_per_mb=0,
        scan_processes=processes,
    )
    client = Client(config)
    hostile = {"model": "auto", "messages": [{"role": "user", "content": "1 " * 7_900}]}
    replies: list[httpx.Response] = []
    done: list[float] = []

    def post() -> None:
        replies.append(client.send(hostile))
        done.append(time.perf_counter())

    try:
        client.send(hostile)  # the workers start on the first body that needs them
        poster = threading.Thread(target=post)
        poster.start()
        time.sleep(0.05)
        health = []
        while poster.is_alive() and len(health) < 20:
            assert client.http.get("/health").status_code == 200
            health.append(time.perf_counter())
        poster.join(30)
    finally:
        client.close()
    answered = [t for t in health if t < done[0]]
    assert len(answered) >= 5
    assert replies[0].status_code == 200


def test_redact_fails_closed_when_part_cannot_be_read(echo_remote):
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    body = {
        "model": "cheap",
        "messages": [{"role": "user", "content": [{"type": "text", "text": PROMPT}, image]}],
    }
    client = Client(remote_only(echo_remote, private_data="redact", scan_budget_ms=50))
    tiny = Client(
        remote_only(
            echo_remote, private_data="redact", scan_budget_ms=0.001, scan_budget_ms_per_mb=0
        )
    )
    try:
        unread = client.send(body)
        over_budget = tiny.send(
            {"model": "cheap", "messages": [{"role": "user", "content": PROMPT}]}
        )
    finally:
        client.close()
        tiny.close()
    for reply in (unread, over_budget):
        assert reply.status_code == 400 and "local" in reply.json()["error"]["message"]
    assert not echo_remote.requests


def scan_workers() -> list[int]:
    """This process's children that are scan workers (privacy/workers.py)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        if ppid == os.getpid() and b"modelyard.privacy.workers" in command:
            found.append(int(stat.parent.name))
    return found


def test_scan_workers_start_on_a_large_body_and_stop_with_the_gateway(home_up, remote_up):
    before = scan_workers()
    client = Client(with_privacy(auto_config(home_up, remote_up), scan_processes=2))
    large = "Lorem ipsum dolor sit amet. " * 1000 + PROMPT
    try:
        assert scan_workers() == before  # none until a body needs one
        reply = client.send({"model": "auto", "messages": [{"role": "user", "content": large}]})
        assert reply.status_code == 200 and reply.headers["x-yard-backend"] == "home"
        started = [p for p in scan_workers() if p not in before]
        assert len(started) == 2
    finally:
        client.close()
    assert not set(started) & set(scan_workers())
    assert not remote_up.requests


@pytest.mark.skipif(not installed(), reason="the NER model (modelyard[ner]) is not installed")
@pytest.mark.parametrize("padding", [0, 20_000], ids=["small body", "large body"])
def test_redact_replaces_names_the_ner_model_finds(echo_remote, padding):
    prompt = "Patient Robert Hale, 58, was diagnosed with type 2 diabetes; write him a diet plan."
    content = "Lorem ipsum. " * (padding // 13) + prompt
    client = Client(remote_only(echo_remote, private_data="redact"))
    try:
        reply = client.send({"model": "cheap", "messages": [{"role": "user", "content": content}]})
    finally:
        client.close()
    assert reply.status_code == 200 and reply.json()["choices"][0]["message"]["content"] == content
    sent = echo_remote.requests[0]["messages"][0]["content"]
    assert "<PERSON_1>" in sent and leaked(echo_remote, ["Robert Hale", "diabetes"]) == []
