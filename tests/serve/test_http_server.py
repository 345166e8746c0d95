"""The gateway's HTTP server protocol (serve/http_server.py) under a real uvicorn on loopback."""

from __future__ import annotations

import asyncio
import re
import socket
from pathlib import Path

import uvicorn
from uvicorn.server import ServerState

from modelyard.serve.connections import ConnectionLimits
from modelyard.serve.http_exchange import DISCONNECT_HOOKS
from modelyard.serve.http_server import GatewayHttpProtocol, protocol_for
from modelyard.serve.types import Receive, Scope, Send

REQUEST = b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n"
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


async def _serve(app, client_job, **limits) -> None:
    """Run ``app`` under uvicorn with the gateway's protocol and ``limits``; call
    ``client_job(port)``."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    http = protocol_for(ConnectionLimits(**limits))
    config = uvicorn.Config(app, http=http, lifespan="off", log_level="critical",
                            access_log=False)  # fmt: skip
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


def _exchange(app, request: bytes, until: bytes = b"", **limits) -> bytes:
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

    asyncio.run(_serve(app, job, **limits))
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

    asyncio.run(_serve(slow, job, keep_alive_s=1))


async def _read_all(reader: asyncio.StreamReader, timeout: float = 5) -> bytes:
    """Everything until the server closes the connection."""
    return await asyncio.wait_for(reader.read(), timeout)


def test_slow_or_silent_headers_are_cut_off_at_the_header_timeout() -> None:
    async def job(port: int) -> None:
        loop = asyncio.get_running_loop()
        silent = await asyncio.open_connection("127.0.0.1", port)
        slow_reader, slow_writer = await asyncio.open_connection("127.0.0.1", port)
        started = loop.time()
        for byte in b"GET /x HTTP/1.1\r\nHost: t\r\nX-Slow: ":  # slowloris: a byte at a time
            slow_writer.write(bytes([byte]))
            await asyncio.sleep(0.01)
        answer = await _read_all(slow_reader)
        assert answer.startswith(b"HTTP/1.1 408") and b'"request_timeout"' in answer
        assert await _read_all(silent[0]) == b""  # closed without an answer: nothing was asked
        assert 0.9 < loop.time() - started < 3
        for writer in (silent[1], slow_writer):
            writer.close()

    asyncio.run(_serve(_echo, job, header_timeout_s=1))


def test_oversized_headers_get_431_and_the_connection_closes() -> None:
    async def job(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /x HTTP/1.1\r\nHost: t\r\nX-Big: ")
        for _ in range(64):  # 4 MiB of one header, while the server reads it
            if reader.at_eof():
                break
            writer.write(b"a" * 65536)
            await asyncio.sleep(0)
        answer = await _read_all(reader)
        assert answer.startswith(b"HTTP/1.1 431") and b"server.max_header_bytes" in answer
        writer.close()

    asyncio.run(_serve(_echo, job, max_header_bytes=8192))


def test_a_stalled_body_gets_408_and_the_app_sees_the_client_leave() -> None:
    seen: list[str] = []

    async def reader_app(scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect" or not message.get("more_body"):
                seen.append(message["type"])
                return

    async def job(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
        answer = await _read_all(reader)
        assert answer.startswith(b"HTTP/1.1 408") and b"server.body_timeout_s" in answer
        writer.close()

    asyncio.run(_serve(reader_app, job, body_timeout_s=0.5))
    assert seen == ["http.disconnect"]


def test_an_answer_sent_before_the_body_was_read_closes_the_connection() -> None:
    async def refuses(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-length", b"2")]
        await send({"type": "http.response.start", "status": 401, "headers": headers})
        await send({"type": "http.response.body", "body": b"no"})

    async def job(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        head = b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 10000000\r\n\r\n"
        writer.write(head + b"x" * 100_000)
        answer = await _read_all(reader)
        assert answer.startswith(b"HTTP/1.1 401") and answer.endswith(b"no")
        writer.close()

    asyncio.run(_serve(refuses, job))


def test_at_the_connection_limit_the_oldest_waiting_connection_makes_room() -> None:
    release = asyncio.Event()

    async def holds(scope: Scope, receive: Receive, send: Send) -> None:
        await release.wait()
        await _echo(scope, receive, send)

    async def job(port: int) -> None:
        first = await asyncio.open_connection("127.0.0.1", port)
        second = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.sleep(0.05)
        busy = await asyncio.open_connection("127.0.0.1", port)  # evicts `first`
        busy[1].write(REQUEST)
        assert await _read_all(first[0]) == b""
        await asyncio.sleep(0.05)
        third = await asyncio.open_connection("127.0.0.1", port)  # evicts `second`
        assert await _read_all(second[0]) == b""
        third[1].write(REQUEST)
        await asyncio.sleep(0.05)
        refused = await asyncio.open_connection("127.0.0.1", port)  # two busy, none waiting
        answer = await _read_all(refused[0])
        assert answer.startswith(b"HTTP/1.1 503") and b"server.max_connections" in answer
        release.set()
        for reader, writer in (busy, third):
            assert (await reader.readuntil(b"GET /x ")).startswith(b"HTTP/1.1 200")
            writer.close()
        for _, writer in (first, second, refused):
            writer.close()

    asyncio.run(_serve(holds, job, max_connections=2))


def test_content_length_with_transfer_encoding_is_refused() -> None:
    smuggled = (b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                b"GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n")  # fmt: skip
    answer = _exchange(_echo, smuggled)
    assert answer.startswith(b"HTTP/1.1 400") and b"/smuggled" not in answer


def test_uvicorn_keeps_the_contract_the_protocol_relies_on() -> None:
    """What serve/http_server.py takes from uvicorn, for the versions pyproject.toml allows
    (each tested: 0.30, 0.34, 0.40, 0.50, 0.55): the factory's keywords, the server state's
    fields, and a graceful shutdown that calls ``shutdown()`` and waits for the task."""
    pinned = re.search(r'"uvicorn>=([\d.]+),<([\d.]+)"', PYPROJECT.read_text())
    assert pinned is not None, "pyproject.toml must pin a uvicorn range"
    version = tuple(int(p) for p in uvicorn.__version__.split(".")[:2])
    low, high = (tuple(int(p) for p in v.split(".")[:2]) for v in pinned.groups())
    assert low <= version < high, f"uvicorn {uvicorn.__version__}: untested, outside {pinned[0]}"
    seen: dict[str, object] = {}
    state = ServerState()
    assert (state.connections, state.tasks, state.total_requests) == (set(), set(), 0)
    assert isinstance(state.default_headers, list)

    def factory(**kwargs: object) -> GatewayHttpProtocol:
        seen.update(kwargs)
        return GatewayHttpProtocol(**kwargs)  # type: ignore[arg-type]

    async def slow(scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.sleep(0.3)
        await _echo(scope, receive, send)

    async def main() -> bytes:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(slow, http=factory, lifespan="off", log_level="critical")
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            await asyncio.sleep(0.01)
        reader, writer = await asyncio.open_connection(*sock.getsockname())
        writer.write(REQUEST)
        await asyncio.sleep(0.1)
        assert len(server.server_state.connections) == 1 and len(server.server_state.tasks) == 1
        server.should_exit = True  # drains: the answer still comes, then the connection closes
        answer = await _read_all(reader)
        await serving
        assert server.server_state.total_requests == 1
        writer.close()
        return answer

    answer = asyncio.run(main())
    assert set(seen) >= {"config", "server_state", "app_state"}
    assert answer.startswith(b"HTTP/1.1 200") and b"connection: close" in answer
