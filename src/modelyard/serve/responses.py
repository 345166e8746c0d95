"""Writing whole JSON responses and OpenAI-schema errors to an ASGI ``send``."""

from __future__ import annotations

import orjson

from modelyard.serve.errors import GatewayError
from modelyard.serve.types import Headers, Send

JSON = (b"content-type", b"application/json")


async def send_bytes(send: Send, status: int, body: bytes, headers: Headers) -> None:
    """One complete response: start (with content-length) and body."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def send_json(send: Send, status: int, data: object, headers: Headers | None = None) -> None:
    """``data`` as a JSON response."""
    await send_bytes(send, status, orjson.dumps(data), [JSON, *(headers or ())])


async def send_error(send: Send, error: GatewayError, headers: Headers | None = None) -> None:
    """``error`` in the OpenAI error schema, with its status and headers."""
    extra = [(k.lower().encode(), v.encode()) for k, v in error.headers.items()]
    await send_json(send, error.status, error.to_openai(), [*(headers or ()), *extra])
