"""An async OpenAI-compatible chat client with retries and the result store in front of it."""

from __future__ import annotations

import asyncio
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

from modelyard.errors import MissingExtraError
from modelyard.eval.schema import Completion, GenerateParams, Target
from modelyard.eval.store import ResultStore, request_key
from modelyard.retry import backoff_delay, retry_after_seconds

if TYPE_CHECKING:
    import aiohttp

RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
MAX_WAIT_S = 60.0
"""Longest wait before a retry, whatever Retry-After asks for."""


class RetryableError(Exception):
    """A failure worth retrying (rate limit, server error, lost connection)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def payload(model: str, messages: list[dict[str, str]], params: GenerateParams) -> dict[str, Any]:
    """The /chat/completions request body; unset optional parameters are left out."""
    body: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "temperature": params.temperature,
        "max_tokens": params.max_tokens,
    }
    if params.seed is not None:
        body["seed"] = params.seed
    if params.top_p is not None:
        body["top_p"] = params.top_p
    return body


class ChatClient:
    """Sends chat completions, retrying 429/5xx with exponential backoff, storing every reply.

    Args:
        store: where finished replies are kept and looked up first.
        api_key: bearer token, when the endpoint needs one.
        retries: attempts after the first one.
        backoff_s: first backoff delay; doubles per attempt (``modelyard.retry``).
        timeout_s: per-request timeout.
    """

    def __init__(
        self,
        store: ResultStore,
        api_key: str | None = None,
        retries: int = 5,
        backoff_s: float = 0.5,
        timeout_s: float = 600.0,
    ) -> None:
        self.store = store
        self.retries = retries
        self.backoff_s = backoff_s
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._timeout_s = timeout_s
        self._session: aiohttp.ClientSession | None = None
        self._aiohttp: Any = None
        """The aiohttp module, imported on entry (it is an optional dependency)."""
        self.requests = 0
        self.cached = 0
        self.retried = 0

    async def __aenter__(self) -> ChatClient:
        try:
            import aiohttp
        except ImportError as exc:
            raise MissingExtraError("aiohttp", "serve", "yard eval's HTTP client") from exc
        self._aiohttp = aiohttp
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self._timeout_s),
            headers=self._headers,
            connector=aiohttp.TCPConnector(limit=0),
        )
        return self

    async def __aexit__(
        self, *exc: type[BaseException] | BaseException | TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()

    async def complete(
        self, target: Target, messages: list[dict[str, str]], params: GenerateParams
    ) -> Completion:
        """The reply to ``messages`` from ``target``: stored, or fetched (and then stored)."""
        body = payload(target.model, messages, params)
        key = request_key(
            target.base_url,
            target.model,
            messages,
            {k: v for k, v in body.items() if k not in ("model", "messages")},
        )
        stored = self.store.get(key)
        if stored is not None:
            self.cached += 1
            return stored
        reply = await self._with_retries(target, body)
        if reply.error is None:
            self.store.put(key, target.model, reply)
        return reply

    async def _with_retries(self, target: Target, body: dict[str, Any]) -> Completion:
        self.requests += 1
        for attempt in range(self.retries + 1):
            try:
                return await self._post(target, body)
            except RetryableError as exc:
                if attempt == self.retries:
                    return Completion(error=f"{exc} (after {attempt + 1} attempts)")
                self.retried += 1
                delay = backoff_delay(attempt, self.backoff_s, exc.retry_after, MAX_WAIT_S)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def _post(self, target: Target, body: dict[str, Any]) -> Completion:
        assert self._session is not None, "use ChatClient as an async context manager"
        url = target.base_url.rstrip("/") + "/chat/completions"
        started = time.perf_counter()
        try:
            async with self._session.post(url, json=body) as response:
                if response.status in RETRY_STATUS:
                    raise RetryableError(
                        f"HTTP {response.status} from {url}",
                        retry_after_seconds(response.headers.get("Retry-After")),
                    )
                if response.status >= 400:
                    text = await response.text()
                    return Completion(error=f"HTTP {response.status} from {url}: {text[:300]}")
                data = await response.json(content_type=None)
        except (self._aiohttp.ClientError, TimeoutError) as exc:
            raise RetryableError(f"{type(exc).__name__} talking to {url}: {exc}") from exc
        return _completion(data, time.perf_counter() - started)


def _completion(data: dict[str, Any], latency_s: float) -> Completion:
    try:
        text = data["choices"][0]["message"].get("content") or ""
    except (KeyError, IndexError, TypeError, AttributeError):
        return Completion(error=f"reply has no choices[0].message: {str(data)[:300]}")
    usage = data.get("usage") or {}
    return Completion(
        text=text,
        prompt_tokens=usage.get("prompt_tokens"),
        completion_tokens=usage.get("completion_tokens"),
        latency_s=latency_s,
    )
