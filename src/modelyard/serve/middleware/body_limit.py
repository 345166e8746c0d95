"""Refuse request bodies above a size limit with 413, before or while they arrive."""

from __future__ import annotations

from modelyard.serve.errors import GatewayError
from modelyard.serve.types import ASGIApp, Message, Receive, Scope, Send


def too_large(limit: int) -> GatewayError:
    """The 413 a client gets for a body over ``limit`` bytes."""
    return GatewayError(
        413,
        f"request body is larger than the gateway's limit of {limit} bytes "
        "(server.max_body_bytes in the gateway config)",
        code="request_too_large",
    )


class BodyLimitMiddleware:
    """Checks Content-Length up front and counts the bytes of chunked bodies."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                raise too_large(self.max_bytes)
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise too_large(self.max_bytes)
            return message

        await self.app(scope, limited, send)
