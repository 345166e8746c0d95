"""The gateway's HTTP/1.1 server protocol: uvicorn's httptools protocol, cut to what it needs.

`yard serve` runs under uvicorn (its server, sockets, signals, workers) with this protocol in
place of uvicorn's own. It speaks the same ASGI and HTTP/1.1 (keep-alive, pipelining,
``Expect: 100-continue``, chunked bodies both ways, flow control, graceful shutdown) and
differs where the gateway's latency is at stake:

- Writes made during one turn of the event loop are joined and leave together at the end of
  that turn, so a JSON answer (or a stream's head and first event) goes out in one segment
  instead of two; a response's last write leaves at once, so what the app does after answering
  (metrics, budgets, unwinding) does not delay it.
- ASGI tells an app that its client left only through ``receive()``, so an app that wants to
  know while it waits on something else must keep a task blocked in ``receive()`` for every
  request. Here each request's scope carries a list under ``DISCONNECT_HOOKS``: callbacks the
  app puts there run when the connection drops before the response is complete.
- Less work per request: no event object unless ``receive()`` has to wait, one keep-alive
  timer per connection instead of one per response, the server's default headers encoded once,
  no WebSocket upgrades, no access log (the ledger records every request).
"""

from __future__ import annotations

import asyncio
import logging
import re
import urllib.parse
from collections import deque
from typing import Any

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT, FlowControl
from uvicorn.protocols.http.httptools_impl import STATUS_LINE
from uvicorn.protocols.utils import get_local_addr, get_remote_addr, is_ssl
from uvicorn.server import ServerState

from modelyard.serve.types import ASGIApp, Message, Scope

DISCONNECT_HOOKS = "yard.disconnect_hooks"
"""Scope key of the list of callbacks run if the client disconnects mid-request."""
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
HEADER_LINES = re.compile(rb"(?:[!#$%&'*+.^_`|~0-9A-Za-z-]+: [^\x00-\x08\x0a-\x1f\x7f]*\r\n)*")
"""Response header lines as the app may send them: RFC 9110 token names, no control
characters in values. A value with CR LF would inject a header of its own, so the block must
also have exactly one LF per header."""
LOG = logging.getLogger("uvicorn.error")


