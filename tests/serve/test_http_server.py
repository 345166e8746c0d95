"""The gateway's HTTP server protocol (serve/http_server.py) under a real uvicorn on loopback."""

from __future__ import annotations

import asyncio
import socket

import uvicorn

from modelyard.serve.http_server import DISCONNECT_HOOKS, GatewayHttpProtocol
from modelyard.serve.types import Receive, Scope, Send

REQUEST = b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n"


async def _serve(app, client_job, **config) -> None:
    """Run ``app`` under uvicorn with the gateway's protocol; call ``client_job(port)``."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, http=GatewayHttpProtocol, lifespan="off",
                            log_level="critical", access_log=False, **config)  # fmt: skip
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


async def _echo(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers with the method, path and whole body; ``/chunks`` in three chunks."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    answer = b"%s %s %s" % (scope["method"].encode(), scope["path"].encode(), body)
    if scope["path"] == "/chunks":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for part in (b"a", b"bb", b""):
            await send({"type": "http.response.body", "body": part, "more_body": part != b""})
        return
    length = [(b"content-length", str(len(answer)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": length})
    await send({"type": "http.response.body", "body": answer})


def _exchange(app, request: bytes, until: bytes = b"", **config) -> bytes:
    """Send ``request`` raw; read until ``until`` appears or the server closes."""
    seen = bytearray()

    async def job(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        while not until or until not in seen:
            data = await asyncio.wait_for(reader.read(65536), 5)
            if not data:
                break
            seen.extend(data)
        writer.close()

    asyncio.run(_serve(app, job, **config))
    return bytes(seen)


def test_pipelined_requests_are_answered_in_order() -> None:
    answer = _exchange(_echo, b"GET /a HTTP/1.1\r\nHost: t\r\n\r\nPOST /b HTTP/1.1\r\nHost: t\r\n"
                       b"Content-Length: 3\r\n\r\nxyzGET /c HTTP/1.1\r\nHost: t\r\n\r\n",
                       until=b"GET /c ")  # fmt: skip
    assert [b.split(b"\r\n\r\n")[1] for b in answer.split(b"HTTP/1.1 200 OK")[1:]] == [
        b"GET /a ",
        b"POST /b xyz",
        b"GET /c ",
    ]


def test_a_chunked_request_body_arrives_whole_and_a_response_without_length_is_chunked() -> None:
    request = (b"POST /chunks HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")  # fmt: skip
    answer = _exchange(_echo, request, until=b"0\r\n\r\n")
    assert b"transfer-encoding: chunked" in answer
    assert answer.endswith(b"\r\n\r\n1\r\na\r\n2\r\nbb\r\n0\r\n\r\n")
    request = request.replace(b"/chunks", b"/whole")
    assert _exchange(_echo, request, until=b"abcde").endswith(b"POST /whole abcde")


def test_expect_100_continue_is_answered_before_the_body_is_read() -> None:
    async def job(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n"
                     b"Expect: 100-continue\r\n\r\n")  # fmt: skip
        assert await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5) == (
            b"HTTP/1.1 100 Continue\r\n\r\n"
        )
        writer.write(b"ok")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 200") and await reader.readexactly(10) == b"POST /e ok"
        writer.close()

    asyncio.run(_serve(_echo, job))


def test_head_gets_headers_only_and_http_1_0_or_connection_close_ends_the_connection() -> None:
    answer = _exchange(_echo, b"HEAD /h HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"\r\n\r\n")
    assert b"content-length: 8" in answer and b"connection: close" in answer
    answer = _exchange(_echo, b"GET /old HTTP/1.0\r\n\r\n")  # read until the server closes
    assert answer.endswith(b"GET /old ") and b"connection: close" in answer


def test_a_malformed_request_gets_400_and_the_connection_closes() -> None:
    answer = _exchange(_echo, b"GET / HTTP/1.1\r\nHost t\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 Bad Request") and b"connection: close" in answer


def test_an_app_that_fails_or_answers_nothing_or_sends_a_bad_header_gets_a_500() -> None:
    async def fails(scope: Scope, receive: Receive, send: Send) -> None:
        raise ValueError("boom")

    async def silent(scope: Scope, receive: Receive, send: Send) -> None:
        return None

    async def injects(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"x-evil", b"a\r\nset-cookie: b")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})

    for app in (fails, silent, injects):
        answer = _exchange(app, REQUEST)
        assert answer.startswith(b"HTTP/1.1 500") and answer.endswith(b"Internal Server Error")
        assert b"set-cookie" not in answer


def test_an_idle_keep_alive_connection_is_closed_after_the_timeout_a_busy_one_is_not() -> None:
    async def slow(scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.sleep(1.5 if scope["path"] == "/slow" else 0)
        await _echo(scope, receive, send)

    async def job(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /fast HTTP/1.1\r\nHost: t\r\n\r\n")
        await reader.readuntil(b"GET /fast ")
        writer.write(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")  # busy past the first timeout
        await asyncio.wait_for(reader.readuntil(b"GET /slow "), 5)
        started = asyncio.get_running_loop().time()
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the server
        assert 0.5 < asyncio.get_running_loop().time() - started < 2
        writer.close()

    asyncio.run(_serve(slow, job, timeout_keep_alive=1))
