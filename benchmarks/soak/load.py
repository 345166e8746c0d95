"""Open-loop (fixed rate) and closed-loop (fixed concurrency) load against gateway replicas."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp

BODY = b'{"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 16}'


@dataclass
class Result:
    """One request: when it was due, how long it took from then, its status and ledger id."""

    due: float
    latency: float
    status: int
    request_id: str


async def _one(
    session: aiohttp.ClientSession, url: str, due: float, headers: dict, sink: list | None = None
) -> Result:
    try:
        async with session.post(url, data=BODY, headers=headers) as reply:
            await reply.read()
            status, rid = reply.status, reply.headers.get("x-request-id", "")
    except (aiohttp.ClientError, TimeoutError):
        status, rid = 0, ""
    result = Result(due, time.perf_counter() - due, status, rid)
    if sink is not None:
        sink.append(result)
    return result


def _session() -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=512, force_close=False)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=15))


async def open_loop(
    urls: list[str],
    key: str,
    rate: float,
    seconds: float,
    every: Callable[[float], Awaitable[None]] | None = None,
    sink: list[Result] | None = None,
) -> list[Result]:
    """``rate`` requests/s for ``seconds``, round-robin over ``urls``; latency counts from the
    time each request was due, so a stall is not hidden by sending late (no coordinated
    omission). ``every(elapsed)`` is awaited about once a second (samplers, fault injection);
    ``sink`` receives each result as it completes."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    async with _session() as session:
        start, tasks, side, i, tick = time.perf_counter(), [], [], 0, 0
        while (due := start + i / rate) < start + seconds:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(
                asyncio.create_task(_one(session, urls[i % len(urls)], due, headers, sink))
            )
            i += 1
            if every is not None and due - start >= tick:
                tick += 1
                side.append(asyncio.create_task(every(due - start)))  # never stalls the rate
        await asyncio.gather(*side)
        return list(await asyncio.gather(*tasks))


async def closed_loop(urls: list[str], key: str, concurrency: int, seconds: float) -> list[Result]:
    """``concurrency`` clients, each sending its next request when the last one returns."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    results: list[Result] = []
    async with _session() as session:
        stop = time.perf_counter() + seconds

        async def client(n: int) -> None:
            while time.perf_counter() < stop:
                results.append(
                    await _one(session, urls[n % len(urls)], time.perf_counter(), headers)
                )

        await asyncio.gather(*(client(n) for n in range(concurrency)))
    return results


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest rank; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
