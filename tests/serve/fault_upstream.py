"""An OpenAI-compatible upstream that misbehaves on request: the one fake for tests and benchmarks.

Each request takes the next behaviour from a queue (``upstream.plan("500", "ok")``), else one
drawn from ``chaos`` (``{"503": 0.02, "drop": 0.005}``: shares of requests), else ``default``
(``ok`` unless given):

- ``ok``: a normal answer; with ``stream``: ``ttft_s``, then ``chunks`` content deltas
  ``gap_s`` apart (``t0 t1 ...``, each word ``tokens_per_chunk`` times), a ``finish_reason``
  chunk, the usage chunk when asked for (and ``usage`` is on), ``[DONE]``;
- a status number (``500``), or ``429:N``: that status, with ``Retry-After: N``;
- ``delay:S``: a normal answer after ``S`` seconds (a stream: its first chunk after ``S``);
- ``slow:S``: a stream whose chunks come ``S`` seconds apart;
- ``hang``: never answers (``cancelled`` counts the clients that gave up);
- ``drop``: the connection closes before any answer (as a stale keep-alive socket does);
- ``reset``: a stream's first two chunks, then the connection drops (not streaming: ``drop``);
- ``cut``: two chunks, then the stream ends cleanly but without finish_reason or ``[DONE]``;
- ``stall``: two chunks, then silence (``cancelled`` counts the clients that gave up);
- ``error_event``: two chunks, then an SSE ``{"error": ...}`` event;
- ``malformed``: 200 with a body that is not JSON;
- ``say:TEXT``: a normal non-streaming answer whose content is TEXT (a wrong one, for the
  cascade); ``reply(model, messages)``, when given, writes every such answer;
- ``unsure``: a normal answer whose tokens, when ``logprobs`` are asked for, are unlikely ones;
- ``echo`` / ``echo:N``: answers with the text of the last message it received (a stream cuts
  it into chunks of N characters, 3 by default, so placeholders arrive split);
- ``leak:STATUS``: that status with an error whose message repeats the request's Authorization
  header and tells the upstream's insides (an address, a URL, a path, a stack trace); a stream
  gets one chunk, then that error as an SSE event;
- ``usage:JSON``: a normal non-streaming answer whose ``usage`` is JSON (hostile counts).

A non-streaming chat answer carries ``logprobs`` when the request asks for them: each of its
three tokens at log-probability -0.05 (``unsure``: -3.0). ``GET /v1/models`` lists ``name``.
With ``capacity`` set, at most that many requests are answered at once (the rest queue), so
throughput saturates as a real server's does.

In tests it serves from a thread: ``with FaultUpstream("a") as up: up.url``. Benchmarks run it as
a process of its own, which prints its base URL: ``python tests/serve/fault_upstream.py --port
9100 [--chunks 16 --gap-ms 2] [--error-rate 0.02 --reset-rate 0.005 --slow-rate 0.01]``.

It speaks HTTP/1.1 itself on an asyncio protocol (keep-alive, Content-Length request bodies,
chunked SSE answers), not through aiohttp, because the gateway benchmarks need an upstream much
faster than the gateway: on one core, measured beside the aiohttp version it replaces, it
answered several times the requests per second (docs/PERFORMANCE.md, "One fake upstream").
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import socket
import threading
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, cast

import orjson

Reply = Callable[[str, list[dict[str, Any]]], str]
ANSWERED = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings")
PLAIN = ANSWERED[:2]
"""The paths a plain (benchmark) request may take: the chat and text completions."""
_FIELDS = re.compile(rb"(?im)^(content-length|transfer-encoding|connection)[ \t]*:([^\r\n]*)")
"""The header fields that frame a request (the others are read only when recorded)."""
STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
)
STREAM_END = b"0\r\n\r\n"
MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024 * 1024
REASONS = {
    200: "OK", 400: "Bad Request", 404: "Not Found", 411: "Length Required",
    413: "Content Too Large", 429: "Too Many Requests", 431: "Request Header Fields Too Large",
    500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
}  # fmt: skip


@dataclass(slots=True)
class Request:
    """One request as it arrived."""

    method: str
    path: str
    headers: dict[str, str]
    """Header names as the client wrote them."""
    body: bytes
    close: bool
    """The client asked to close the connection after the answer."""


class FaultUpstream:
    """The server, its request log and its behaviour queue."""

    def __init__(
        self,
        name: str = "up",
        chunks: int = 5,
        *,
        ttft_s: float = 0.0,
        gap_s: float = 0.0,
        tokens_per_chunk: int = 1,
        usage: bool = True,
        capacity: int | None = None,
        delay_s: float = 0.0,
        reply: Reply | None = None,
        chaos: dict[str, float] | None = None,
        seed: int = 0,
        record: bool = True,
        port: int = 0,
        default: str = "ok",
    ) -> None:
        self.name, self.chunks, self.ttft_s, self.gap_s = name, chunks, ttft_s, gap_s
        self.tokens_per_chunk, self.usage, self.capacity = tokens_per_chunk, usage, capacity
        self.delay_s, self.reply, self.record = delay_s, reply, record
        self.chaos = list((chaos or {}).items())
        self.default = default
        """The behaviour when the queue is empty and no chaos is drawn."""
        self._random = random.Random(seed)
        self.behaviours: deque[str] = deque()
        self.requests: list[dict[str, Any]] = []
        """Every request body (JSON), in arrival order (unless ``record`` is off)."""
        self.headers: list[dict[str, str]] = []
        self.cancelled = 0
        """Answers cut short because the client went away."""
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", port))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()
        self._made: dict[tuple[object, ...], bytes] = {}
        """Whole answers to plain requests, by kind, path or model."""

    def plan(self, *behaviours: str) -> None:
        """Queue behaviours for the next requests."""
        self.behaviours.extend(behaviours)

    def __enter__(self) -> FaultUpstream:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._thread is not None
        asyncio.run_coroutine_threadsafe(self.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def start(self) -> None:
        """Listen on the bound socket (in the running loop)."""
        self._slots = asyncio.Semaphore(self.capacity or 1_000_000)
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _Connection(self), sock=self._sock, backlog=4096
        )

    async def stop(self) -> None:
        """Stop listening and end every connection (and its answer in progress)."""
        assert self._server is not None
        self._server.close()
        for connection in list(self._connections):
            connection.close()
        await asyncio.sleep(0)

    def _next(self) -> str:
        if self.behaviours:
            return self.behaviours.popleft()
        roll = self._random.random() if self.chaos else 1.0
        for behaviour, share in self.chaos:
            if roll < share:
                return behaviour
            roll -= share
        return self.default

    def answer(self, request: Request, out: _Connection) -> bool | Coroutine[Any, Any, bool]:
        """Answer one request now when nothing needs waiting, else return the coroutine that
        will; either says whether the connection stays open afterwards."""
        if request.method == "GET" and request.path == "/v1/models":
            return out.json(200, {"object": "list", "data": [{"id": self.name, "object": "model"}]})
        if request.method != "POST" or request.path not in ANSWERED:
            return out.json(404, _error(f"no route {request.method} {request.path}"))
        try:
            body = orjson.loads(request.body)
        except orjson.JSONDecodeError:
            return out.json(400, _error("request body is not JSON"))
        if self.record:
            self.requests.append(body)
            self.headers.append(request.headers)
        behaviour = self._next()
        if behaviour == "ok" and self._instant and not body.get("logprobs"):
            if body.get("stream"):  # what a benchmark sends, answered from a cache
                return out.raw(self._whole_stream(str(body.get("model")), _wants_usage(body)))
            return out.raw(self._plain(request.path, str(body.get("model"))))
        kind, _, arg = behaviour.partition(":")
        if kind == "leak":
            return self._leak(request, body, int(arg), out)
        if kind.isdigit():
            return out.json(int(kind), _error(f"injected {kind}"), retry_after=arg)
        stream = bool(body.get("stream"))
        if kind == "drop" or (kind == "reset" and not stream):
            return False
        if kind == "malformed":
            return out.send(200, b'{"id": "x", "choices": [', b"application/json")
        if kind in ("hang", "delay", "echo") or stream or self.delay_s or self.capacity:
            return self._later(request.path, body, kind, arg, out)
        return out.json(200, self._answer(request.path, body, kind, arg))

    @property
    def plain(self) -> bool:
        """Every request now gets a cached ``ok`` answer at once (a benchmark's upstream)."""
        return not (self.record or self.behaviours or self.chaos) and self._instant

    @property
    def _instant(self) -> bool:
        """Whether a plain ``ok`` answer is always the same bytes, sent at once."""
        waits = self.ttft_s or self.gap_s or self.delay_s or self.capacity
        return not waits and self.reply is None

    def _plain(self, path: str, model: str) -> bytes:
        """The whole HTTP answer to a plain request, made once per path and model (a benchmark
        sends millions of them)."""
        key = ("plain", path, model)
        if key not in self._made:
            body = orjson.dumps(self._answer(path, {"model": model}, "ok", ""))
            self._made[key] = _head(200, b"application/json", len(body)) + body
        return self._made[key]

    async def _later(
        self, path: str, body: dict[str, Any], kind: str, arg: str, out: _Connection
    ) -> bool:
        if kind == "hang":
            await asyncio.Event().wait()
        async with self._slots:  # a server that can only run `capacity` requests at once
            if kind == "delay" or self.delay_s:
                await asyncio.sleep(float(arg) if kind == "delay" else self.delay_s)
            if body.get("stream"):
                return await self._stream(body, kind, arg, out)
            return out.json(200, self._answer(path, body, kind, arg))

    def _answer(self, path: str, body: dict[str, Any], kind: str, arg: str) -> dict[str, Any]:
        model = str(body.get("model"))
        if path.endswith("/embeddings"):
            vector = {"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}
            return {"object": "list", "model": model, "usage": _usage(3, 0), "data": [vector]}
        text = arg if kind == "say" else _last_text(body) if kind == "echo" else None
        if text is None and self.reply is not None:
            text = self.reply(model, list(body.get("messages") or []))
        message = {"role": "assistant", "content": text or f"hello from {self.name}"}
        choice: dict[str, Any] = {"index": 0, "message": message, "finish_reason": "stop"}
        if body.get("logprobs"):
            logprob = -3.0 if kind == "unsure" else -0.05
            choice["logprobs"] = {"content": [{"token": t, "logprob": logprob} for t in "abc"]}
        usage = orjson.loads(arg) if kind == "usage" else _usage(7, 4)
        return {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model,
                "choices": [choice], "usage": usage}  # fmt: skip

    def _leak(self, request: Request, body: dict[str, Any], status: int, out: _Connection) -> bool:
        """An error that repeats the request's credential and tells the upstream's insides."""
        key = next((v for k, v in request.headers.items() if k.lower() == "authorization"), None)
        said = (f"Incorrect API key provided: {key} for http://10.1.2.3:8000/v1/chat/completions "
                "(worker /srv/llm/app/worker.py)\nTraceback (most recent call last):\n"
                '  File "/srv/llm/app/worker.py", line 7')  # fmt: skip
        error = {"error": {"message": said, "type": "invalid_request_error", "param": None,
                           "code": "invalid_api_key"}}  # fmt: skip
        if not body.get("stream"):
            return out.json(status, error)
        chunk = _piece(_chunk(str(body.get("model")), "t0 ", None))
        return out.raw(STREAM_HEAD + chunk + _piece(error) + STREAM_END)

    async def _stream(self, body: dict[str, Any], kind: str, arg: str, out: _Connection) -> bool:
        model, usage = str(body.get("model")), _wants_usage(body)
        out.raw(STREAM_HEAD)
        if self.ttft_s:
            await asyncio.sleep(self.ttft_s)
        faulty = kind in ("reset", "cut", "stall", "error_event")
        gap = float(arg) if kind == "slow" else self.gap_s
        if kind == "echo":
            text, size = _last_text(body), int(arg or 3)
            pieces = [
                _piece(_chunk(model, text[i : i + size], None)) for i in range(0, len(text), size)
            ]
        else:
            pieces = self._pieces(model, 2 if faulty else self.chunks)
        for i, piece in enumerate(pieces):
            if i and gap:
                await asyncio.sleep(gap)
            out.raw(piece)
        if kind == "reset":
            return False
        if kind == "stall":
            await asyncio.Event().wait()
        if kind == "error_event":
            out.raw(_piece({"error": {"message": "engine died", "type": "server_error"}}))
        out.raw(b"".join(self._ending(model, usage)) if not faulty else STREAM_END)
        return True

    def _whole_stream(self, model: str, usage: bool) -> bytes:
        """A stream answer with no pacing, in one write, made once per model (the load
        generator benchmark needs a server much faster than the generator)."""
        key = ("stream", model, usage)
        if key not in self._made:
            pieces = [STREAM_HEAD, *self._pieces(model, self.chunks), *self._ending(model, usage)]
            self._made[key] = b"".join(pieces)
        return self._made[key]

    def _pieces(self, model: str, count: int) -> list[bytes]:
        return [_piece(_chunk(model, f"t{i} " * self.tokens_per_chunk, None)) for i in range(count)]

    def _ending(self, model: str, usage: bool) -> list[bytes]:
        pieces = [_piece(_chunk(model, None, "stop"))]
        if usage and self.usage:
            counts = _usage(7, self.chunks * self.tokens_per_chunk)
            pieces.append(_piece({**_chunk(model, None, None), "choices": [], "usage": counts}))
        return [*pieces, _event(b"[DONE]"), STREAM_END]


class _Connection(asyncio.Protocol):
    """One client connection: requests parsed as they arrive, answered one after another."""

    def __init__(self, upstream: FaultUpstream) -> None:
        self.upstream = upstream
        self.buffer = b""
        self.pending: deque[Request] = deque()
        self.task: asyncio.Task[None] | None = None
        self.closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.upstream._connections.add(self)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.upstream.plain and not self.pending and self._plain_requests():
            return
        while (request := self._parse()) is not None:
            self.pending.append(request)
        self._answer_pending()

    def _plain_requests(self) -> bool:
        """Answer the whole requests in the buffer from the cache, as fast as a benchmark needs
        (no behaviour planned, nothing recorded); False, with nothing taken, at anything else."""
        answers = []
        buffer, up = self.buffer, self.upstream
        while buffer:
            end = buffer.find(b"\r\n\r\n")
            frame = _frame(buffer[:end]) if 0 < end <= MAX_HEAD else None
            method, _, rest = buffer[: buffer.find(b"\r\n")].partition(b" ")
            path = rest.partition(b" ")[0].decode("latin-1")
            if frame is None or frame[1] or method != b"POST" or path not in PLAIN:
                return False
            stop = end + 4 + frame[0]
            if stop > len(buffer):
                return False
            body = orjson.loads(buffer[end + 4 : stop])
            model = str(body.get("model"))
            if body.get("stream"):
                answers.append(up._whole_stream(model, _wants_usage(body)))
            else:
                answers.append(up._plain(path, model))
            buffer = buffer[stop:]
        self.buffer = buffer
        self.transport.write(b"".join(answers))
        return True

    def _answer_pending(self) -> None:
        """Answer queued requests in order; one that must wait runs as a task, then resumes."""
        while self.pending and not self.closing and (self.task is None or self.task.done()):
            request = self.pending.popleft()
            outcome = self.upstream.answer(request, self)
            if isinstance(outcome, bool):
                self._done(outcome, request)
            else:
                self.task = asyncio.get_running_loop().create_task(self._wait(outcome, request))

    async def _wait(self, answer: Coroutine[Any, Any, bool], request: Request) -> None:
        try:
            keep = await answer
        except asyncio.CancelledError:
            if not self.closing:  # the client went away, not this server
                self.upstream.cancelled += 1
            return
        self._done(keep, request)
        self.task = None
        self._answer_pending()

    def _done(self, keep: bool, request: Request) -> None:
        if not keep or request.close:
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.upstream._connections.discard(self)
        if self.task is not None and not self.task.done():
            self.task.cancel()  # stop the answer: the client went away, or the server stops

    def _parse(self) -> Request | None:
        end = self.buffer.find(b"\r\n\r\n")
        if end > MAX_HEAD or (end < 0 and len(self.buffer) > MAX_HEAD):
            self._refuse(431)
            return None
        if end < 0:
            return None
        head = self.buffer[:end]
        frame = _frame(head)
        if frame is None:
            self._refuse(411)
            return None
        start, stop = end + 4, end + 4 + frame[0]
        if stop - start > MAX_BODY:
            self._refuse(413)
            return None
        if len(self.buffer) < stop:
            return None
        body, self.buffer = self.buffer[start:stop], self.buffer[stop:]
        method, _, rest = head[: head.find(b"\r\n")].partition(b" ")
        path = rest.partition(b" ")[0].partition(b"?")[0].decode("latin-1")
        # header names and values are read only when recorded (benchmarks do not)
        headers = _headers(head) if self.upstream.record else {}
        return Request(method.decode("latin-1"), path, headers, body, frame[1])

    def _refuse(self, status: int) -> None:
        self.buffer = b""
        self.json(status, _error(REASONS[status]))
        self.close()

    def close(self) -> None:
        self.closing = True
        self.transport.close()
        if self.task is not None and self.task is not asyncio.current_task():
            self.task.cancel()

    def send(self, status: int, body: bytes, content_type: bytes, headers: bytes = b"") -> bool:
        return self.raw(_head(status, content_type, len(body), headers) + body)

    def raw(self, answer: bytes) -> bool:
        self.transport.write(answer)
        return True

    def json(self, status: int, data: dict[str, Any], retry_after: str = "") -> bool:
        extra = b"retry-after: %s\r\n" % retry_after.encode() if retry_after else b""
        return self.send(status, orjson.dumps(data), b"application/json", extra)


def _piece(data: dict[str, Any]) -> bytes:
    return _event(orjson.dumps(data))


def _event(payload: bytes) -> bytes:
    """One SSE event as one piece of a chunked body."""
    event = b"data: " + payload + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(event), event)


def _wants_usage(body: dict[str, Any]) -> bool:
    return bool((body.get("stream_options") or {}).get("include_usage"))


def _head(status: int, content_type: bytes, length: int, headers: bytes = b"") -> bytes:
    return b"HTTP/1.1 %d %s\r\ncontent-type: %s\r\ncontent-length: %d\r\n%s\r\n" % (
        status, REASONS.get(status, "Status").encode(), content_type, length, headers,
    )  # fmt: skip


def _frame(head: bytes) -> tuple[int, bool] | None:
    """A request's body length and whether it asks to close the connection; None when the body
    is not framed by Content-Length."""
    fields = {name.lower(): value.strip() for name, value in _FIELDS.findall(head)}
    length = fields.get(b"content-length", b"0")
    if b"transfer-encoding" in fields or not length.isdigit():
        return None
    return int(length), fields.get(b"connection", b"").lower() == b"close"


def _headers(head: bytes) -> dict[str, str]:
    lines = head.decode("latin-1").split("\r\n")[1:]
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in lines) if v}


