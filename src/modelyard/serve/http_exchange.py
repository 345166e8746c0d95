"""One request and its response on a connection of the gateway's server protocol
(serve/http_server.py): the ASGI ``receive`` and ``send`` of one app call, and the transport
wrapper that joins a loop turn's writes into one."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any

from modelyard.serve.connections import STATUS_LINE
from modelyard.serve.types import ASGIApp, Message, Scope

if TYPE_CHECKING:
    from modelyard.serve.http_server import GatewayHttpProtocol

DISCONNECT_HOOKS = "yard.disconnect_hooks"
"""Scope key of the list of callbacks run if the client disconnects mid-request."""
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
HEADER_LINES = re.compile(rb"(?:[!#$%&'*+.^_`|~0-9A-Za-z-]+: [^\x00-\x08\x0a-\x1f\x7f]*\r\n)*")
"""Response header lines as the app may send them: RFC 9110 token names, no control
characters in values. A value with CR LF would inject a header of its own, so the block must
also have exactly one LF per header."""
LOG = logging.getLogger("uvicorn.error")
DRAIN_BYTES = 65536
"""A request answered before its body arrived keeps its connection when at most this much of
the declared body is still to come (it is read and dropped); more, or a chunked body, closes
the connection."""


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
        "status",
        "task",
        "unread",
        "waiter",
    )

    def __init__(
        self,
        conn: GatewayHttpProtocol,
        scope: Scope,
        keep_alive: bool,
        expect_continue: bool,
        content_length: int = -1,
    ) -> None:
        self.conn = conn
        self.scope = scope
        self.keep_alive = keep_alive
        self.expect_continue = expect_continue
        self.unread = content_length
        """Body bytes declared and not yet arrived (-1: not declared, chunked)."""
        self.body = b""
        self.more_body = True
        self.read = False
        """The last of the body went to the app: ``receive()`` now waits for the end."""
        self.waiter: asyncio.Future[None] | None = None
        self.gone = False
        self.started = False
        self.status = 0
        self.complete = False
        self.chunked = False
        self.left = 0
        """Bytes of the declared content-length not yet sent."""
        self.task: asyncio.Task[None] | None = None

    def add_body(self, body: bytes) -> None:
        self.body += body
        self.unread -= len(body)
        self._wake()

    def little_left(self) -> bool:
        """Whether what is left of an unread body is small enough to read and drop, keeping
        the connection, rather than closing it."""
        return 0 <= self.unread <= DRAIN_BYTES

    def end_body(self) -> None:
        self.more_body = False
        self._wake()

    def client_left(self) -> None:
        """The connection dropped (or is being dropped): run the disconnect hooks once, if the
        answer was not complete."""
        if not (self.complete or self.gone):
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
            # an app not typed as ours may return something: the spec says it must not
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
            body_wait = self.more_body  # else only a disconnect is awaited: no deadline
            if body_wait:
                conn.waiting_for_body(True)
            try:
                await self.waiter
            finally:
                self.waiter = None
                if body_wait:
                    conn.waiting_for_body(False)
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
            self.status = message["status"]
            head = self._head(self.status, message.get("headers", ()))
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
        self.conn.answered(self, self.status)

    async def _send_500(self) -> None:
        headers = [(b"content-type", b"text/plain; charset=utf-8"),
                   (b"content-length", b"21"), (b"connection", b"close")]  # fmt: skip
        await self.send({"type": "http.response.start", "status": 500, "headers": headers})
        await self.send({"type": "http.response.body", "body": b"Internal Server Error"})
