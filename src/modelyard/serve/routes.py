"""The gateway's endpoints: /v1/* proxied upstream (serve/call.py), /v1/models, /health,
/metrics.

A proxied request's key is checked from its headers before a byte of its body is read
(``authenticate``): a client without a valid key costs a header scan and a 401, which
``middleware/failed_logins.py`` throttles per address, and leaves no ledger row.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

from modelyard.serve import logs
from modelyard.serve.auto import AutoRouter, any_model
from modelyard.serve.backends import Backends
from modelyard.serve.call import Call
from modelyard.serve.config import GatewayConfig
from modelyard.serve.errors import GatewayError
from modelyard.serve.keys import Hold, KeyInfo
from modelyard.serve.ledger import LedgerEntry
from modelyard.serve.metrics import GatewayMetrics
from modelyard.serve.middleware.request_id import request_id
from modelyard.serve.models import ModelList, Windows
from modelyard.serve.pricing import Rate
from modelyard.serve.private_data import PrivateData
from modelyard.serve.responses import JSON, send_bytes, send_json
from modelyard.serve.types import Receive, Scope, Send

METRICS_TYPE = (b"content-type", b"text/plain; version=0.0.4; charset=utf-8")
MODEL_PREFIX = "/v1/models/"


class KeyAuthority(Protocol):
    """What the gateway needs from the key store (serve/keys.py)."""

    def identify(self, authorization_header: str | None) -> KeyInfo | None: ...
    def admit(self, info: KeyInfo, model: str, reserve_usd: float = 0.0) -> Hold | None: ...
    def settle(self, hold: Hold | None, tokens: int, cost_usd: float | None) -> None: ...
    def remaining_usd(self, info: KeyInfo) -> float | None: ...


class LedgerLike(Protocol):
    def record(self, entry: LedgerEntry) -> None: ...


@dataclass
class GatewayState:
    """What every request handler reads; built once per worker by ``app.create_app``."""

    config: GatewayConfig
    backends: Backends
    metrics: GatewayMetrics
    rates: dict[str, Rate]
    models: ModelList
    windows: Windows
    """Public model -> backend -> context window."""
    ledger: LedgerLike | None = None
    keys: KeyAuthority | None = None
    auto: AutoRouter | None = None
    private_data: PrivateData | None = None


@dataclass(frozen=True)
class Endpoint:
    """One proxied OpenAI endpoint."""

    name: str
    upstream_path: str
    can_stream: bool


CHAT = Endpoint("chat.completions", "/chat/completions", True)
COMPLETIONS = Endpoint("completions", "/completions", True)
EMBEDDINGS = Endpoint("embeddings", "/embeddings", False)


def authenticate(state: GatewayState, scope: Scope) -> KeyInfo | None:
    """The caller's key, from the headers alone (None on an open gateway). A refusal is
    counted in the metrics and logged (no ledger row: it stores nothing of the request).

    Raises:
        GatewayError: 401 missing, unknown or revoked key.
    """
    if state.keys is None:
        return None
    started = time.perf_counter()
    try:
        return state.keys.identify(header(scope, b"authorization"))
    except GatewayError as exc:
        elapsed = time.perf_counter() - started
        state.metrics.request("unknown", "none", exc.status, elapsed, 0, 0)
        logs.request({"request_id": request_id(scope), "key": None, "path": scope["path"],
                      "status": exc.status, "error": exc.code,
                      "latency_ms": round(elapsed * 1000, 3)})  # fmt: skip
        raise


def route_for(endpoint: Endpoint):
    """The ASGI-style handler proxying ``endpoint``."""

    async def handle(state: GatewayState, scope: Scope, receive: Receive, send: Send) -> None:
        key = authenticate(state, scope)
        await Call(state, endpoint, scope, key).run(receive, send)

    return handle


def header(scope: Scope, name: bytes) -> str | None:
    """One request header's value, decoded."""
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


async def list_models(state: GatewayState, scope: Scope, receive: Receive, send: Send) -> None:
    """GET /v1/models: the public names the caller's key may use, with context windows."""
    key = authenticate(state, scope)
    allowed = key.models if key is not None else None
    body = state.models.listing(allowed, key.allows if key is not None else any_model)
    await send_bytes(send, 200, body, [JSON])


async def retrieve_model(state: GatewayState, scope: Scope, receive: Receive, send: Send) -> None:
    """GET /v1/models/{id}: one model, or 404 as for a model the key may not use."""
    key = authenticate(state, scope)
    name = scope["path"][len(MODEL_PREFIX) :]
    found = state.models.one(name)
    if found is None or (key is not None and not key.allows(name)):
        raise GatewayError(404, f"The model '{name}' does not exist", param="model",
                           code="model_not_found")  # fmt: skip
    await send_json(send, 200, found)


async def health(state: GatewayState, scope: Scope, receive: Receive, send: Send) -> None:
    """GET /health: 200 while every model has a backend to try, else 503; per-backend detail."""
    backends = state.backends
    detail = {name: b.health() for name, b in backends.by_name.items()}
    usable = {n for n, info in detail.items() if info["available"]}
    ok = all(any(b.name in usable for b in chain) for chain in backends.chains.values())
    body = {"status": "ok" if ok else "degraded", "backends": detail}
    await send_json(send, 200 if ok else 503, body)


async def metrics(state: GatewayState, scope: Scope, receive: Receive, send: Send) -> None:
    """GET /metrics: Prometheus text format."""
    await send_bytes(send, 200, state.metrics.render(), [METRICS_TYPE])


def handlers() -> dict[str, tuple[str, Any]]:
    """Path -> (method, handler) of every fixed path; ``/v1/models/{id}`` is matched apart."""
    return {
        "/v1/chat/completions": ("POST", route_for(CHAT)),
        "/v1/completions": ("POST", route_for(COMPLETIONS)),
        "/v1/embeddings": ("POST", route_for(EMBEDDINGS)),
        "/v1/models": ("GET", list_models),
        "/health": ("GET", health),
        "/metrics": ("GET", metrics),
    }
