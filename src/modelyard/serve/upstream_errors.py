"""An upstream's error, retold to the client without what the upstream should not have said.

The status and the gist of the message stay (a client must learn that its prompt was too long);
what goes: the backend's own API key (some upstreams echo the credential they were sent),
anything shaped like a key or bearer token, URLs, IP addresses, file paths, e-mail addresses,
and everything after the first line (stack traces). A 401 from an upstream is the gateway's
credential failing there, not the client's: it becomes a 502.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from modelyard.serve.errors import GatewayError

MAX_MESSAGE = 300
OPENAI_TYPES = frozenset({
    "invalid_request_error", "authentication_error", "permission_error", "not_found_error",
    "rate_limit_error", "server_error", "insufficient_quota", "tokens", "requests",
})  # fmt: skip
SECRETS = re.compile(
    r"(?i)\bbearer\s+\S+"
    r"|\b(?:sk|pk|rk|api|key|tok|ghp|gho|xox[abp]|hf|AKIA)[-_][A-Za-z0-9_\-]{6,}"
    r"|\b[A-Za-z0-9_\-]{32,}\b"
)
"""Keys and tokens: a bearer credential, a prefixed key, or any 32+ character run of key
characters."""
INTERNALS = [
    (re.compile(r"\b[a-z][a-z0-9+.\-]*://\S+", re.I), "[url]"),
    (re.compile(r"\b[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+\b"), "[email]"),
    (re.compile(r"\[?\b(?:\d{1,3}\.){3}\d{1,3}\b\]?(?::\d+)?"), "[address]"),
    (re.compile(r"\[?\b(?:[0-9a-f]{1,4}:){2,7}[0-9a-f]{0,4}\b\]?(?::\d+)?", re.I), "[address]"),
    (re.compile(r"(?:~|\b[A-Za-z]:)?(?:[\\/][\w.\-]+){2,}[\\/]?"), "[path]"),
]
"""Upstream internals, each pattern linear in the message's length."""


def clean_message(message: str, secrets: tuple[str, ...] = ()) -> str:
    """``message``'s first line without secrets or internals, at most ``MAX_MESSAGE`` long."""
    text = message[: MAX_MESSAGE * 10]
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    text = text.strip().split("\n", 1)[0]
    text = SECRETS.sub("[redacted]", text)
    for pattern, mark in INTERNALS:
        text = pattern.sub(mark, text)
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def retold(status: int, body: bytes, backend: str, secrets: tuple[str, ...]) -> GatewayError:
    """The error a client gets for an upstream's non-200 answer."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        data = None
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, str):
        error = {"message": error}
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        return GatewayError(_status(status), f"backend {backend} answered HTTP {status}",
                            _kind(status, None), code=f"upstream_{status}")  # fmt: skip
    message = (
        f"backend {backend} answered HTTP {status}: {clean_message(error['message'], secrets)}"
    )
    return GatewayError(
        _status(status), message, _kind(status, error.get("type")),
        param=_short(error.get("param"), secrets), code=_short(error.get("code"), secrets),
    )  # fmt: skip


def retold_event(event: bytes, backend: str, secrets: tuple[str, ...]) -> bytes:
    """An SSE ``data:`` event carrying an error, its error retold (others unchanged)."""
    try:
        data = orjson.loads(event.partition(b"data:")[2])
    except orjson.JSONDecodeError:
        return event
    if not (isinstance(data, dict) and "error" in data):
        return event
    error = retold(500, orjson.dumps({"error": data["error"]}), backend, secrets)
    return b"data: " + orjson.dumps(error.to_openai())


def _status(status: int) -> int:
    return 502 if status in (401, 407) else status


def _kind(status: int, given: Any) -> str:
    if status in (401, 407):
        return "server_error"
    if isinstance(given, str) and given in OPENAI_TYPES:
        return given
    return "invalid_request_error" if status < 500 else "server_error"


def _short(value: Any, secrets: tuple[str, ...]) -> str | None:
    """A ``param`` or ``code`` worth passing on: a short name, cleaned."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or len(value) > 64:
        return None
    return clean_message(value, secrets) or None
