"""Connection-level limits of the gateway's HTTP server (serve/http_server.py): how long a client
may take to send its headers, how large they may be, how long an idle connection stays, and how
many connections one process holds.

A connection that holds no request in progress is *waiting*. Waiting connections are kept in
two queues, oldest first: those that never got a successful answer (fresh ones, silent sockets,
clients refused with a 4xx) and those that did (a keyed client's idle keep-alive connection).
When the process is at ``max_connections``, a new connection closes the oldest waiting one,
fresh ones first, passing over one whose request has arrived but not yet been read (several
connections are accepted before any is read); only when every connection has a request in
progress is the new one refused (503, then closed). So silent or slow sockets can take turns
with each other, but never the place of a client whose request is in progress.
"""

from __future__ import annotations

import asyncio
import fcntl
import http
import resource
import struct
import termios
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

FD_RESERVE = 64
"""Descriptors kept for what is not a client connection (listening socket, event loop, ledger
files, engines' pipes)."""
AUTO_MAX_CONNECTIONS = 4096
"""The most connections ``auto`` allows one process, however high the descriptor limit."""
STATUS_LINE = {
    s.value: b"HTTP/1.1 %d %s\r\n" % (s.value, s.phrase.encode()) for s in http.HTTPStatus
}
"""Every status line, encoded once."""
HIGH_WATER = 65536
"""Request body bytes buffered for the app before the socket stops being read."""
SCAN = 16
"""Waiting connections looked at, at most, to find one to close."""


@dataclass(frozen=True)
class ConnectionLimits:
    """What one client connection may take (``server.*`` in the gateway config)."""

    header_timeout_s: float = 10.0
    """A new connection's request line and headers, or the next request's once its first byte
    arrived, must be complete within this; else 408 and the connection is closed."""
    body_timeout_s: float = 30.0
    """Longest pause while the app waits for a request body; then 408 and close."""
    keep_alive_s: float = 5.0
    """An idle keep-alive connection is closed after this long without a request."""
    max_header_bytes: int = 16384
    """Request line and headers larger than this get 431 and the connection is closed."""
    max_connections: int = AUTO_MAX_CONNECTIONS
    """Connections this process holds at once (see the module's docstring)."""


def auto_max_connections() -> int:
    """Connections one process can hold within its open-file limit: half of what is left
    after ``FD_RESERVE`` (each request in progress may hold an upstream connection too), at
    most ``AUTO_MAX_CONNECTIONS``."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return AUTO_MAX_CONNECTIONS
    return max(1, min(AUTO_MAX_CONNECTIONS, (soft - FD_RESERVE) // 2))


def raise_fd_limit() -> None:
    """Raise this process's soft open-file limit to its hard limit (as Go's runtime does):
    the soft default of 1024 would cap a gateway far below what the system allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Evictable(Protocol):
    def evict(self) -> bool:
        """Close, unless a request arrived and waits to be read (then False)."""
        ...


class ConnectionTable:
    """The waiting connections of one server, by age; picks which to close at the limit.

    Args:
        limits: The server's limits.
    """

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self._fresh: OrderedDict[Evictable, None] = OrderedDict()
        self._proven: OrderedDict[Evictable, None] = OrderedDict()
        self.evicted = 0
        """Waiting connections closed to make room."""
        self.refused = 0
        """Connections refused with 503 (every one had a request in progress)."""

    def waiting(self, conn: Evictable, proven: bool) -> None:
        """``conn`` holds no request now (``proven``: its last answer was a success)."""
        (self._proven if proven else self._fresh)[conn] = None

    def busy(self, conn: Evictable) -> None:
        """``conn`` has a request in progress (or is gone): it may not be evicted."""
        if conn in self._fresh:
            del self._fresh[conn]
        else:
            self._proven.pop(conn, None)

    def make_room(self, open_connections: int) -> bool:
        """Close the oldest waiting connection if ``open_connections`` is at the limit.

        Returns:
            False when at the limit with nothing to close: the new connection is refused.
        """
        if open_connections < self.limits.max_connections:
            return True
        for queue in (self._fresh, self._proven):
            for _ in range(min(len(queue), SCAN)):
                victim, _ = queue.popitem(last=False)
                if victim.evict():
                    self.evicted += 1
                    return True
                queue[victim] = None  # its request is about to be read: look further
        self.refused += 1
        return False


class FlowControl:
    """Reading paused while the app is behind; writing paused while the client is."""

    __slots__ = ("_transport", "_writable", "read_paused", "write_paused")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self.read_paused = False
        self.write_paused = False
        self._writable: asyncio.Event | None = None

    def pause_reading(self) -> None:
        if not self.read_paused:
            self.read_paused = True
            self._transport.pause_reading()

    def resume_reading(self) -> None:
        if self.read_paused:
            self.read_paused = False
            self._transport.resume_reading()

    def pause_writing(self) -> None:
        self.write_paused = True
        if self._writable is None:
            self._writable = asyncio.Event()
        self._writable.clear()

    def resume_writing(self) -> None:
        self.write_paused = False
        if self._writable is not None:
            self._writable.set()

    async def drain(self) -> None:
        """Until the client reads again (or the connection is gone)."""
        if self.write_paused and self._writable is not None:
            await self._writable.wait()


def refusal(status: int, code: str, message: str, retry_after: int | None = None) -> bytes:
    """A whole response the server sends itself before closing: an OpenAI-style error."""
    kind = "invalid_request_error" if status < 500 else "server_error"
    error = {"message": message, "type": kind, "param": None, "code": code}
    body = orjson.dumps({"error": error})
    head = [
        STATUS_LINE[status],
        b"content-type: application/json\r\ncontent-length: %d\r\n" % len(body),
        b"retry-after: %d\r\n" % retry_after if retry_after is not None else b"",
        b"connection: close\r\n\r\n",
    ]
    return b"".join(head) + body


def unread_bytes(transport: asyncio.Transport) -> int:
    """Bytes the client sent that this process has not read yet (one ioctl, no read)."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return 0
    try:
        return int(struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0" * 4))[0])
    except OSError:
        return 0


def addresses(transport: asyncio.Transport) -> tuple[Any, Any]:
    """(local, peer) addresses of a TCP or Unix-socket transport, as ASGI's ``server`` and
    ``client`` want them (None where there is none)."""
    sock = transport.get_extra_info("socket")
    local = peer = None
    if sock is not None:
        name = sock.getsockname()
        local = (str(name[0]), int(name[1])) if isinstance(name, tuple) else (name, None)
        try:
            peer_name = sock.getpeername()
        except OSError:
            peer_name = None
        if isinstance(peer_name, tuple):
            peer = (str(peer_name[0]), int(peer_name[1]))
    return local, peer
