"""uvicorn's httptools protocol with its writes coalesced, and a disconnect hook for the app.

uvicorn writes a response's status line and headers as soon as the app sends
``http.response.start``, then the body in a second write: two system calls, two TCP segments,
and two wake-ups of the client for one small answer. Here the writes made during one turn of
the event loop are joined and leave together at the end of that turn, so a JSON answer (or a
stream's head and first event) goes out in one segment, and nothing waits longer than the turn.
A response's last write leaves at once: what the app does after answering (metrics, budgets,
unwinding) would otherwise run before it, on the client's clock.

ASGI tells an app that its client left only through ``receive()``, so an app that wants to know
while it waits on something else must keep a task blocked in ``receive()`` for every request.
Here each request's scope carries a list under ``DISCONNECT_HOOKS``: callbacks the app puts there
run when the connection drops before the response is complete, with no task per request.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

DISCONNECT_HOOKS = "yard.disconnect_hooks"
"""Scope key of the list of callbacks run if the client disconnects mid-request."""


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

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a :class:`CoalescingTransport`, with disconnect hooks."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]

    def on_response_complete(self) -> None:
        self.transport.flush()  # type: ignore[attr-defined]
        super().on_response_complete()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope[DISCONNECT_HOOKS] = []  # type: ignore[literal-required]

    def connection_lost(self, exc: Exception | None) -> None:
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            for hook in cycle.scope.get(DISCONNECT_HOOKS, ()):  # type: ignore[attr-defined]
                hook()
        super().connection_lost(exc)
