"""A fast fake OpenAI-compatible endpoint on loopback, for eval tests and the throughput benchmark.

In tests it runs in a background thread (``FakeOpenAI``); ``python fake_openai.py`` runs it as a
process and prints its base URL. It counts requests and can answer 429 for the first N calls.
"""

from __future__ import annotations

import argparse
import asyncio
import threading
from collections.abc import Callable
from typing import Any

from aiohttp import web

Reply = Callable[[str, list[dict[str, str]]], str]


def fixed_reply(model: str, messages: list[dict[str, str]]) -> str:
    return "Let me think. Answer: 42"


class FakeOpenAI:
    """Answers /v1/chat/completions with ``reply(model, messages)``; GET /stats shows counters."""

    def __init__(
        self, reply: Reply = fixed_reply, delay_s: float = 0.0, fail_first: int = 0, port: int = 0
    ) -> None:
        self.reply = reply
        self.delay_s = delay_s
        self.fail_first = fail_first
        self.port = port
        self.bodies: list[dict[str, Any]] = []
        self.rejected = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/stats", self._stats)
        return app

    async def _chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        if self.rejected < self.fail_first:
            self.rejected += 1
            return web.json_response(
                {"error": {"message": "slow down"}}, status=429, headers={"Retry-After": "0.01"}
            )
        self.bodies.append(body)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        text = self.reply(body["model"], body["messages"])
        return web.json_response(
            {
                "object": "chat.completion",
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": sum(len(m["content"].split()) for m in body["messages"]),
                    "completion_tokens": len(text.split()),
                },
            }
        )

    async def _stats(self, request: web.Request) -> web.Response:
        prompts = [b["messages"][-1]["content"] for b in self.bodies]
        return web.json_response({"requests": len(self.bodies), "prompts": prompts})

    async def _start(self) -> str:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        port = self._runner.addresses[0][1]
        return f"http://127.0.0.1:{port}/v1"

    def start(self) -> str:
        """Serve from a background thread; returns the base URL."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        return asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)

    def stop(self) -> None:
        """Shut the server and its thread down."""
        assert self._loop is not None and self._runner is not None
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        assert self._thread is not None
        self._thread.join(5)
        self._loop.close()


async def _serve_forever(server: FakeOpenAI) -> None:
    print(await server._start(), flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    asyncio.run(_serve_forever(FakeOpenAI(delay_s=args.delay, port=args.port)))


if __name__ == "__main__":
    main()
