"""The most a request can cost: what it holds against its key's budget while it runs.

Prompt tokens are bounded from above without a tokenizer: one per UTF-8 byte of the text the
request carries (no byte-level BPE or SentencePiece tokenizer makes more tokens than bytes),
plus ``TEMPLATE_TOKENS`` per message and per request for the chat template and ``MEDIA_TOKENS``
per image, audio or file part. Completion tokens are ``max_tokens`` (or
``max_completion_tokens``) times ``n``; without one, the backend's context window, else
``server.reserve_output_tokens``. A backend
priced by the hour may run for its whole ``total`` timeout. A request that may go to several
backends (a fallback chain, ``auto``'s candidates) holds the dearest; a cascade may call each
candidate in turn, so it holds their sum.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson

from modelyard.serve.backends import Backend
from modelyard.serve.pricing import Rate

TEMPLATE_TOKENS = 8
"""Chat-template tokens around each message, and around the whole prompt (Llama 3's template:
5 per message, then the begin-of-text token and 4 for the assistant's header)."""
MEDIA_TOKENS = 2048
"""The most one image, audio or file part is taken to add (OpenAI: 1,105 tokens for a
2048×2048 image at high detail; Llama 3.2 Vision: 1,601 per tile set)."""


def prompt_bound(payload: Mapping[str, Any]) -> int:
    """An upper bound on the prompt tokens of a validated chat, completions or embeddings
    request."""
    messages = payload.get("messages")
    if isinstance(messages, list):
        total = TEMPLATE_TOKENS + sum(TEMPLATE_TOKENS + _message_bytes(m) for m in messages)
        for field in ("tools", "functions"):
            if payload.get(field):
                total += len(orjson.dumps(payload[field]))
        return total
    return _prompt_bytes(payload.get("prompt", payload.get("input")))


def _message_bytes(message: Mapping[str, Any]) -> int:
    content = message.get("content")
    total = _text_bytes(content) if isinstance(content, str) else 0
    if isinstance(content, list):
        for part in content:
            text = part.get("text") or part.get("refusal")
            total += _text_bytes(text) if isinstance(text, str) else MEDIA_TOKENS
    for call in message.get("tool_calls") or ():
        total += len(orjson.dumps(call))
    return total + _text_bytes(message.get("name") or "")


def _prompt_bytes(prompt: Any) -> int:
    """Tokens a completions prompt or embeddings input can hold: bytes of text, or ids."""
    if isinstance(prompt, str):
        return _text_bytes(prompt)
    if isinstance(prompt, list):
        return sum(1 if isinstance(p, int) else _prompt_bytes(p) for p in prompt)
    return 0


def _text_bytes(text: str) -> int:
    return len(text.encode("utf-8", "replace")) if not text.isascii() else len(text)


def completion_bound(payload: Mapping[str, Any], window: int | None, ceiling: int) -> int:
    """The most completion tokens a request can make on a backend with context ``window``."""
    asked = payload.get("max_completion_tokens")
    if asked is None:
        asked = payload.get("max_tokens")
    per_choice = asked if isinstance(asked, int) else (window or ceiling)
    choices = max(payload.get("n") or 1, payload.get("best_of") or 1)
    return per_choice * choices


def backend_cost(backend: Backend, rate: Rate, prompt: int, completion: int) -> float:
    """The most one request with these token bounds can cost on ``backend``."""
    tokens = (prompt * rate.input_per_mtok + completion * rate.output_per_mtok) / 1e6
    return tokens + backend.config.timeouts.total * rate.usd_per_hour / 3600.0


def max_cost(
    payload: Mapping[str, Any],
    chains: Sequence[Iterable[Backend]],
    rates: Mapping[str, Rate],
    windows: Mapping[str, int | None],
    ceiling: int,
    *,
    completes: bool = True,
    each: bool = False,
) -> float:
    """The most ``payload`` can cost on ``chains`` (lists of backends it may go to).

    Args:
        payload: The validated request.
        chains: Each candidate's backends (one list for a plain model).
        rates: Prices by backend name.
        windows: Context windows by backend name (None: unknown).
        ceiling: Completion tokens for a request without max_tokens on an unknown window.
        completes: False for embeddings (no completion tokens).
        each: Every chain may be called in turn (a cascade): their costs add up.
    """
    prompt = prompt_bound(payload)
    costs = []
    for chain in chains:
        costs.append(max((
            backend_cost(b, rates[b.name], prompt,
                         completion_bound(payload, windows.get(b.name), ceiling)
                         if completes else 0)
            for b in chain
        ), default=0.0))  # fmt: skip
    return sum(costs) if each else max(costs, default=0.0)
