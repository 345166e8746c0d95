"""A fast fake OpenAI upstream: raw asyncio protocol on uvloop, keep-alive, TCP_NODELAY.

Answers every POST with a fixed chat.completion (Content-Length), or, when the body asks
for ``"stream": true``, with an SSE stream: the first chunk at once, then ``--chunks - 1``
more ``--gap-ms`` apart, a usage chunk and ``[DONE]`` (chunked transfer encoding).

    python mock_upstream.py --port 9100 [--chunks 16] [--gap-ms 2]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import socket

import orjson
import uvloop

ANSWER = orjson.dumps(
    {
        "id": "chatcmpl-bench", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "Hello! How can I help?"}}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21},
    }
)  # fmt: skip
CONTENT_LENGTH = re.compile(rb"(?i)content-length:\s*(\d+)")
HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
)


def sse_chunk(data: bytes) -> bytes:
    event = b"data: " + data + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(event), event)


DELTA = sse_chunk(
    orjson.dumps({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                  "choices": [{"index": 0, "delta": {"content": "tok "}, "finish_reason": None}]})
)  # fmt: skip
USAGE = sse_chunk(
    orjson.dumps({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                  "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 16}})
)  # fmt: skip
DONE = sse_chunk(b"[DONE]") + b"0\r\n\r\n"


class Upstream(asyncio.Protocol):
    """One keep-alive connection; requests are answered in arrival order."""

    chunks = 16
    gap_s = 0.002

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.transport = transport
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            found = CONTENT_LENGTH.search(self.buf, 0, end)
            total = end + 4 + (int(found[1]) if found else 0)
            if len(self.buf) < total:
                return
            body, self.buf = self.buf[end + 4 : total], self.buf[total:]
            self.answer(body)

    def answer(self, body: bytes) -> None:
        if b'"stream":true' not in body.replace(b" ", b""):
            self.transport.write(HEAD % len(ANSWER) + ANSWER)
            return
        self.transport.write(SSE_HEAD + DELTA)
        asyncio.get_running_loop().create_task(self.stream_rest())

    async def stream_rest(self) -> None:
        for _ in range(self.chunks - 1):
            await asyncio.sleep(self.gap_s)
            if self.transport.is_closing():
                return
            self.transport.write(DELTA)
        self.transport.write(USAGE + DONE)


async def main(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Upstream, "127.0.0.1", port, backlog=4096)
    await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--chunks", type=int, default=16)
    parser.add_argument("--gap-ms", type=float, default=2.0)
    args = parser.parse_args()
    Upstream.chunks, Upstream.gap_s = args.chunks, args.gap_ms / 1000
    uvloop.run(main(args.port))
