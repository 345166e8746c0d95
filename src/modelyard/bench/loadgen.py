"""The load generator: streaming chat completions over aiohttp at a fixed concurrency or rate.

Every request streams (``stream: true`` with ``stream_options.include_usage``) so the client sees
each chunk arrive. A failed request (HTTP error, reset, stall, an error event, a stream that ends
before ``[DONE]``) becomes a record with ``error`` set; the run goes on.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from modelyard.bench.metrics import RequestRecord
from modelyard.bench.prompts import Prompt, TokenCounter
from modelyard.errors import MissingExtraError, YardError

try:
    import orjson

    _loads: Callable[[bytes], Any] = orjson.loads
except ImportError:  # orjson is only faster
    _loads = json.loads

OnRecord = Callable[[RequestRecord], None]


@dataclass(frozen=True)
class Load:
    """A load pattern: ``concurrency`` streams, or ``rate`` / ``poisson`` arrivals per second."""

    kind: Literal["concurrency", "rate", "poisson"]
    value: float

    @property
    def label(self) -> str:
        if self.kind == "concurrency":
            return f"concurrency={self.value:g}"
        return f"{self.kind}={self.value:g}/s"


@dataclass(frozen=True)
class Target:
    """The endpoint under test and how to talk to it."""

    url: str
    """Chat completions URL (see ``endpoint``)."""
    model: str
    api_key: str | None = None
    timeout_s: float = 600.0
    """Longest a whole request may take."""
    stall_s: float = 60.0
    """Longest silence between two reads before the request counts as stalled."""
    ignore_eos: bool = False
    """Ask the server to generate exactly ``max_tokens`` (vLLM, llama.cpp, SGLang)."""


@dataclass(frozen=True)
class Stop:
    """When to stop sending: after ``requests`` sent or ``duration_s`` elapsed (whichever first)."""

    requests: int | None = None
    duration_s: float | None = None

    def reached(self, sent: int, elapsed: float) -> bool:
        return (self.requests is not None and sent >= self.requests) or (
            self.duration_s is not None and elapsed >= self.duration_s
        )


def endpoint(url: str) -> str:
    """``http://h:p``, ``http://h:p/v1`` or the full URL -> ``.../v1/chat/completions``.

    Raises:
        YardError: the URL is not http(s).
    """
    if not url.startswith(("http://", "https://")):
        raise YardError(f"URL {url!r}: expected http(s)://host:port[/v1]")
    url = url.rstrip("/")
    if url.endswith("/chat/completions"):
        return url
    return url + ("/chat/completions" if url.endswith("/v1") else "/v1/chat/completions")


class LoadGenerator:
    """Sends prompts to one target from one aiohttp session; use ``async with``."""

    def __init__(self, target: Target, counter: TokenCounter, on_record: OnRecord | None = None):
        self.target = target
        self.counter = counter
        self.on_record = on_record
        self._session: Any = None
        self._not_sent: tuple[type[Exception], ...] = ()

    async def __aenter__(self) -> LoadGenerator:
        try:
            import aiohttp
        except ImportError:
            raise MissingExtraError("aiohttp", "bench", "yard bench") from None
        headers = {"Authorization": f"Bearer {self.target.api_key}"} if self.target.api_key else {}
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, force_close=False),
            timeout=aiohttp.ClientTimeout(
                total=self.target.timeout_s, sock_read=self.target.stall_s
            ),
            headers=headers,
        )
        self._not_sent = (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._session.close()

    def _body(self, prompt: Prompt) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.target.model,
            "messages": prompt.messages,
            "max_tokens": prompt.max_tokens,
            "temperature": 0.0,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if self.target.ignore_eos:
            body["ignore_eos"] = True
        return body

    async def send(self, prompt: Prompt, scheduled: float | None = None) -> RequestRecord:
        """Send one prompt and record what arrived; never raises for a failed request."""
        record = RequestRecord(start=time.perf_counter(), scheduled=scheduled)
        texts: list[str] = []
        try:
            try:
                await self._stream(prompt, record, texts)
            except _NotSent:  # a pooled connection the server had closed: once more, fresh
                await self._stream(prompt, record, texts)
        except Exception as exc:  # every failure of one request is a result, not a crash
            record.error = _error_kind(exc)
        record.end = time.perf_counter()
        if record.output_tokens is None:
            record.input_tokens = prompt.input_tokens
            record.output_tokens = self.counter.count("".join(texts)) if texts else 0
            record.token_source = self.counter.source
        if self.on_record is not None:
            self.on_record(record)
        return record

    async def _stream(self, prompt: Prompt, record: RequestRecord, texts: list[str]) -> None:
        try:
            response = await self._session.post(self.target.url, json=self._body(prompt))
        except self._not_sent as exc:
            raise _NotSent(exc) from exc
        async with response:
            if response.status != 200:
                await response.read()
                raise _RequestFailed(f"http {response.status}")
            finished, rest = False, b""
            async for data in response.content.iter_any():  # cheaper than readline per line
                *lines, rest = (rest + data).split(b"\n")
                for line in lines:
                    if not line.startswith(b"data:"):
                        continue
                    payload = line[5:].strip()
                    if payload == b"[DONE]":
                        return
                    finished = _event(_loads(payload), record, texts) or finished
            if not finished:
                raise _RequestFailed("incomplete stream")


class _NotSent(Exception):
    """The connection failed before any response arrived (sending, or waiting for headers)."""


class _RequestFailed(Exception):
    """A request that failed in a way the protocol shows (status, error event, cut stream)."""


def _event(event: dict[str, Any], record: RequestRecord, texts: list[str]) -> bool:
    """Note one SSE event in ``record``; True when it carries a finish_reason."""
    now = time.perf_counter()
    if "error" in event:
        raise _RequestFailed("error event")
    finished = False
    for choice in event.get("choices") or ():
        delta = choice.get("delta") or {}
        text = delta.get("content") or delta.get("reasoning_content") or delta.get("reasoning")
        if text or delta.get("tool_calls"):
            record.chunks.append(now)
            texts.append(text or "")
        finished = finished or bool(choice.get("finish_reason"))
    usage = event.get("usage")
    if usage and usage.get("completion_tokens") is not None:
        record.input_tokens = usage.get("prompt_tokens")
        record.output_tokens = usage["completion_tokens"]
        record.token_source = "usage"
    return finished


def _error_kind(exc: BaseException) -> str:
    if isinstance(exc, _RequestFailed):
        return str(exc)
    if isinstance(exc, _NotSent):
        exc = exc.__cause__ or exc
    if isinstance(exc, TimeoutError):
        return "timeout (stalled)"
    if isinstance(exc, ValueError):  # JSON decode errors
        return "malformed event"
    return f"connection: {type(exc).__name__}"


async def run_load(
    gen: LoadGenerator, prompts: list[Prompt], load: Load, stop: Stop, seed: int = 0
) -> list[RequestRecord]:
    """Drive ``gen`` with ``load`` until ``stop``, then wait for requests in flight."""
    if stop.requests is None and stop.duration_s is None:
        raise YardError("give --requests or --duration so the bench knows when to stop")
    source = itertools.cycle(prompts)
    if load.kind == "concurrency":
        return await _closed_loop(gen, source, int(load.value), stop)
    return await _open_loop(gen, source, load, stop, seed)


async def _closed_loop(
    gen: LoadGenerator, source: Iterator[Prompt], streams: int, stop: Stop
) -> list[RequestRecord]:
    records: list[RequestRecord] = []
    sent = 0
    t0 = time.perf_counter()

    async def worker() -> None:
        nonlocal sent
        while not stop.reached(sent, time.perf_counter() - t0):
            sent += 1
            records.append(await gen.send(next(source)))

    await asyncio.gather(*(worker() for _ in range(max(1, streams))))
    return records


def arrivals(load: Load, seed: int = 0) -> Iterator[float]:
    """Send times in seconds from the start: every 1/rate, or exponential gaps (Poisson)."""
    rng, due = random.Random(seed), 0.0
    while True:
        yield due
        due += rng.expovariate(load.value) if load.kind == "poisson" else 1.0 / load.value


async def _open_loop(
    gen: LoadGenerator, source: Iterator[Prompt], load: Load, stop: Stop, seed: int
) -> list[RequestRecord]:
    tasks: list[asyncio.Task[RequestRecord]] = []
    t0 = time.perf_counter()
    for offset in arrivals(load, seed):
        if stop.reached(len(tasks), offset):
            break
        delay = t0 + offset - time.perf_counter()
        try:
            if delay > 0:
                await asyncio.sleep(delay)
        except asyncio.CancelledError:  # requests already sent would outlive the run
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        tasks.append(asyncio.create_task(gen.send(next(source), scheduled=t0 + offset)))
    return list(await asyncio.gather(*tasks))
