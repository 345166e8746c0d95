"""A fake OpenAI upstream that misbehaves at fixed rates, for the soak (loopback only).

    python fault_upstream.py --port 9200 [--error-rate 0.02] [--slow-rate 0.01] [--reset-rate 0.005]

Per request, at random: a 503 (``--error-rate``), a 200 after 200 ms (``--slow-rate``), a dropped
connection (``--reset-rate``), else a normal chat.completion after ``--delay-ms``.
"""

from __future__ import annotations

import argparse
import asyncio
import random

import orjson
from aiohttp import web

ANSWER = orjson.dumps(
    {
        "id": "chatcmpl-soak", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "Hello! How can I help?"}}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21},
    }
)  # fmt: skip
ERROR = orjson.dumps({"error": {"message": "injected", "type": "server_error"}})


def handler(args: argparse.Namespace):
    async def handle(request: web.Request) -> web.StreamResponse:
        await request.read()
        roll = random.random()
        if roll < args.error_rate:
            return web.Response(body=ERROR, status=503, content_type="application/json")
        roll -= args.error_rate
        if roll < args.reset_rate:
            request.transport.close()  # type: ignore[union-attr]
            return web.Response()
        roll -= args.reset_rate
        await asyncio.sleep(0.2 if roll < args.slow_rate else args.delay_ms / 1000)
        return web.Response(body=ANSWER, content_type="application/json")

    return handle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--error-rate", type=float, default=0.02)
    parser.add_argument("--slow-rate", type=float, default=0.01)
    parser.add_argument("--reset-rate", type=float, default=0.005)
    parser.add_argument("--delay-ms", type=float, default=5.0)
    args = parser.parse_args()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", handler(args))
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
