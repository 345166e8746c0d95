"""A loopback OpenAI streaming server for bench tests, with paced chunks and injectable faults.

Each request takes the next behaviour from a queue (``server.plan("500", "stall")``), else ``ok``:

- ``ok``: waits ``ttft_s``, then streams ``chunks`` content deltas ``gap_s`` apart, a
  ``finish_reason`` chunk, the usage chunk (when asked for and ``usage`` is on), ``[DONE]``;
- a status number: that status with an OpenAI error body;
- ``drop``: the connection is closed before any response (as a stale keep-alive socket is);
- ``stall``: two chunks, then silence until the test ends;
- ``reset``: two chunks, then the connection is dropped;
- ``cut``: two chunks, then the response ends cleanly but without finish_reason or ``[DONE]``;
- ``error_event``: two chunks, then an SSE ``{"error": ...}`` event.

With ``capacity`` set, at most that many requests are served at once (the rest queue), so
throughput saturates as a real server's does.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import deque
from typing import Any

import orjson
from aiohttp import web


class FakeOpenAI:
    """The server in a background thread; ``with FakeOpenAI(...) as s: s.url``."""

    def __init__(
        self,
        chunks: int = 4,
        ttft_s: float = 0.0,
        gap_s: float = 0.0,
        tokens_per_chunk: int = 1,
        usage: bool = True,
        capacity: int | None = None,
    ) -> None:
        self.chunks, self.ttft_s, self.gap_s, self.capacity = chunks, ttft_s, gap_s, capacity
        self.tokens_per_chunk, self.usage = tokens_per_chunk, usage
        self.behaviours: deque[str] = deque()
        self.bodies: list[dict[str, Any]] = []
        self._loop = asyncio.new_event_loop()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}/v1"
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def plan(self, *behaviours: str) -> None:
        """Queue behaviours for the next requests."""
        self.behaviours.extend(behaviours)

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._sock.close()

    async def _stop(self) -> None:
        for task in asyncio.all_tasks() - {asyncio.current_task()}:
            task.cancel()  # stalled handlers
        await self._runner.cleanup()

    async def _start(self) -> None:
        self._slots = asyncio.Semaphore(self.capacity or 1_000_000)
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, self._sock, shutdown_timeout=0.1).start()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = orjson.loads(await request.read())
        self.bodies.append(body)
        behaviour = self.behaviours.popleft() if self.behaviours else "ok"
        if behaviour == "drop":
            request.transport.close()  # type: ignore[union-attr]
            return web.Response()
        if behaviour.isdigit():
            error = {"error": {"message": "injected", "type": "server_error"}}
            return web.json_response(error, status=int(behaviour))
        async with self._slots:  # a server that can only run `capacity` requests at once
            return await self._stream(request, behaviour, body)

    async def _stream(self, request: web.Request, behaviour: str, body: dict) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await asyncio.sleep(self.ttft_s)
        chunks = self.chunks if behaviour == "ok" else 2
        for i in range(chunks):
            if i:
                await asyncio.sleep(self.gap_s)
            await response.write(_event(_chunk("tok " * self.tokens_per_chunk, None)))
        await self._ending(request, response, behaviour, body)
        return response

    async def _ending(
        self, request: web.Request, response: web.StreamResponse, behaviour: str, body: dict
    ) -> None:
        if behaviour == "stall":
            await asyncio.sleep(3600)
        elif behaviour == "reset":
            request.transport.close()  # type: ignore[union-attr]
        elif behaviour == "error_event":
            await response.write(_event({"error": {"message": "engine died"}}))
        elif behaviour == "ok":
            await response.write(_event(_chunk(None, "stop")))
            if self.usage and (body.get("stream_options") or {}).get("include_usage"):
                usage = {
                    "prompt_tokens": 11,
                    "completion_tokens": self.chunks * self.tokens_per_chunk,
                }
                await response.write(_event({"choices": [], "usage": usage}))
            await response.write(b"data: [DONE]\n\n")


def _chunk(text: str | None, finish: str | None) -> dict[str, Any]:
    delta = {"content": text} if text is not None else {}
    return {"object": "chat.completion.chunk", "choices": [
        {"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip


def _event(data: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(data) + b"\n\n"
