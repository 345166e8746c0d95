"""The outermost layer: each request's id, and errors answered in the OpenAI error schema.

Every response carries the request's id in x-request-id (``request_id.py``). A GatewayError
raised before the response started becomes its OpenAI error JSON; anything else a logged 500.
One layer does both because both watch the response's start, and every layer costs each
request a frame and each send a wrapper.
"""

from __future__ import annotations

import logging

from modelyard.serve.errors import GatewayError
from modelyard.serve.middleware.request_id import HEADER, SCOPE_KEY, new_id
from modelyard.serve.responses import send_error
from modelyard.serve.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("modelyard.serve")


class ErrorMiddleware:
    """Gives each HTTP request an id; answers errors raised before the response started and
    logs (and drops) those after.

    A client's own x-request-id is not reused: the id is the ledger row's primary key, and a
    client repeating one would otherwise overwrite nothing and lose its row.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        rid = scope[SCOPE_KEY] = new_id()
        id_header = (HEADER, rid.encode())
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except GatewayError as exc:
            if started:
                log.warning("error after the response started: %s", exc.message)
                return
            await send_error(send, exc, [id_header])
        except Exception:
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if not started:
                error = GatewayError(500, "internal gateway error", "server_error")
                await send_error(send, error, [id_header])
