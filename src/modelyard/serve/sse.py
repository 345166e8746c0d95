"""Server-sent events relayed event by event, with the usage chunk captured on the way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

SEP = b"\n\n"
DONE = b"data: [DONE]"


class SseRelay:
    """Cuts upstream bytes into whole SSE events and notes `usage` and the `[DONE]` marker.

    Only complete events are passed on, so a client never sees half an event. The `[DONE]`
    event is held back (the gateway sends it after recording the request), and when the
    gateway itself asked for usage on the client's behalf, the usage-only chunk is dropped.
    An event carrying an error is passed through ``retell`` (serve/upstream_errors.py).
    """

    def __init__(
        self, drop_usage_chunk: bool, retell: Callable[[bytes], bytes] | None = None
    ) -> None:
        self.drop_usage_chunk = drop_usage_chunk
        self.retell = retell
        self.usage: dict[str, Any] | None = None
        self.done = False
        self.events = 0
        self._buf = b""

    def feed(self, chunk: bytes) -> bytes:
        """Bytes ready for the client after ``chunk`` arrived (possibly empty)."""
        if b"\r" in chunk:
            chunk = chunk.replace(b"\r\n", b"\n")
        buf = self._buf + chunk if self._buf else chunk
        end = buf.rfind(SEP)
        if end < 0:
            self._buf = buf
            return b""
        end += len(SEP)
        ready, self._buf = buf[:end], buf[end:]
        self.events += ready.count(SEP)
        if b'"usage"' in ready or DONE in ready or b'"error"' in ready:
            ready = self._filter(ready)
        return ready

    def _filter(self, ready: bytes) -> bytes:
        kept = []
        for event in ready.split(SEP)[:-1]:
            if event.startswith(DONE):
                self.done = True
            elif b'"error"' in event and self.retell is not None:
                kept.append(self.retell(event) + SEP)
            elif not (b'"usage"' in event and self._usage_only(event)):
                kept.append(event + SEP)
        return b"".join(kept)

    def _usage_only(self, event: bytes) -> bool:
        """Record the usage in ``event``; True when it should not reach the client."""
        data = event.partition(b"data:")[2]
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            return False
        usage = chunk.get("usage") if isinstance(chunk, dict) else None
        if not usage:
            return False
        self.usage = usage
        return self.drop_usage_chunk and not chunk.get("choices")


MAX_TOKENS = 10**9
"""Token counts above this are an upstream's nonsense, not usage (they would also overflow the
ledger's integer columns and stall its inserts)."""


def usage_counts(usage: Any) -> tuple[int | None, int | None, int | None]:
    """(prompt, completion, cached) tokens from an OpenAI `usage` object; a count that is not
    a whole number from 0 to ``MAX_TOKENS`` is None."""
    if not isinstance(usage, dict):
        return None, None, None
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    return (
        _count(usage.get("prompt_tokens")),
        _count(usage.get("completion_tokens")),
        _count(cached),
    )


def _count(value: Any) -> int | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TOKENS
    return value if ok else None
