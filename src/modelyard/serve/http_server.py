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
- Less work per request: no event object unless ``receive()`` has to wait, one timer per
  connection instead of one per response, the server's default headers encoded once, no
  WebSocket upgrades, no access log (the ledger records every request).
- Limits uvicorn's httptools protocol lacks (``serve/connections.py``): a deadline for the
  request line and headers (slowloris), a header size limit (431), a pause limit while a body
  arrives, a keep-alive idle timeout, and a connection limit that closes the oldest waiting
  connection before it refuses one (503). A response sent before its request's body was read
  (a refused key, say) closes the connection instead of reading the rest, unless less than
  ``DRAIN_BYTES`` is left to come.

It relies on uvicorn for the server around it: ``uvicorn.Config``, and the ``ServerState`` its
``Server`` passes each protocol (``connections``, ``tasks``, ``total_requests``,
``default_headers``), whose ``shutdown()`` it calls to drain. ``tests/serve/test_http_server.py``
holds that contract for the uvicorn versions pyproject.toml allows.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import urllib.parse
from collections import deque
from typing import Any

import httptools
from uvicorn.config import Config
from uvicorn.server import ServerState

from modelyard.serve.connections import (
    HIGH_WATER,
    ConnectionLimits,
    ConnectionTable,
    FlowControl,
    addresses,
    refusal,
    unread_bytes,
)
from modelyard.serve.http_exchange import DISCONNECT_HOOKS, CoalescingTransport, Exchange
from modelyard.serve.types import ASGIApp

LOG = logging.getLogger("uvicorn.error")
LINGER_S = 2.0
"""How long a connection closed with its request unread still drops what the client sends."""


def protocol_for(limits: ConnectionLimits) -> Any:
    """What uvicorn's ``http`` option takes: this protocol, every connection of the server
    sharing one ``ConnectionTable`` under ``limits``."""
    return functools.partial(GatewayHttpProtocol, table=ConnectionTable(limits))


