"""A small HTTP/1.1 client for upstream calls: keep-alive pool, httptools parser, TLS with SNI.

It does one thing, POST a body and read the answer (whole, or as it arrives), at a fraction of a
general client's cost per request: the request head is built once per URL, the response is
parsed by httptools inside the protocol's ``data_received``, and a short answer is read without
a second trip through the event loop. A connection goes back to the pool only after a complete,
keep-alive answer; one that errored or was left mid-body is closed.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httptools

HIGH_WATER = 256 * 1024
"""Buffered body bytes at which the socket stops being read until the caller catches up."""


class HttpError(Exception):
    """The exchange failed at the transport or protocol level."""


class ConnectFailed(HttpError):
    """No connection could be opened (refused, unreachable, DNS, TLS handshake)."""


class Disconnected(HttpError):
    """The connection broke, or the server sent something that is not HTTP/1.1."""


@dataclass(frozen=True, slots=True)
class Target:
    """A URL resolved once: where to connect and the request line with its Host header."""

    key: tuple[str, str, int]
    host: str
    port: int
    tls: bool
    head: bytes

    @classmethod
    def parse(cls, url: str) -> Target:
        """The target of an ``http://`` or ``https://`` URL."""
        parts = urlsplit(url)
        tls = parts.scheme == "https"
        host = parts.hostname or ""
        port = parts.port or (443 if tls else 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        netloc = parts.netloc.rpartition("@")[2]
        head = f"POST {path} HTTP/1.1\r\nHost: {netloc}\r\n".encode("latin-1")
        return cls((parts.scheme, host, port), host, port, tls, head)


class Connection(asyncio.Protocol):
    """One upstream connection and the answer it is reading."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.idle_since = 0.0
        self._reset()

    def _reset(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.chunks: list[bytes] = []
        self.buffered = 0
        self.head_done = False
        self.complete = False
        self.keep_alive = False
        self.error: HttpError | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        if self.complete or self.error is not None:
            self._fail(Disconnected("the upstream sent bytes nobody asked for"))
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(Disconnected(f"invalid HTTP from the upstream ({exc})"))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.head_done and exc is None and not self.complete and self._reads_to_eof():
            self.complete = True
        elif not self.complete and self.error is None:
            why = f"{type(exc).__name__}: {exc}" if exc else "the upstream closed the connection"
            self.error = Disconnected(why)
        self.transport = None
        self._wake()

    def _reads_to_eof(self) -> bool:
        """Whether the body is delimited by the connection closing (no length, not chunked)."""
        return "content-length" not in self.headers and "transfer-encoding" not in self.headers

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.head_done = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > HIGH_WATER and self.transport is not None:
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        # Read it now: once the message ends, the parser resets and answers False.
        self.keep_alive = self.parser.should_keep_alive()
        self.complete = True
        self._wake()

    def _fail(self, error: HttpError) -> None:
        self.error = error
        self.close()
        self._wake()

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self) -> None:
        """Until the next parser event or the connection's end."""
        if self.error is not None:
            raise self.error
        self.waiter = self.loop.create_future()
        try:
            await self.waiter
        finally:
            self.waiter = None

    def send(self, data: bytes) -> None:
        """Start a new exchange by writing the whole request."""
        self._reset()
        if self.transport is None:
            raise Disconnected("the upstream closed the connection")
        self.transport.write(data)

    def take(self) -> bytes:
        """The body bytes buffered so far (resuming the socket if it was paused)."""
        chunks = self.chunks
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self.chunks.clear()
        if self.buffered > HIGH_WATER and self.transport is not None:
            self.transport.resume_reading()
        self.buffered = 0
        return data

    @property
    def reusable(self) -> bool:
        """A complete, error-free, keep-alive exchange on an open connection."""
        return (
            self.complete
            and self.error is None
            and self.transport is not None
            and not self.transport.is_closing()
            and self.keep_alive
        )

    def close(self) -> None:
        """Close the socket (an unfinished answer is abandoned with it)."""
        if self.transport is not None:
            self.transport.close()


class Response:
    """An upstream answer whose head has arrived; read its body, then ``release()`` it."""

    __slots__ = ("_conn", "_key", "_pool", "headers", "status")

    def __init__(self, pool: HttpPool, key: tuple[str, str, int], conn: Connection) -> None:
        self._pool, self._key = pool, key
        self._conn: Connection | None = conn
        """None once released: reading then is a bug."""
        self.status = conn.status
        self.headers = conn.headers
        """Header names lower-cased; a repeated header keeps its last value."""

    async def read(self) -> bytes:
        """The whole body.

        Raises:
            Disconnected: the connection broke before the body ended.
        """
        conn, parts = self._conn, []
        assert conn is not None, "read after release"
        while not conn.complete:
            if conn.chunks:
                parts.append(conn.take())  # keeps a paused socket reading
            await conn.wait()
        if not parts:
            return conn.take()
        parts.append(conn.take())
        return b"".join(parts)

    async def read_chunk(self) -> bytes:
        """The body bytes that arrived since the last call (waiting for some); b"" at the end.

        Raises:
            Disconnected: the connection broke before the body ended.
        """
        conn = self._conn
        assert conn is not None, "read after release"
        while not conn.chunks:
            if conn.complete:
                return b""
            await conn.wait()
        return conn.take()

    def release(self) -> None:
        """Give the connection back to the pool when the answer was read whole, else close it."""
        conn, self._conn = self._conn, None
        if conn is not None:
            self._pool.give_back(self._key, conn)


def _why(exc: OSError) -> str:
    """A connect error in a few words ("Connection refused", "TLS: CERTIFICATE_VERIFY_FAILED")."""
    if isinstance(exc, ssl.SSLError):
        return f"TLS: {exc.reason or exc}"
    if exc.errno and not isinstance(exc, socket.gaierror):
        return os.strerror(exc.errno)
    return exc.strerror or str(exc) or type(exc).__name__


def _header_lines(headers: dict[str, str]) -> bytes:
    lines = "".join([f"{k}: {v}\r\n" for k, v in headers.items()])
    if lines.count("\n") != len(headers) or "\r" in lines.replace("\r\n", ""):
        raise ValueError(f"a header name or value contains CR or LF: {list(headers)}")
    return lines.encode("latin-1")


class HttpPool:
    """Keep-alive connections per (scheme, host, port), for one event loop.

    Args:
        keepalive_s: An idle connection older than this is closed rather than reused.
        tls: The TLS context for ``https`` URLs; default: the system's trusted CAs, with
            certificate and host name checks.
    """

    def __init__(self, keepalive_s: float = 60.0, tls: ssl.SSLContext | None = None) -> None:
        self.keepalive_s = keepalive_s
        self._targets: dict[str, Target] = {}
        self._idle: dict[tuple[str, str, int], list[Connection]] = {}
        self._tls = tls
        self._lines: dict[int, tuple[dict[str, str], bytes]] = {}
        """Rendered header lines by the id of the (unchanging) dict given; the dict is kept, so
        its id cannot be reused by another while cached."""

    async def post(
        self, url: str, headers: dict[str, str], body: bytes, connect_timeout: float
    ) -> Response:
        """Send ``body`` to ``url`` and wait for the answer's status line and headers.

        Args:
            url: ``http://`` or ``https://`` URL.
            headers: Request headers besides Host and Content-Length; rendered once per dict,
                so pass the same, unchanging dict for every request of one upstream.
            body: The request body.
            connect_timeout: Seconds to open a new connection (with its TLS handshake).

        Raises:
            ConnectFailed: no connection could be opened.
            Disconnected: the connection broke before the answer's head arrived.
            TimeoutError: opening the connection took longer than ``connect_timeout``.
            ValueError: a header name or value contains CR or LF.
        """
        target = self._targets.get(url) or self._target(url)
        lines = self._lines.get(id(headers))
        if lines is None or lines[0] is not headers:
            lines = self._rendered(headers)
        request = b"%s%sContent-Length: %d\r\n\r\n%s" % (target.head, lines[1], len(body), body)
        conn = self._reuse(target.key) or await self._open(target, connect_timeout)
        try:
            conn.send(request)
            while not conn.head_done:
                await conn.wait()
        except BaseException:
            conn.close()
            raise
        return Response(self, target.key, conn)

    def _rendered(self, headers: dict[str, str]) -> tuple[dict[str, str], bytes]:
        if len(self._lines) >= 64:  # callers passing a fresh dict each time
            self._lines.clear()
        lines = self._lines[id(headers)] = (headers, _header_lines(headers))
        return lines

    def _target(self, url: str) -> Target:
        target = self._targets[url] = Target.parse(url)
        return target

    def _reuse(self, key: tuple[str, str, int]) -> Connection | None:
        idle = self._idle.get(key)
        oldest = time.monotonic() - self.keepalive_s
        while idle:
            conn = idle.pop()
            if conn.transport is not None and not conn.transport.is_closing():
                if conn.idle_since >= oldest:
                    return conn
                conn.close()
        return None

    async def _open(self, target: Target, timeout: float) -> Connection:
        loop = asyncio.get_running_loop()
        tls = self._tls_context() if target.tls else None
        try:
            async with asyncio.timeout(timeout):
                _, conn = await loop.create_connection(
                    lambda: Connection(loop), target.host, target.port,
                    ssl=tls, server_hostname=target.host if tls else None,
                )  # fmt: skip
        except OSError as exc:
            raise ConnectFailed(_why(exc)) from exc
        return conn

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls

    def give_back(self, key: tuple[str, str, int], conn: Connection) -> None:
        """Keep ``conn`` for the next request to ``key`` if its exchange ended cleanly."""
        if not conn.reusable:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        self._idle.setdefault(key, []).append(conn)

    async def close(self) -> None:
        """Close every idle connection (those in use close when their caller releases them)."""
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()
        await asyncio.sleep(0)
