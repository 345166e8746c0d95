"""A small closed-loop HTTP/1.1 load generator: raw asyncio protocol, keep-alive, TCP_NODELAY.

Each connection sends one request, waits for the whole response, records its latency
(and, for SSE, the time to the first ``data:`` event), and sends the next.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
from dataclasses import dataclass, field

import orjson

CONTENT_LENGTH = re.compile(rb"(?i)content-length:\s*(\d+)")
MESSAGES = [{"role": "user", "content": "Say hello in one short sentence, please."}]


def request_bytes(port: int, stream: bool) -> bytes:
    """A chat-completion POST for model ``m`` (stream or not)."""
    body = orjson.dumps({"model": "m", "messages": MESSAGES, "max_tokens": 16, "stream": stream})
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n"
        f"content-type: application/json\r\nauthorization: Bearer sk-bench\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class Client(asyncio.Protocol):
    """One connection; ``roundtrip`` resolves when a full response has arrived."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.transport = transport
        self.done: asyncio.Future | None = None

    def roundtrip(self, payload: bytes) -> asyncio.Future:
        self.buf, self.first, self.status = b"", 0.0, 0
        self.done = asyncio.get_running_loop().create_future()
        self.transport.write(payload)
        return self.done

    def data_received(self, data: bytes) -> None:
        if not self.first and b"data:" in data:
            self.first = time.perf_counter()
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        length = CONTENT_LENGTH.search(self.buf, 0, end)
        if length is not None:
            complete = len(self.buf) >= end + 4 + int(length[1])
        else:
            complete = self.buf.endswith(b"0\r\n\r\n")
        if complete and self.done is not None and not self.done.done():
            self.status = int(self.buf[9:12])
            self.done.set_result((self.status, self.first))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_exception(ConnectionError("server closed the connection"))


@dataclass
class Sample:
    """Latencies (and TTFTs for streams) in seconds, plus errors and wall time."""

    latencies: list[float] = field(default_factory=list)
    ttfts: list[float] = field(default_factory=list)
    errors: int = 0
    wall_s: float = 0.0

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.wall_s if self.wall_s else 0.0


async def _worker(port: int, payload: bytes, stop: float, count: int | None, out: Sample) -> None:
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(Client, "127.0.0.1", port)
    done = 0
    while (count is None or done < count) and time.perf_counter() < stop:
        t0 = time.perf_counter()
        try:
            status, first = await conn.roundtrip(payload)
        except ConnectionError:
            out.errors += 1
            _, conn = await loop.create_connection(Client, "127.0.0.1", port)
            continue
        t1 = time.perf_counter()
        if status != 200:
            out.errors += 1
        else:
            out.latencies.append(t1 - t0)
            if first:
                out.ttfts.append(first - t0)
        done += 1
    conn.transport.close()


async def run_load(
    port: int, concurrency: int, seconds: float, stream: bool = False, count: int | None = None
) -> Sample:
    """Run ``concurrency`` closed-loop connections for ``seconds`` (or ``count`` each)."""
    payload = request_bytes(port, stream)
    out = Sample()
    start = time.perf_counter()
    stop = start + seconds
    await asyncio.gather(*(_worker(port, payload, stop, count, out) for _ in range(concurrency)))
    out.wall_s = time.perf_counter() - start
    return out
