"""The upstream HTTP client against raw loopback servers that answer and misbehave."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from modelyard.serve.http_exchange import CoalescingTransport
from modelyard.serve.upstream_http import ConnectFailed, Disconnected, HttpPool

Handler = Callable[[bytes, asyncio.StreamWriter], Awaitable[None]]
JSON_ANSWER = (
    b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"ok":true}'
)
HEADERS = {"Content-Type": "application/json", "Authorization": "Bearer sk-up"}


class RawServer:
    """A loopback server handing each request (head and body) to ``handler``."""

    def __init__(self, handler: Handler, tls: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.tls = tls
        self.connections = 0
        self.requests: list[bytes] = []
        self.closed = asyncio.Event()

    async def __aenter__(self) -> RawServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                await self.handler(request, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            self.closed.set()
        writer.close()


async def answer_json(request: bytes, writer: asyncio.StreamWriter) -> None:
    writer.write(JSON_ANSWER)


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 20))


def test_keep_alive_reuses_one_connection_and_sends_headers() -> None:
    async def test() -> None:
        async with RawServer(answer_json) as server:
            pool = HttpPool()
            url = f"http://127.0.0.1:{server.port}/v1/chat/completions"
            for _ in range(3):
                response = await pool.post(url, HEADERS, b'{"a":1}', 5)
                assert (response.status, await response.read()) == (200, b'{"ok":true}')
                assert response.headers["content-type"] == "application/json"
                response.release()
            await pool.close()
        assert server.connections == 1
        first = server.requests[0]
        assert first.startswith(b"POST /v1/chat/completions HTTP/1.1\r\n")
        assert f"Host: 127.0.0.1:{server.port}\r\n".encode() in first
        assert b"Authorization: Bearer sk-up\r\n" in first and first.endswith(b'\r\n\r\n{"a":1}')

    run(test)


def test_chunked_stream_arrives_piece_by_piece() -> None:
    release = asyncio.Event()

    async def chunked(request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nfirst\r\n")
        await release.wait()
        writer.write(b"6\r\nsecond\r\n0\r\n\r\n")

    async def test() -> None:
        async with RawServer(chunked) as server:
            pool = HttpPool()
            response = await pool.post(f"http://127.0.0.1:{server.port}/x", HEADERS, b"{}", 5)
            assert await response.read_chunk() == b"first"
            release.set()
            assert await response.read_chunk() == b"second"
            assert await response.read_chunk() == b""
            response.release()
            again = await pool.post(f"http://127.0.0.1:{server.port}/x", HEADERS, b"{}", 5)
            again.release()
            await pool.close()
        assert server.connections == 1

    run(test)


def test_a_body_ended_by_close_is_read_whole_and_not_reused() -> None:
    async def until_close(request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nall of it")
        writer.close()

    async def test() -> None:
        async with RawServer(until_close) as server:
            pool = HttpPool()
            for _ in range(2):
                response = await pool.post(f"http://127.0.0.1:{server.port}/x", HEADERS, b"", 5)
                assert await response.read() == b"all of it"
                response.release()
            await pool.close()
        assert server.connections == 2

    run(test)


def test_reset_mid_body_raises_and_the_connection_is_dropped() -> None:
    async def reset(request: bytes, writer: asyncio.StreamWriter) -> None:
        if len(reset_count) == 0:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly ten..")
            await writer.drain()
            writer.transport.abort()
        else:
            writer.write(JSON_ANSWER)
        reset_count.append(1)

    reset_count: list[int] = []

    async def test() -> None:
        async with RawServer(reset) as server:
            pool = HttpPool()
            url = f"http://127.0.0.1:{server.port}/x"
            response = await pool.post(url, HEADERS, b"", 5)
            with pytest.raises(Disconnected):
                await response.read()
            response.release()
            second = await pool.post(url, HEADERS, b"", 5)
            assert await second.read() == b'{"ok":true}'
            second.release()
            await pool.close()
        assert server.connections == 2

    run(test)


def test_a_stream_left_mid_body_closes_its_connection() -> None:
    async def endless(request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n")

    async def test() -> None:
        async with RawServer(endless) as server:
            pool = HttpPool()
            response = await pool.post(f"http://127.0.0.1:{server.port}/x", HEADERS, b"", 5)
            assert await response.read_chunk() == b"abc"
            response.release()
            await asyncio.wait_for(server.closed.wait(), 5)
            await pool.close()

    run(test)


def test_large_bodies_survive_backpressure() -> None:
    big = bytes(range(256)) * 8192  # 2 MiB, well over the pause threshold

    async def large(request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(big) + big)

    async def test() -> None:
        async with RawServer(large) as server:
            pool = HttpPool()
            response = await pool.post(f"http://127.0.0.1:{server.port}/x", HEADERS, b"", 5)
            assert await response.read() == big
            response.release()
            await pool.close()

    run(test)


def test_refused_and_garbage_are_errors() -> None:
    async def garbage(request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SMTP ready\r\n\r\n")

    async def test() -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        pool = HttpPool()
        with pytest.raises(ConnectFailed, match="refused"):
            await pool.post(f"http://127.0.0.1:{port}/x", HEADERS, b"", 5)
        async with RawServer(garbage) as server:
            with pytest.raises(Disconnected, match="invalid HTTP"):
                await pool.post(f"http://127.0.0.1:{server.port}/x", HEADERS, b"", 5)
        with pytest.raises(ValueError, match="CR or LF"):
            await pool.post("http://127.0.0.1:1/x", {"X-Bad": "a\r\nInjected: 1"}, b"", 5)

    run(test)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_https_verifies_the_certificate_and_sends_sni(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    names: list[str | None] = []
    server_tls.sni_callback = lambda sock, name, ctx: names.append(name)

    async def test() -> None:
        async with RawServer(answer_json, tls=server_tls) as server:
            url = f"https://localhost:{server.port}/v1/embeddings"
            with pytest.raises(ConnectFailed, match="TLS"):  # the system CAs do not trust it
                await HttpPool().post(url, HEADERS, b"{}", 5)
            pool = HttpPool(tls=ssl.create_default_context(cafile=str(cert)))
            response = await pool.post(url, HEADERS, b"{}", 5)
            assert await response.read() == b'{"ok":true}'
            response.release()
            await pool.close()

    run(test)
    assert names[-1] == "localhost"


def test_coalescing_transport_sends_one_turns_writes_together() -> None:
    async def test() -> None:
        loop = asyncio.get_running_loop()
        ours, peer = socket.socketpair()
        peer.setblocking(False)
        transport, _ = await loop.connect_accepted_socket(asyncio.Protocol, ours)
        corked = CoalescingTransport(transport, loop)
        corked.write(b"head\r\n\r\n")
        corked.write(b"body")
        with pytest.raises(BlockingIOError):
            peer.recv(100)  # nothing left before the turn ended
        await asyncio.sleep(0)
        assert peer.recv(100) == b"head\r\n\r\nbody"
        corked.write(b"last")
        corked.close()
        await asyncio.sleep(0.01)
        assert peer.recv(100) == b"last"
        peer.close()

    run(test)
