"""A small OpenAI-compatible upstream that misbehaves on request, served on loopback in a thread.

Each request takes the next behaviour from a queue (``upstream.plan("500", "ok")``), or the
default ``ok``. Behaviours:

- ``ok``: a normal answer (an SSE stream of ``chunks`` deltas when ``stream`` is true);
- ``500`` / ``503`` / any status number: that status with an OpenAI error body;
- ``429:N``: 429 with ``Retry-After: N``;
- ``hang``: never answers (the handler notes when it is cancelled by the client leaving);
- ``reset``: streams two chunks then drops the connection (non-streaming: drops it at once);
- ``malformed``: 200 with a body that is not JSON;
- ``slow:S``: a stream whose chunks come ``S`` seconds apart;
- ``say:TEXT``: a normal non-streaming answer whose content is TEXT (a wrong one, for the cascade);
- ``unsure``: a normal answer whose tokens, when ``logprobs`` are asked for, are unlikely ones;
- ``echo:STATUS``: that status with an error whose message repeats the request's Authorization
  header and tells its internals (an address, a URL, a path, a stack trace); streaming, the
  error comes as an SSE event after one chunk;
- ``usage:JSON``: a normal non-streaming answer whose ``usage`` is JSON (hostile counts);
- ``wait:S``: a normal answer after ``S`` seconds.

``default`` is the behaviour when the queue is empty (``ok``).

A non-streaming chat answer carries ``logprobs`` when the request asks for them: each of its
three tokens at log-probability -0.05 (``unsure``: -3.0).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import deque
from typing import Any

import orjson
from aiohttp import web


class FaultUpstream:
    """The server, its request log and its behaviour queue."""

    def __init__(self, name: str = "up", chunks: int = 5) -> None:
        self.name = name
        self.chunks = chunks
        self.behaviours: deque[str] = deque()
        self.default = "ok"
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.cancelled = 0
        self.stream_gaps: list[float] = []
        self._loop = asyncio.new_event_loop()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def plan(self, *behaviours: str) -> None:
        """Queue behaviours for the next requests."""
        self.behaviours.extend(behaviours)

    def __enter__(self) -> FaultUpstream:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._sock.close()

    async def _start(self) -> None:
        app = web.Application()
        for path in ("/v1/chat/completions", "/v1/completions", "/v1/embeddings"):
            app.router.add_post(path, self._handle)
        self._runner = web.AppRunner(
            app,
            handle_signals=False,
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=1,
        )
        await self._runner.setup()
        await web.SockSite(self._runner, self._sock).start()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = orjson.loads(await request.read())
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        behaviour = self.behaviours.popleft() if self.behaviours else self.default
        kind, _, arg = behaviour.partition(":")
        if kind == "wait":
            await asyncio.sleep(float(arg))
        if kind.isdigit():
            return _error(int(kind), arg)
        if kind == "echo":
            return await self._echo(request, body, int(arg))
        if kind == "hang":
            return await self._hang()
        if kind == "malformed":
            return web.Response(body=b'{"id": "x", "choices": [', content_type="application/json")
        if kind == "reset" and not body.get("stream"):
            request.transport.close()  # type: ignore[union-attr]
            return web.Response()
        if body.get("stream"):
            gap = float(arg) if kind == "slow" else 0.0
            return await self._stream(request, body, gap, reset=kind == "reset")
        answer = self._answer(request.path, body, arg if kind == "say" else None)
        if kind == "usage":
            answer["usage"] = orjson.loads(arg)
        if body.get("logprobs") and "choices" in answer:
            tokens = [{"token": t, "logprob": -3.0 if kind == "unsure" else -0.05} for t in "abc"]
            answer["choices"][0]["logprobs"] = {"content": tokens}
        return web.json_response(answer)

    async def _echo(self, request: web.Request, body: dict[str, Any], status: int) -> Any:
        said = (f"Incorrect API key provided: {request.headers.get('Authorization')} for "
                f"http://10.1.2.3:8000/v1/chat/completions (worker /srv/llm/app/worker.py)\n"
                "Traceback (most recent call last):\n"
                '  File "/srv/llm/app/worker.py", line 7')  # fmt: skip
        error = {"error": {"message": said, "type": "invalid_request_error", "param": None,
                           "code": "invalid_api_key"}}  # fmt: skip
        if not body.get("stream"):
            return web.json_response(error, status=status)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(_event(_chunk(body["model"], "t0 ")))
        await response.write(_event(error))
        return response

    async def _hang(self) -> web.Response:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return web.Response()

    def _answer(self, path: str, body: dict[str, Any], text: str | None) -> dict[str, Any]:
        if path.endswith("/embeddings"):
            vector = {"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}
            usage = _usage(3, 0)
            return {"object": "list", "model": body["model"], "usage": usage, "data": [vector]}
        message = {"role": "assistant", "content": text or f"hello from {self.name}"}
        return {
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": body["model"],
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": _usage(7, 4),
        }  # fmt: skip

    async def _stream(
        self, request: web.Request, body: dict[str, Any], gap: float, reset: bool
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        try:
            for i in range(self.chunks):
                if reset and i == 2:
                    request.transport.close()  # type: ignore[union-attr]
                    return response
                if gap and i:
                    await asyncio.sleep(gap)
                await response.write(_event(_chunk(body["model"], f"t{i} ")))
                self.stream_gaps.append(time.perf_counter())
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if (body.get("stream_options") or {}).get("include_usage"):
            await response.write(_event({**_chunk(body["model"], None), "choices": [],
                                         "usage": _usage(7, self.chunks)}))  # fmt: skip
        await response.write(b"data: [DONE]\n\n")
        return response


def _usage(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 2},
    }


def _chunk(model: str, text: str | None) -> dict[str, Any]:
    delta = {"content": text} if text is not None else {}
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}  # fmt: skip


def _event(data: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(data) + b"\n\n"


def _error(status: int, retry_after: str) -> web.Response:
    headers = {"Retry-After": retry_after} if retry_after else {}
    error = {"error": {"message": f"injected {status}", "type": "server_error", "param": None,
                       "code": None}}  # fmt: skip
    return web.json_response(error, status=status, headers=headers)
