"""Fifty concurrent requests on a key whose budget covers one: one is admitted, in one process,
across `--workers 2`, and across two replicas sharing Redis. Each request holds the most it
can cost while it runs, so at most the one request that crosses the budget goes beyond it."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from ulid import ULID

from modelyard.serve.keys import KeyStore
from modelyard.serve.ledger import Ledger
from tests.serve.fault_upstream import FaultUpstream
from tests.serve.gateway_server import gateway_config, running_gateway
from tests.serve.replicas import CHAT, Replicas, replica_config, wait_in_ledger
from tests.serve.services import postgres_url, redis_url
from tests.serve.test_replicas import request_cost
from tests.serve.test_workers import gateway as workers_gateway

pytestmark = pytest.mark.slow

CONCURRENT = 50
BODY = {**CHAT, "max_tokens": 4}
"""The fake upstream answers 7 prompt tokens (2 cached) and 4 completion tokens."""


def race(urls: list[str], key: str) -> list[tuple[int, str, str]]:
    """``CONCURRENT`` requests at once, spread over ``urls``: (status, request id, code)."""

    headers = {"Authorization": f"Bearer {key}", "Connection": "close"}

    def one(i: int) -> tuple[int, str, str]:
        reply = httpx.post(urls[i % len(urls)], json=BODY, timeout=30, headers=headers)
        code = reply.json().get("error", {}).get("code", "") if reply.status_code != 200 else ""
        return reply.status_code, reply.headers.get("x-request-id", ""), code

    with ThreadPoolExecutor(CONCURRENT) as pool:
        return list(pool.map(one, range(CONCURRENT)))


def assert_one_admitted(answers: list[tuple[int, str, str]]) -> None:
    assert sorted(status for status, _, _ in answers) == [200] + [429] * (CONCURRENT - 1)
    assert {code for status, _, code in answers if status != 200} == {"insufficient_quota"}


@contextmanager
def slow_upstream() -> Iterator[FaultUpstream]:
    """Every answer takes 0.5 s, so the fifty requests are all in flight together."""
    with FaultUpstream("a") as upstream:
        upstream.default = "delay:0.5"
        yield upstream


def one_request_key(ledger: Ledger) -> str:
    return KeyStore.open(ledger.engine).create("one", budget_usd=request_cost())[1]


def test_one_process(yard_home: Path) -> None:
    ledger = Ledger.open(None, yard_home)
    key = one_request_key(ledger)
    ledger.close()
    with slow_upstream() as upstream:
        backend = {"name": "a", "base_url": upstream.url, "price": "openai/gpt-4o"}
        with running_gateway(gateway_config([backend], {"m": ["a"]}), yard_home) as gw:
            answers = race([gw.url + "/v1/chat/completions"], key)
    assert_one_admitted(answers)
    assert len(upstream.requests) == 1


def test_two_workers(tmp_path: Path, yard_home: Path) -> None:
    ledger = Ledger.open(None, yard_home)
    key = one_request_key(ledger)
    ledger.close()
    with (
        slow_upstream() as upstream,
        workers_gateway(tmp_path, yard_home, upstream, 2, ", price: openai/gpt-4o") as gw,
    ):
        answers = race([gw.chat], key)
        assert gw.stop() == 0
    assert_one_admitted(answers)
    assert len(upstream.requests) == 1


def test_two_replicas_on_redis(tmp_path: Path) -> None:
    pg, redis = postgres_url(), redis_url()
    ledger = Ledger.open(pg, tmp_path / "home")
    key = one_request_key(ledger)
    with slow_upstream() as upstream:
        replicas = Replicas(tmp_path, replica_config(upstream.url, pg, redis, f"t:{ULID()}:"), 2)
        replicas.start_all()
        try:
            answers = race([replicas.url(0), replicas.url(1)], key)
        finally:
            replicas.stop_all()
    assert_one_admitted(answers)
    assert len(upstream.requests) == 1
    assert not wait_in_ledger(ledger.engine, [rid for status, rid, _ in answers if status == 200])
    ledger.close()
