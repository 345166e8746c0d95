"""The client behind `yard chat`: a conversation's next turn from the gateway, streamed."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

from modelyard.errors import BackendError


def chat(
    url: str, model: str, prompt: str, api_key: str | None = None, max_tokens: int | None = None
) -> Iterator[str]:
    """Yield the answer's text pieces as the gateway streams them.

    Raises:
        BackendError: the gateway is unreachable or answered an error.
    """
    yield from reply(url, model, [{"role": "user", "content": prompt}], api_key, max_tokens)


def reply(
    url: str,
    model: str,
    messages: list[dict[str, str]],
    api_key: str | None = None,
    max_tokens: int | None = None,
) -> Iterator[str]:
    """Yield the pieces of the gateway's next turn in the conversation ``messages``.

    Raises:
        BackendError: the gateway is unreachable or answered an error.
    """
    body: dict[str, object] = {"model": model, "stream": True, "messages": messages}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    request = urllib.request.Request(
        url.rstrip("/") + "/v1/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"}
        | ({"Authorization": f"Bearer {api_key}"} if api_key else {}),
    )
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            yield from _pieces(response)
    except urllib.error.HTTPError as exc:
        raise BackendError(f"{url}: HTTP {exc.code}: {_error_message(exc.read())}") from None
    except urllib.error.URLError as exc:
        raise BackendError(
            f"{url}: cannot connect ({exc.reason}); is `yard serve` running?"
        ) from None


def _pieces(lines: Iterator[bytes]) -> Iterator[str]:
    for line in lines:
        data = line.strip().removeprefix(b"data:").strip()
        if not line.startswith(b"data:") or data == b"[DONE]":
            continue
        chunk = json.loads(data)
        if "error" in chunk:
            raise BackendError(f"stream failed: {chunk['error'].get('message')}")
        for choice in chunk.get("choices") or ():
            yield (choice.get("delta") or {}).get("content") or ""


def _error_message(body: bytes) -> str:
    try:
        return json.loads(body)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return body[:200].decode("utf-8", "replace")