def _last_text(body: dict[str, Any]) -> str:
    """The text of the last message (or the prompt) of a request."""
    if "messages" not in body:
        prompt = body.get("prompt", "")
        return prompt if isinstance(prompt, str) else " ".join(map(str, prompt))
    last = body["messages"][-1] if body["messages"] else ""
    content = last.get("content") if isinstance(last, dict) else last
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    if isinstance(content, dict):
        return str(content.get("text", ""))
    return content if isinstance(content, str) else ""


def _usage(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 2},
    }


def _chunk(model: str, text: str | None, finish: str | None) -> dict[str, Any]:
    delta = {"content": text} if text is not None else {}
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip


def _error(message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "server_error", "param": None, "code": None}}


async def _serve(upstream: FaultUpstream) -> None:
    await upstream.start()
    print(upstream.url, flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--chunks", type=int, default=16)
    parser.add_argument("--gap-ms", type=float, default=0.0, help="between stream chunks")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="before every answer")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share answered 503")
    parser.add_argument("--reset-rate", type=float, default=0.0, help="share dropped")
    parser.add_argument("--slow-rate", type=float, default=0.0, help="share answered after 0.2 s")
    args = parser.parse_args()
    chaos = {"503": args.error_rate, "drop": args.reset_rate, "delay:0.2": args.slow_rate}
    upstream = FaultUpstream(
        "fake", args.chunks, gap_s=args.gap_ms / 1000, delay_s=args.delay_ms / 1000,
        chaos={k: v for k, v in chaos.items() if v}, record=False, port=args.port,
    )  # fmt: skip
    try:
        import uvloop

        uvloop.run(_serve(upstream))
    except ImportError:
        asyncio.run(_serve(upstream))


if __name__ == "__main__":
    main()