class CoalescingTransport:
    """Wraps a transport; ``write`` buffers until the current loop turn ends."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] | None = None

    def write(self, data: bytes) -> None:
        """Queue ``data``; the first write of a turn schedules the flush."""
        if self._pending is None:
            self._pending = [data]
            self._loop.call_soon(self.flush)
        else:
            self._pending.append(data)

    def flush(self) -> None:
        """Send what was queued, in one write."""
        pending, self._pending = self._pending, None
        if pending and not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        """Flush, then close (the transport sends buffered bytes before closing)."""
        self.flush()
        self._transport.close()


class GatewayHttpProtocol(asyncio.Protocol):
    """One client connection: parses requests with httptools, runs the app for each."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        if not config.loaded:
            config.load()
        self.app: ASGIApp = config.loaded_app
        self.loop = _loop or asyncio.get_event_loop()
        self.root_path = config.root_path
        self.keep_alive_s = config.timeout_keep_alive
        self.state = server_state
        self.app_state = app_state
        self.parser = httptools.HttpRequestParser(self)
        self.parser.set_dangerous_leniencies(lenient_data_after_close=True)
        self.raw: asyncio.Transport = None  # type: ignore[assignment]
        self.transport: CoalescingTransport = None  # type: ignore[assignment]
        self.flow: FlowControl = None  # type: ignore[assignment]
        self.base: dict[str, Any] = {}
        self.exchange: Exchange | None = None
        self.waiting: deque[Exchange] = deque()
        """Pipelined requests, parsed before the one ahead of them was answered."""
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.expect_continue = False
        self.idle_timer: asyncio.TimerHandle | None = None
        self.last_answer = 0.0
        self._defaults: tuple[list[tuple[bytes, bytes]] | None, bytes] = (None, b"")

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self.state.connections.add(self)  # type: ignore[arg-type]
        self.raw = transport
        self.transport = CoalescingTransport(transport, self.loop)
        self.flow = FlowControl(transport)
        self.base = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "server": get_local_addr(transport),
            "client": get_remote_addr(transport),
            "scheme": "https" if is_ssl(transport) else "http",
            "root_path": self.root_path,
        }

    def connection_lost(self, exc: Exception | None) -> None:
        self.state.connections.discard(self)
        exchange = self.exchange
        if exchange is not None:
            exchange.client_left()
        self.flow.resume_writing()
        if self.idle_timer is not None:
            self.idle_timer.cancel()
        if exc is None:
            self.raw.close()
        self.parser = None  # type: ignore[assignment]

    def eof_received(self) -> None:
        pass

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            pass  # no WebSocket or h2c upgrades: answered as plain HTTP/1.1, as uvicorn does
        except httptools.HttpParserError:
            LOG.warning("Invalid HTTP request received.")
            message = b"Invalid HTTP request received."
            self.raw.write(
                b"%scontent-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n"
                b"connection: close\r\n\r\n%s" % (STATUS_LINE[400], len(message), message)
            )
            self.raw.close()

    # httptools' callbacks
    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = []
        self.expect_continue = False

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_continue = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        parser = self.parser
        version = parser.get_http_version()
        url = httptools.parse_url(self.url)
        path = url.path.decode("ascii")
        scope = {
            **self.base,
            "http_version": version,
            "method": parser.get_method().decode("ascii"),
            "path": self.root_path + (urllib.parse.unquote(path) if "%" in path else path),
            "raw_path": self.root_path.encode("ascii") + url.path,
            "query_string": url.query or b"",
            "headers": self.headers,
            "state": self.app_state.copy(),
            DISCONNECT_HOOKS: [],
        }
        keep_alive = version != "1.0" and parser.should_keep_alive()
        exchange = Exchange(self, scope, keep_alive, self.expect_continue)
        if self.exchange is None or self.exchange.complete:
            self._start(exchange)
        else:
            self.flow.pause_reading()
            self.waiting.append(exchange)

    def on_body(self, body: bytes) -> None:
        exchange = self.waiting[-1] if self.waiting else self.exchange
        if exchange is not None and not exchange.complete:
            exchange.add_body(body)
            if len(exchange.body) > HIGH_WATER_LIMIT:
                self.flow.pause_reading()

    def on_message_complete(self) -> None:
        exchange = self.waiting[-1] if self.waiting else self.exchange
        if exchange is not None and not exchange.complete:
            exchange.end_body()

    # the app's side
    def _start(self, exchange: Exchange) -> None:
        self.exchange = exchange
        exchange.task = self.loop.create_task(exchange.run(self.app))
        self.state.tasks.add(exchange.task)

    def answered(self, keep_alive: bool) -> None:
        """The current response's last byte was written: flush it, then go on."""
        self.transport.flush()
        self.state.total_requests += 1
        if not keep_alive:
            self.raw.close()
            return
        if self.raw.is_closing():
            return
        self.flow.resume_reading()
        if self.waiting:
            self._start(self.waiting.popleft())
            return
        self.last_answer = self.loop.time()
        if self.idle_timer is None:
            self.idle_timer = self.loop.call_at(self.last_answer + self.keep_alive_s, self._idle)

    def _idle(self) -> None:
        """Close a keep-alive connection idle for ``keep_alive_s`` since its last answer."""
        self.idle_timer = None
        exchange = self.exchange
        if (exchange is not None and not exchange.complete) or self.raw.is_closing():
            return  # busy: the next answer arms the timer again
        due = self.last_answer + self.keep_alive_s
        if self.loop.time() >= due:
            self.raw.close()
        else:
            self.idle_timer = self.loop.call_at(due, self._idle)

    def default_headers(self) -> bytes:
        """The server's default headers (its date), encoded once per new list from uvicorn."""
        current, encoded = self._defaults
        if current is not self.state.default_headers:
            current = self.state.default_headers
            encoded = b"".join(b"%s: %s\r\n" % pair for pair in current)
            self._defaults = (current, encoded)
        return encoded

    # uvicorn's server calls these
    def shutdown(self) -> None:
        """Graceful shutdown: close when idle, else after the current response."""
        if self.exchange is None or self.exchange.complete:
            self.raw.close()
        else:
            self.exchange.keep_alive = False

    def pause_writing(self) -> None:
        self.flow.pause_writing()

    def resume_writing(self) -> None:
        self.flow.resume_writing()


