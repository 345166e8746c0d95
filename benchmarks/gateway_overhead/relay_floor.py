"""The least a Python relay can do: no ASGI, no client library, one keep-alive upstream socket.

httptools parses the client's request, the body's model is set, the bytes go to the upstream
over one persistent connection, and its body comes back with a Content-Length (c=1 only: one
request in flight). Below this, a Python gateway on this machine cannot go; ``placement.py``
runs it on the gateway's core and on the load generator's.

    UPSTREAM=http://127.0.0.1:9100/v1 python relay_floor.py 9200
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from urllib.parse import urlsplit

import httptools
import orjson
import uvloop

RESPONSE_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
REQUEST_HEAD = (
    b"POST /v1/chat/completions HTTP/1.1\r\nhost: upstream\r\n"
    b"content-type: application/json\r\ncontent-length: %d\r\n\r\n"
)


class Parsed(asyncio.Protocol):
    """One side of the relay: TCP_NODELAY, httptools feeding ``on_body`` and completion."""

    def __init__(self, parser: type) -> None:
        self.parser = parser(self)
        self.body: list[bytes] = []
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def take_body(self) -> bytes:
        body, self.body = b"".join(self.body), []
        return body


class Upstream(Parsed):
    def __init__(self) -> None:
        super().__init__(httptools.HttpResponseParser)
        self.answer: asyncio.Future[bytes] | None = None

    def on_message_complete(self) -> None:
        self.answer.set_result(self.take_body())  # type: ignore[union-attr]

    async def post(self, data: bytes) -> bytes:
        self.answer = asyncio.get_running_loop().create_future()
        self.transport.write(REQUEST_HEAD % len(data) + data)  # type: ignore[union-attr]
        return await self.answer


class Relay(Parsed):
    upstream: Upstream

    def __init__(self) -> None:
        super().__init__(httptools.HttpRequestParser)

    def on_message_complete(self) -> None:
        asyncio.get_running_loop().create_task(self.relay(self.take_body()))

    async def relay(self, body: bytes) -> None:
        payload = orjson.loads(body)
        payload["model"] = "m"
        data = await self.upstream.post(orjson.dumps(payload))
        self.transport.write(RESPONSE_HEAD % len(data) + data)  # type: ignore[union-attr]


async def main(port: int) -> None:
    loop = asyncio.get_running_loop()
    where = urlsplit(os.environ["UPSTREAM"])
    while True:  # the upstream may still be starting
        try:
            _, Relay.upstream = await loop.create_connection(Upstream, where.hostname, where.port)
            break
        except OSError:
            await asyncio.sleep(0.1)
    server = await loop.create_server(Relay, "127.0.0.1", port)
    await server.serve_forever()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1])))
