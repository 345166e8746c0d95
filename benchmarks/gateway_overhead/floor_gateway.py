"""The floor of a Python gateway, for reference: raw ASGI + one upstream client, nothing else.

No validation, no routing table, no retries, no ledger, no metrics: it reads the body, sets the
model, forwards it, and relays the answer (SSE chunk by chunk). modelyard minus this is what
modelyard's own features cost; this minus the direct call is what the server + client cost.

``FLOOR_CLIENT`` picks the upstream client: ``aiohttp`` (one ClientSession) or ``own``
(modelyard's ``serve.upstream_http.HttpPool``, the client the gateway ships).

    UPSTREAM=http://127.0.0.1:9100/v1 FLOOR_CLIENT=own python floor_gateway.py --port 9200

``--http own`` (the default) serves it with modelyard's server protocol under uvicorn, the
stack `yard serve` runs on; ``--http httptools`` with uvicorn's own protocol.
"""

from __future__ import annotations

import argparse
import os

import aiohttp
import orjson
import uvicorn

from modelyard.serve import ConnectionLimits, HttpPool, protocol_for

UPSTREAM = os.environ.get("UPSTREAM", "http://127.0.0.1:9100/v1") + "/chat/completions"
CLIENT = os.environ.get("FLOOR_CLIENT", "aiohttp")
HEADERS = {"Content-Type": "application/json"}
client: aiohttp.ClientSession | HttpPool | None = None


async def lifespan(receive, send) -> None:
    global client
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            if CLIENT == "own":
                client = HttpPool()
            else:
                client = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
            await send({"type": "lifespan.startup.complete"})
        else:
            await client.close()
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
    relay = relay_own if CLIENT == "own" else relay_aiohttp
    await relay(orjson.dumps(payload), payload.get("stream"), send)


async def relay_aiohttp(data: bytes, stream: bool, send) -> None:
    async with client.post(UPSTREAM, data=data, headers=HEADERS) as answer:
        kind = answer.headers["Content-Type"].encode()
        if not stream:
            await send_whole(send, answer.status, kind, await answer.read())
            return
        await send_start(send, kind)
        async for chunk in answer.content.iter_any():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


async def relay_own(data: bytes, stream: bool, send) -> None:
    answer = await client.post(UPSTREAM, HEADERS, data, 5.0)
    try:
        kind = answer.headers["content-type"].encode()
        if not stream:
            await send_whole(send, answer.status, kind, await answer.read())
            return
        await send_start(send, kind)
        while chunk := await answer.read_chunk():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    finally:
        answer.release()


async def send_whole(send, status: int, kind: bytes, data: bytes) -> None:
    start = [(b"content-type", kind), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": start})
    await send({"type": "http.response.body", "body": data})


async def send_start(send, kind: bytes) -> None:
    start = [(b"content-type", kind)]
    await send({"type": "http.response.start", "status": 200, "headers": start})


def main() -> None:
    """``floor_gateway.py --port N [--http own|httptools]``: under uvicorn with modelyard's
    server protocol (``own``, as `yard serve` runs) or uvicorn's own."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--http", choices=["own", "httptools"], default="own")
    args = parser.parse_args()
    http = protocol_for(ConnectionLimits()) if args.http == "own" else "httptools"
    uvicorn.run(app, port=args.port, loop="uvloop", http=http, access_log=False,
                log_level="warning")  # fmt: skip


if __name__ == "__main__":
    main()
