"""A minimal, fast OpenAI streaming endpoint for measuring load generators, not servers.

Raw asyncio protocol on uvloop, HTTP/1.1 keep-alive, one precomputed SSE answer (16 content
chunks, a finish chunk, usage, [DONE]) written in one go for every POST; GET /v1/models and
anything else answer small JSON. Run it pinned to one core:

    taskset -c 1 python fast_server.py --port 9200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re

import uvloop

CHUNKS = 16
_LENGTH = re.compile(rb"content-length:\s*(\d+)")


def _sse() -> bytes:
    def event(data: dict) -> bytes:
        return b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"

    base = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "fast"}

    def delta(i: int) -> dict:
        return {"index": 0, "delta": {"content": f"tok{i} "}, "finish_reason": None}

    parts = [event({**base, "choices": [delta(i)]}) for i in range(CHUNKS)]
    parts.append(event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]}))
    usage = {"prompt_tokens": 32, "completion_tokens": CHUNKS, "total_tokens": 32 + CHUNKS}
    parts.append(event({**base, "choices": [], "usage": usage}))
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


def _response(body: bytes, content_type: bytes) -> bytes:
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: " + content_type + b"\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: keep-alive\r\n\r\n"
    )
    return head + body


STREAM = _response(_sse(), b"text/event-stream")
MODELS = _response(
    b'{"object":"list","data":[{"id":"fast","object":"model"}]}', b"application/json"
)
OTHER = _response(b"{}", b"application/json")


class Http(asyncio.Protocol):
    """Reads requests (headers + Content-Length body) and answers each with a canned reply."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].lower()
            match = _LENGTH.search(head)
            length = int(match.group(1)) if match else 0
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            if head.startswith(b"post"):
                self.transport.write(STREAM)  # type: ignore[attr-defined]
            elif b" /v1/models" in head[:40]:
                self.transport.write(MODELS)  # type: ignore[attr-defined]
            else:
                self.transport.write(OTHER)  # type: ignore[attr-defined]


async def main(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Http, "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9200)
    uvloop.run(main(parser.parse_args().port))