class Exchange:
    """One request and its response: the ASGI ``receive`` and ``send`` of one app call."""

    __slots__ = (
        "body",
        "chunked",
        "complete",
        "conn",
        "expect_continue",
        "gone",
        "keep_alive",
        "left",
        "more_body",
        "read",
        "scope",
        "started",
        "task",
        "waiter",
    )

    def __init__(
        self, conn: GatewayHttpProtocol, scope: Scope, keep_alive: bool, expect_continue: bool
    ) -> None:
        self.conn = conn
        self.scope = scope
        self.keep_alive = keep_alive
        self.expect_continue = expect_continue
        self.body = b""
        self.more_body = True
        self.read = False
        """The last of the body went to the app: ``receive()`` now waits for the end."""
        self.waiter: asyncio.Future[None] | None = None
        self.gone = False
        self.started = False
        self.complete = False
        self.chunked = False
        self.left = 0
        """Bytes of the declared content-length not yet sent."""
        self.task: asyncio.Task[None] | None = None

    def add_body(self, body: bytes) -> None:
        self.body += body
        self._wake()

    def end_body(self) -> None:
        self.more_body = False
        self._wake()

    def client_left(self) -> None:
        """The connection dropped: run the disconnect hooks if the answer was not complete."""
        if not self.complete:
            self.gone = True
            for hook in self.scope[DISCONNECT_HOOKS]:
                hook()
        self._wake()

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def run(self, app: ASGIApp) -> None:
        """Call the app; answer 500 if it fails before starting a response."""
        try:
            problem = await self._call(app)
            if problem:
                LOG.error(problem[0], exc_info=problem[1])
                if not self.started:
                    await self._send_500()
                else:
                    self.conn.raw.close()
        finally:
            self.conn.state.tasks.discard(self.task)

    async def _call(self, app: ASGIApp) -> tuple[str, BaseException | None] | None:
        """What went wrong in the app, if anything."""
        try:
            # a protocol-breaking app may return something: say so, as uvicorn does
            result = await app(self.scope, self.receive, self.send)  # type: ignore[func-returns-value]
        except BaseException as exc:
            return "Exception in ASGI application\n", exc
        if result is not None:
            return "ASGI callable should return None", None
        if self.complete or self.gone:
            return None
        if self.started:
            return "ASGI callable returned without completing response", None
        return "ASGI callable returned without starting response", None

    async def receive(self) -> Message:
        """The body as it arrives; then, once answered or abandoned, ``http.disconnect``."""
        conn = self.conn
        if self.expect_continue:
            self.expect_continue = False
            if not conn.raw.is_closing():
                conn.transport.write(CONTINUE)
        conn.flow.resume_reading()
        while not (self.gone or self.complete or self.body or not (self.more_body or self.read)):
            self.waiter = conn.loop.create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        if self.gone or self.complete:
            return {"type": "http.disconnect"}
        body, self.body = self.body, b""
        self.read = not self.more_body
        return {"type": "http.request", "body": body, "more_body": self.more_body}

    async def send(self, message: Message) -> None:
        conn = self.conn
        if conn.flow.write_paused and not self.gone:
            await conn.flow.drain()
        if self.gone:
            return
        if not self.started:
            if message["type"] != "http.response.start":
                raise RuntimeError(f"Expected 'http.response.start', got '{message['type']}'")
            head = self._head(message["status"], message.get("headers", ()))
            self.started = True
            self.expect_continue = False
            conn.transport.write(head)
        elif not self.complete:
            if message["type"] != "http.response.body":
                raise RuntimeError(f"Expected 'http.response.body', got '{message['type']}'")
            self._body(message.get("body", b""), message.get("more_body", False))
        else:
            raise RuntimeError(f"Unexpected '{message['type']}' after the response completed")

    def _head(self, status: int, headers: Any) -> bytes:
        """The status line and headers; decides content-length or chunked framing."""
        lines = []
        length: int | None = None
        chunked = close = False
        for name, value in headers:
            lines.append(b"%s: %s\r\n" % (name, value))
            name = name.lower()
            if name == b"content-length" and length is None and not chunked:
                length = int(value)
            elif name == b"transfer-encoding" and value.lower() == b"chunked":
                chunked, length = True, None
            elif name == b"connection":
                close = close or b"close" in [t.strip() for t in value.lower().split(b",")]
        block = b"".join(lines)
        if block.count(b"\n") != len(lines) or not HEADER_LINES.fullmatch(block):
            raise RuntimeError(f"Invalid HTTP header in {block!r}")
        if close:
            self.keep_alive = False
        elif not self.keep_alive:
            block += b"connection: close\r\n"
        bodyless = self.scope["method"] == "HEAD" or status in (204, 304)
        if length is None and not chunked and not bodyless:
            chunked = True
            block += b"transfer-encoding: chunked\r\n"
        self.chunked, self.left = chunked, length or 0
        return b"%s%s%s\r\n" % (STATUS_LINE[status], self.conn.default_headers(), block)

    def _body(self, body: bytes, more: bool) -> None:
        write = self.conn.transport.write
        if self.scope["method"] == "HEAD":
            self.left = 0
        elif self.chunked:
            framed = b"%x\r\n%s\r\n" % (len(body), body) if body else b""
            write(framed if more else framed + b"0\r\n\r\n")
        else:
            if len(body) > self.left:
                raise RuntimeError("Response content longer than Content-Length")
            self.left -= len(body)
            write(body)
        if more:
            return
        if self.left:
            raise RuntimeError("Response content shorter than Content-Length")
        self.complete = True
        self._wake()
        self.conn.answered(self.keep_alive)

    async def _send_500(self) -> None:
        headers = [(b"content-type", b"text/plain; charset=utf-8"),
                   (b"content-length", b"21"), (b"connection", b"close")]  # fmt: skip
        await self.send({"type": "http.response.start", "status": 500, "headers": headers})
        await self.send({"type": "http.response.body", "body": b"Internal Server Error"})
