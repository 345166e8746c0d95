"""The floor of a Python gateway, for reference: raw ASGI + one aiohttp session, nothing else.

No validation, no routing table, no retries, no ledger, no metrics: it reads the body, sets the
model, forwards it, and relays the answer (SSE chunk by chunk). modelyard minus this is what
modelyard's own features cost; this minus the direct call is what uvicorn + aiohttp cost.

    UPSTREAM=http://127.0.0.1:9100/v1 uvicorn floor_gateway:app --loop uvloop --http httptools
"""

from __future__ import annotations

import os

import aiohttp
import orjson

UPSTREAM = os.environ.get("UPSTREAM", "http://127.0.0.1:9100/v1") + "/chat/completions"
session: aiohttp.ClientSession | None = None


async def lifespan(receive, send) -> None:
    global session
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
            await send({"type": "lifespan.startup.complete"})
        else:
            await session.close()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        return await lifespan(receive, send)
    body, more = b"", True
    while more:
        message = await receive()
        body, more = body + message.get("body", b""), message.get("more_body", False)
    payload = orjson.loads(body)
    payload["model"] = "m"
    headers = {"Content-Type": "application/json"}
    async with session.post(UPSTREAM, data=orjson.dumps(payload), headers=headers) as answer:
        kind = answer.headers["Content-Type"].encode()
        if not payload.get("stream"):
            data = await answer.read()
            start = [(b"content-type", kind), (b"content-length", str(len(data)).encode())]
            await send({"type": "http.response.start", "status": answer.status, "headers": start})
            await send({"type": "http.response.body", "body": data})
            return
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", kind)]}
        )
        async for chunk in answer.content.iter_any():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
