"""The outermost layer: GatewayError becomes the OpenAI error JSON, anything else a logged 500."""

from __future__ import annotations

import logging

from modelyard.serve.errors import GatewayError
from modelyard.serve.middleware.request_id import HEADER, request_id
from modelyard.serve.responses import send_error
from modelyard.serve.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("modelyard.serve")


class ErrorMiddleware:
    """Answers errors raised before the response started; logs (and drops) those after."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except GatewayError as exc:
            if started:
                log.warning("error after the response started: %s", exc.message)
                return
            await send_error(send, exc, _id_header(scope))
        except Exception:
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if not started:
                error = GatewayError(500, "internal gateway error", "server_error")
                await send_error(send, error, _id_header(scope))


def _id_header(scope: Scope) -> list[tuple[bytes, bytes]]:
    rid = request_id(scope)
    return [(HEADER, rid.encode())] if rid else []