class GatewayHttpProtocol(asyncio.Protocol):
    """One client connection: parses requests with httptools, runs the app for each.

    Args:
        config: uvicorn's config (the app, root path).
        server_state: uvicorn's record of connections and tasks.
        app_state: The lifespan state each request's scope gets a copy of.
        table: The server's connection limits and waiting connections (``protocol_for``);
            default: ``ConnectionLimits()`` for this connection alone.
    """

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        table: ConnectionTable | None = None,
    ) -> None:
        if not config.loaded:
            config.load()
        self.app: ASGIApp = config.loaded_app
        self.loop = _loop or asyncio.get_event_loop()
        self.root_path = config.root_path
        self.table = table or ConnectionTable(ConnectionLimits())
        self.limits = self.table.limits
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
        self.content_length = -1
        self.in_head = False
        """A request's line and headers are arriving."""
        self.head_bytes = 0
        self.answers = 0
        self.lingering = False
        """Answered and closing: what the client still sends is read and dropped."""
        self.deadline: float | None = None
        """Loop time at which the connection's current wait ends (None: the app is working)."""
        self.timer: asyncio.TimerHandle | None = None
        self._defaults: tuple[list[tuple[bytes, bytes]] | None, bytes] = (None, b"")

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self.raw = transport
        self.flow = FlowControl(transport)
        if not self.table.make_room(len(self.state.connections)):
            message = (f"the gateway holds its limit of {self.limits.max_connections} "
                       "connections (server.max_connections); retry shortly")  # fmt: skip
            transport.write(refusal(503, "too_many_connections", message, retry_after=1))
            transport.close()
            return
        self.state.connections.add(self)  # type: ignore[arg-type]
        self.transport = CoalescingTransport(transport, self.loop)
        local, peer = addresses(transport)
        self.base = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "server": local,
            "client": peer,
            "scheme": "https" if transport.get_extra_info("sslcontext") else "http",
            "root_path": self.root_path,
        }
        self.table.waiting(self, proven=False)
        self._wait_until(self.loop.time() + self.limits.header_timeout_s)

    def connection_lost(self, exc: Exception | None) -> None:
        self.state.connections.discard(self)
        self.table.busy(self)
        exchange = self.exchange
        if exchange is not None:
            exchange.client_left()
        self.flow.resume_writing()
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if exc is None:
            self.raw.close()
        self.parser = None  # type: ignore[assignment]

    def eof_received(self) -> None:
        pass

    def data_received(self, data: bytes) -> None:
        if self.lingering:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            pass  # no WebSocket or h2c upgrades: answered as plain HTTP/1.1, as uvicorn does
        except httptools.HttpParserError:
            LOG.debug("Invalid HTTP request received.")
            self._refuse(400, "invalid_http", "Invalid HTTP request received.")
            return
        if self.in_head:
            self.head_bytes += len(data)
            if self.head_bytes > self.limits.max_header_bytes:
                self._refuse(431, "request_header_fields_too_large", self._too_large_head())

    def _too_large_head(self) -> str:
        return (
            "request line and headers are larger than the gateway's limit of "
            f"{self.limits.max_header_bytes} bytes (server.max_header_bytes)"
        )

    # httptools' callbacks
    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = []
        self.expect_continue = False
        self.content_length = -1
        self.in_head, self.head_bytes = True, 0
        if self.answers and (self.exchange is None or self.exchange.complete):
            self._wait_until(self.loop.time() + self.limits.header_timeout_s)

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_continue = True
        elif name == b"content-length" and value.isdigit():
            self.content_length = int(value)
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.in_head = False
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
        exchange = Exchange(self, scope, keep_alive, self.expect_continue, self.content_length)
        if self.exchange is None or self.exchange.complete:
            self._start(exchange)
        else:
            self.flow.pause_reading()
            self.waiting.append(exchange)

    def on_body(self, body: bytes) -> None:
        exchange = self.waiting[-1] if self.waiting else self.exchange
        if exchange is not None and not exchange.complete:
            exchange.add_body(body)
            if len(exchange.body) > HIGH_WATER:
                self.flow.pause_reading()

    def on_message_complete(self) -> None:
        exchange = self.waiting[-1] if self.waiting else self.exchange
        if exchange is not None and not exchange.complete:
            exchange.end_body()

    # the app's side
    def _start(self, exchange: Exchange) -> None:
        self.exchange = exchange
        self.deadline = None
        self.table.busy(self)
        exchange.task = self.loop.create_task(exchange.run(self.app))
        self.state.tasks.add(exchange.task)

    def answered(self, exchange: Exchange, status: int) -> None:
        """``exchange``'s last byte was written: flush it, then go on (or close: the client
        asked to, or its request body was not read)."""
        self.transport.flush()
        self.state.total_requests += 1
        self.answers += 1
        if exchange.more_body and not exchange.little_left():
            self._linger()
            return
        if not exchange.keep_alive:
            self.raw.close()
            return
        if self.raw.is_closing():
            return
        self.flow.resume_reading()
        if self.waiting:
            self._start(self.waiting.popleft())
            return
        self.table.waiting(self, proven=status < 400)
        wait = self.limits.header_timeout_s if self.in_head else self.limits.keep_alive_s
        self._wait_until(self.loop.time() + wait)

    def waiting_for_body(self, waiting: bool) -> None:
        """The app waits in ``receive()`` for more of the body (True), or got it (False)."""
        if waiting:
            self._wait_until(self.loop.time() + self.limits.body_timeout_s)
        else:
            self.deadline = None

    def _wait_until(self, deadline: float) -> None:
        """End the connection's current wait at ``deadline`` (one timer per connection,
        re-armed when it fires early, replaced only when the deadline comes sooner)."""
        self.deadline = deadline
        timer = self.timer
        if timer is not None:
            if timer.when() <= deadline:
                return
            timer.cancel()
        self.timer = self.loop.call_at(deadline, self._tick)

    def _tick(self) -> None:
        self.timer = None
        deadline = self.deadline
        if deadline is None or self.raw.is_closing():
            return
        if self.loop.time() < deadline:
            self.timer = self.loop.call_at(deadline, self._tick)
            return
        if self.lingering:
            self.raw.close()
            return
        exchange = self.exchange
        if exchange is not None and not exchange.complete:
            message = f"no request body for {self.limits.body_timeout_s:g}s (server.body_timeout_s)"
        elif self.in_head or self.waiting:
            message = (
                f"request headers not complete in {self.limits.header_timeout_s:g}s "
                "(server.header_timeout_s)"
            )
        else:
            self.raw.close()  # idle: nothing to answer
            return
        self._refuse(408, "request_timeout", message)

    def _refuse(self, status: int, code: str, message: str) -> None:
        """Answer ``status`` and close; with a response under way, only close."""
        exchange = self.exchange
        if exchange is not None and exchange.started and not exchange.complete:
            self.raw.close()
            return
        if exchange is not None:
            exchange.client_left()
        self.transport.flush()
        self.raw.write(refusal(status, code, message))
        self._linger()

    def _linger(self) -> None:
        """Close once the client has read the answer: half-close, then drop what it still
        sends for up to ``LINGER_S`` (closing with unread bytes would reset the connection,
        and the client could lose the answer)."""
        self.lingering = True
        self.in_head = False
        self.flow.resume_reading()
        if self.raw.can_write_eof():
            self.raw.write_eof()
        self.table.waiting(self, proven=False)
        self._wait_until(self.loop.time() + LINGER_S)

    def evict(self) -> bool:
        """Close this waiting connection to make room for a new one (``ConnectionTable``),
        unless the bytes of a request wait in its socket, not yet read."""
        if not self.head_bytes and unread_bytes(self.raw):
            return False
        self.raw.close()
        return True

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
