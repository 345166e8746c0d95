"""Scans in worker processes: the same verdict as in the gateway's own process, private
whenever a worker cannot give one (it died, it took too long, too many wait), and a pool that
replaces what failed and leaves no process behind."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from modelyard.privacy import Budget, Scan, Scanner, ScanPool, redact
from modelyard.privacy.ner import installed

ROOT = Path(__file__).resolve().parents[2] / "benchmarks" / "privacy"
CORPORA = (ROOT / "corpus" / "dev.jsonl", ROOT / "blind" / "dev.jsonl")
TOOL_CALL = {
    "messages": [
        {
            "role": "user",
            "content": "Write to maria.keller@web.de about IBAN DE89 3704 0044 0532 0130 00",
        },
        {
            "role": "assistant",
            "tool_calls": [{"function": {"arguments": '{"to": "jane.doe@gmail.com"}'}}],
        },
    ]
}
SLOW = {"messages": [{"role": "user", "content": "1 " * 500_000}]}
"""A hostile body that takes seconds when its budget allows."""
UNBOUNDED = Budget(base_ms=60_000)
T = TypeVar("T")


def with_pool(test: Callable[[ScanPool], Awaitable[T]], **options: Any) -> T:
    """Run ``test`` with a started pool on one event loop; check that no worker outlives it."""

    async def run() -> tuple[T, list[int]]:
        pool = ScanPool(options.pop("workers", 1), **options)
        await pool.start()
        try:
            return await test(pool), pool.pids()
        finally:
            await pool.close()

    result, pids = asyncio.run(run())
    assert not [p for p in pids if alive(p)]
    return result


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def bodies() -> list[Any]:
    return [json.loads(line)["body"] for path in CORPORA for line in path.read_text().splitlines()]


def test_workers_give_the_verdicts_the_scanner_gives_on_the_corpora() -> None:
    items = bodies()
    assert len(items) > 300

    async def scan_all(pool: ScanPool) -> list[Scan]:
        return list(await asyncio.gather(*(pool.scan(b, UNBOUNDED) for b in items)))

    remote = with_pool(scan_all, workers=2, waiting=len(items))
    local = [Scanner(UNBOUNDED).scan_body(b) for b in items]
    assert [(s.findings, s.unread) for s in remote] == [(s.findings, s.unread) for s in local]
    assert sum(s.private for s in remote) > 200


def test_paths_into_tool_arguments_survive_the_trip() -> None:
    scan = with_pool(lambda pool: pool.scan(TOOL_CALL, Budget()))
    assert scan.kinds == ["email", "iban"]
    sent = str(redact(TOOL_CALL, scan).body)
    assert "jane.doe@gmail.com" not in sent and "maria.keller" not in sent


def test_a_worker_killed_mid_scan_makes_the_request_private_and_is_replaced() -> None:
    async def scan_and_kill(pool: ScanPool) -> tuple[Scan, Scan, list[int], list[int]]:
        before = pool.pids()
        task = asyncio.ensure_future(pool.scan(SLOW, UNBOUNDED))
        await asyncio.sleep(1.0)
        assert not task.done()
        os.kill(before[0], signal.SIGKILL)
        scan = await task
        again = await pool.scan(TOOL_CALL, Budget())
        return scan, again, before, pool.pids()

    scan, again, before, after = with_pool(scan_and_kill)
    assert scan.private and scan.kinds == ["unread"]
    assert "scan worker failed" in (scan.unread or "")
    assert again.kinds == ["email", "iban"] and after != before


def test_a_verdict_that_comes_too_late_is_private_and_the_worker_replaced() -> None:
    async def too_late(pool: ScanPool) -> tuple[Scan, float, Scan, list[int], list[int]]:
        before = pool.pids()
        started = time.perf_counter()
        scan = await pool.scan(SLOW, UNBOUNDED)
        waited = time.perf_counter() - started
        again = await pool.scan(TOOL_CALL, Budget())  # the next worker is a new one
        return scan, waited, again, before, pool.pids()

    scan, waited, again, before, after = with_pool(too_late, wall_s=1.0)
    assert scan.private and "no verdict in" in (scan.unread or "")
    assert waited < 3
    assert again.kinds == ["email", "iban"] and after != before and not alive(before[0])


@pytest.mark.skipif(not installed(), reason="the NER model (modelyard[ner]) is not installed")
def test_a_worker_gets_time_to_load_the_ner_model_once() -> None:
    # loading spaCy takes seconds: a worker killed for that would load it again, and again
    body = {"messages": [{"role": "user", "content": "Patient Robert Hale, 58, has diabetes."}]}

    async def names(pool: ScanPool) -> tuple[Scan, Scan, list[int], list[int]]:
        before = pool.pids()
        first = await pool.scan(body, Budget(), names=True)
        return first, await pool.scan(body, Budget(), names=True), before, pool.pids()

    first, second, before, after = with_pool(names, wall_s=1.0)
    assert first.kinds == second.kinds == ["health", "person"] and after == before


def test_past_the_queue_a_request_is_private_at_once() -> None:
    async def flood(pool: ScanPool) -> tuple[Scan, float, int]:
        busy = asyncio.ensure_future(pool.scan(SLOW, Budget(base_ms=2_000)))
        await asyncio.sleep(0.2)
        started = time.perf_counter()
        refused = await pool.scan(TOOL_CALL, Budget())
        waited = time.perf_counter() - started
        await busy
        return refused, waited, pool.waiting

    refused, waited, left = with_pool(flood, waiting=1)
    assert refused.private and "already waiting" in (refused.unread or "")
    assert waited < 0.1 and left == 0


def test_waiting_scans_are_answered_in_turn() -> None:
    async def queue(pool: ScanPool) -> list[Scan]:
        return list(await asyncio.gather(*(pool.scan(TOOL_CALL, Budget()) for _ in range(6))))

    scans = with_pool(queue, waiting=6)
    assert [s.kinds for s in scans] == [["email", "iban"]] * 6


def test_a_client_that_goes_away_leaves_the_worker_whole() -> None:
    async def cancel(pool: ScanPool) -> tuple[Scan, list[int], list[int]]:
        before = pool.pids()
        task = asyncio.ensure_future(pool.scan(SLOW, Budget(base_ms=500)))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return await pool.scan(TOOL_CALL, Budget()), before, pool.pids()

    again, before, after = with_pool(cancel)
    assert again.kinds == ["email", "iban"] and after == before


def test_a_closed_pool_scans_nothing_and_fails_closed() -> None:
    async def closed() -> Scan:
        pool = ScanPool(1)
        await pool.close()
        return await pool.scan(TOOL_CALL, Budget())

    scan = asyncio.run(closed())
    assert scan.private and "closed" in (scan.unread or "")


OWNER = """
import asyncio, sys
from modelyard.privacy import ScanPool

async def main():
    pool = ScanPool(2)
    await pool.start()
    print(*pool.pids(), flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


def test_workers_exit_when_their_owner_is_killed() -> None:
    with subprocess.Popen([sys.executable, "-c", OWNER], stdout=subprocess.PIPE) as owner:
        assert owner.stdout is not None
        pids = [int(p) for p in owner.stdout.readline().split()]
        assert len(pids) == 2 and all(alive(p) for p in pids)
        owner.kill()  # no shutdown of any kind: the workers see their stdin close
    deadline = time.monotonic() + 20
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in pids if alive(p)]
