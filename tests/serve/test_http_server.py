"""The gateway's uvicorn protocol (serve/http_server.py) under a real uvicorn on loopback."""

from __future__ import annotations

import asyncio
import socket

import uvicorn

from modelyard.serve.http_server import DISCONNECT_HOOKS, CoalescingHttpToolsProtocol
from modelyard.serve.types import Receive, Scope, Send

REQUEST = b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n"


async def _serve(app, client_job) -> None:
    """Run ``app`` under uvicorn with the gateway's protocol; call ``client_job(port)``."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, http=CoalescingHttpToolsProtocol, lifespan="off",
                            log_level="warning", access_log=False)  # fmt: skip
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        await client_job(sock.getsockname()[1])
    finally:
        server.should_exit = True
        await serving


def test_the_last_write_leaves_before_the_app_returns() -> None:
    """What the app does after its final send must not delay the answer: the bytes are on the
    client's socket while the app is still running."""
    seen: list[bytes] = []
    client = socket.socket()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-length", b"4")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"done"})
        try:
            seen.append(client.recv(4096, socket.MSG_DONTWAIT))  # still inside the app
        except BlockingIOError:
            seen.append(b"")

    async def job(port: int) -> None:
        client.connect(("127.0.0.1", port))
        client.sendall(REQUEST)
        while not seen:
            await asyncio.sleep(0.01)
        client.close()

    asyncio.run(_serve(app, job))
    assert seen[0].startswith(b"HTTP/1.1 200") and seen[0].endswith(b"done")


def test_disconnect_hooks_run_when_the_client_leaves_mid_request() -> None:
    """A callback in the scope's hooks runs when the client goes before the answer; the app
    never called receive() to learn it."""
    called = asyncio.Event()
    hooked = asyncio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        scope[DISCONNECT_HOOKS].append(called.set)
        hooked.set()
        await asyncio.wait_for(called.wait(), 5)

    async def job(port: int) -> None:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(REQUEST)
        await hooked.wait()
        writer.close()
        await asyncio.wait_for(called.wait(), 5)

    asyncio.run(_serve(app, job))
    assert called.is_set()
