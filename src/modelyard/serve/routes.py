"""The gateway's endpoints: /v1/* proxied upstream, /v1/models, /health, /metrics."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from modelyard.privacy import Mode, Restorer
from modelyard.serve.auto import AutoRouter, any_model
from modelyard.serve.backends import Backend, Backends
from modelyard.serve.config import GatewayConfig
from modelyard.serve.errors import GatewayError
from modelyard.serve.http_server import DISCONNECT_HOOKS
from modelyard.serve.keys import private_refusal
from modelyard.serve.ledger import LedgerEntry
from modelyard.serve.metrics import GatewayMetrics
from modelyard.serve.middleware.request_id import request_id
from modelyard.serve.pricing import Rate
from modelyard.serve.private_data import (
    NOT_SCANNED,
    PrivateData,
    StreamRestorer,
    Verdict,
    restore_body,
)
from modelyard.serve.proxy import Upstream, open_upstream
from modelyard.serve.responses import JSON, send_bytes, send_json
from modelyard.serve.sse import SseRelay, usage_counts
from modelyard.serve.types import Headers, Receive, Scope, Send
from modelyard.serve.upstream_http import HttpError, HttpPool

URL_FIELDS = ("api_base", "base_url", "api_key", "azure_endpoint", "api_version", "upstream_url")
"""Fields some gateways obey to pick an upstream; refused here (SSRF, key theft)."""
SSE_HEADERS: Headers = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
METRICS_TYPE = (b"content-type", b"text/plain; version=0.0.4; charset=utf-8")
FREE = Rate()


class KeyInfoLike(Protocol):
    id: str
    name: str
    private: bool
    private_data: Mode | None

    def allows(self, model: str) -> bool: ...


class KeyAuthority(Protocol):
    """What the gateway needs from the key store (serve/keys.py)."""

    def authorize(self, authorization: str | None, model: str | None) -> KeyInfoLike | None: ...
    def settle(self, key_id: str | None, tokens: int, cost_usd: float | None) -> None: ...
    def remaining_usd(self, info: Any) -> float | None: ...


class LedgerLike(Protocol):
    def record(self, entry: LedgerEntry) -> None: ...


@dataclass
class GatewayState:
    """What every request handler reads; built once per worker by ``app.create_app``."""

    config: GatewayConfig
    backends: Backends
    metrics: GatewayMetrics
    rates: dict[str, Rate]
    models_json: bytes
    ledger: LedgerLike | None = None
    keys: KeyAuthority | None = None
    auto: AutoRouter | None = None
    private_data: PrivateData | None = None


@dataclass(frozen=True)
class Endpoint:
    """One proxied OpenAI endpoint."""

    name: str
    upstream_path: str
    required: str
    can_stream: bool


CHAT = Endpoint("chat.completions", "/chat/completions", "messages", True)
COMPLETIONS = Endpoint("completions", "/completions", "prompt", True)
EMBEDDINGS = Endpoint("embeddings", "/embeddings", "input", False)


class ClientGone(Exception):
    """The client disconnected; the upstream request was cancelled."""


class DisconnectWatch:
    """Cancels the handling task when the client disconnects (which closes the upstream).

    Under modelyard's own server protocol it registers a callback in the scope's disconnect
    hooks (serve/http_server.py); under any other ASGI server a task waits in ``receive()``.
    """

    def __init__(self, scope: Scope, receive: Receive) -> None:
        self.scope = scope
        self.receive = receive
        self.gone = False

    async def __aenter__(self) -> DisconnectWatch:
        self.task = asyncio.current_task()
        self.hooks = self.scope.get(DISCONNECT_HOOKS)
        if self.hooks is not None:
            self.hooks.append(self._client_left)
            self.watcher = None
        else:
            self.watcher = asyncio.get_running_loop().create_task(self._watch())
        return self

    async def _watch(self) -> None:
        while (await self.receive())["type"] != "http.disconnect":
            pass
        self._client_left()

    def _client_left(self) -> None:
        self.gone = True
        self.task.cancel()  # type: ignore[union-attr]

    async def __aexit__(self, kind: type | None, exc: BaseException | None, tb: Any) -> None:
        # leaving the hook in the scope would make a reference cycle (scope → hook → self →
        # scope): every request's objects would wait for the garbage collector
        if self.hooks is not None:
            self.hooks.remove(self._client_left)
        if self.watcher is not None:
            self.watcher.cancel()
        if self.gone and kind is asyncio.CancelledError:
            self.task.uncancel()  # type: ignore[union-attr]
            raise ClientGone from None


class Call:
    """One proxied request, from its body to its ledger row."""

    def __init__(self, state: GatewayState, endpoint: Endpoint, scope: Scope) -> None:
        self.state = state
        self.endpoint = endpoint
        self.scope = scope
        self.started = time.perf_counter()
        self.entry = LedgerEntry(id=request_id(scope), endpoint=endpoint.name)
        self.key: KeyInfoLike | None = None
        self.key_id: str | None = None
        self.route_header: list[tuple[bytes, bytes]] = []
        self.client_usage = False
        self.body = b""
        self.label = "unknown"
        self.rate = FREE
        self.upstream_s = 0.0
        self.privacy = NOT_SCANNED
        self.restorer: Restorer | None = None

    async def run(self, receive: Receive, send: Send) -> None:
        """Validate, authorize, forward with retries and fallback, answer, record."""
        try:
            payload, chain = self._admit(await read_body(receive))
            self.privacy = await self._scan(payload, chain)
            async with DisconnectWatch(self.scope, receive):
                upstream = await self._open(chain, payload)
                try:
                    await self._respond(upstream, send)
                finally:
                    upstream.close()
        except GatewayError as exc:
            self._finish(exc.status, exc.code or exc.type)
            raise
        except ClientGone:
            self._finish(499, "client_disconnected")

    def _admit(self, body: bytes) -> tuple[dict[str, Any], list[Backend] | None]:
        self.body = body
        payload = parse_request(body, self.endpoint)
        model = payload["model"]
        entry = self.entry
        entry.requested_model, entry.stream = model, payload.get("stream") is True
        keys = self.state.keys
        if keys is not None:
            self.key = keys.authorize(header(self.scope, b"authorization"), model)
            self.key_id = entry.key_id = self.key.id if self.key is not None else None
        chain = self.state.backends.chain(model)
        target = self.state.backends.adapters.get(model)
        if target is not None:  # a fine-tuned adapter: its backends get `MODEL:ADAPTER`
            entry.adapter, payload["model"] = target.rpartition(":")[2], target
        auto = self.state.auto
        if chain is None and not (auto is not None and model == auto.name):
            raise unknown_model(model, self.state.config)
        if chain is None and self.endpoint is EMBEDDINGS:
            raise GatewayError(400, f"'{model}' routes chat and completions only", param="model")
        remote = [b.name for b in chain or () if not b.config.local]
        if self.key is not None and self.key.private and remote:
            raise private_refusal(self.key.name, model, remote)
        self.label = model
        self.client_usage = _client_wants_usage(payload)
        if entry.stream and not self.client_usage:
            payload["stream_options"] = {
                **(payload.get("stream_options") or {}),
                "include_usage": True,
            }
        return payload, chain

    async def _scan(self, payload: dict[str, Any], chain: list[Backend] | None) -> Verdict:
        """The privacy verdict on the body as it will be sent (serve/private_data.py); no scan
        when every backend the request could reach is self-hosted."""
        guard, auto = self.state.private_data, self.state.auto
        if chain is None and auto is not None:
            remote = any(not ch.candidate.local for ch in auto.choices)
        else:
            remote = any(not b.config.local for b in chain or ())
        if guard is None or not remote:
            return NOT_SCANNED
        key_mode = self.key.private_data if self.key is not None else None
        verdict = await guard.check(payload, payload["model"], key_mode, len(self.body))
        self.entry.route_reason = verdict.note() or None
        return verdict

    async def _open(self, chain: list[Backend] | None, payload: dict[str, Any]) -> Upstream:
        pool = self.state.backends.pool
        assert pool is not None, "the gateway's lifespan has not started"
        if chain is None:
            return await self._open_auto(pool, payload)
        chain = self.privacy.chain(chain, payload["model"])
        t0 = time.perf_counter()
        upstream = await open_upstream(
            pool, chain, self.endpoint.upstream_path, payload, self.entry.stream,
            self.state.metrics, self.privacy.redacted,
        )  # fmt: skip
        self.upstream_s = time.perf_counter() - t0
        self.entry.served_model = upstream.backend.upstream_model(self.entry.requested_model or "")
        reasons = ["; ".join(upstream.attempts) or "first in chain", self.privacy.note()]
        self.entry.route_reason = "; ".join(r for r in reasons if r)
        return self._served_by(upstream)

    async def _open_auto(self, pool: HttpPool, payload: dict[str, Any]) -> Upstream:
        """`auto`: decide (off the upstream clock, so the overhead metric counts it), then send."""
        auto, key, keys = self.state.auto, self.key, self.state.keys
        assert auto is not None
        budget = keys.remaining_usd(key) if keys is not None and key is not None else None
        allows = key.allows if key is not None else any_model
        private = key is not None and key.private
        local = [ch.candidate.local for ch in auto.choices]
        self.privacy.check_auto(any(local), all(local), auto.name)
        plan = await auto.plan(payload, self.scope, budget, allows, self.key_id, private,
                               self.privacy.routing_kinds())  # fmt: skip
        if self.privacy.private:
            plan.verdict["privacy"] = self.privacy.summary()
        self.entry.route_reason = plan.ledger_json()
        if not plan.order:
            raise plan.refusal()
        t0 = time.perf_counter()
        try:
            routed = await auto.open(pool, plan, self.endpoint.upstream_path, payload,
                                     self.entry.stream, self.state.metrics,
                                     self.privacy.redacted)  # fmt: skip
        finally:
            self.upstream_s = time.perf_counter() - t0
            self.entry.route_reason = plan.ledger_json()
        self.entry.served_model = routed.model
        self.route_header = [(b"x-yard-route", routed.header.encode("latin-1", "replace"))]
        return self._served_by(routed.upstream)

    def _served_by(self, upstream: Upstream) -> Upstream:
        self.entry.backend = upstream.backend.name
        self.rate = self.state.rates[upstream.backend.name]
        self.restorer = self.privacy.restorer(upstream.backend)
        return upstream

    async def _respond(self, upstream: Upstream, send: Send) -> None:
        backend = [(b"x-yard-backend", upstream.backend.name.encode()), *self.route_header]
        if upstream.response is not None:
            await self._relay(upstream, send, backend)
            return
        status = upstream.status
        if self.restorer is not None:
            upstream.body = restore_body(self.restorer, upstream.body)
        if status != 200:
            _check_upstream_error(upstream)
            elapsed = self._record(status, f"upstream_{status}")
        else:
            data = upstream.data if isinstance(upstream.data, dict) else {}
            self._usage(data.get("usage"))
            elapsed = self._record(200, None, upstream.body)
        try:
            await send_bytes(send, status, upstream.body, [JSON, *backend])
        finally:
            self._count(status, elapsed)
        if status == 200:
            self.state.metrics.overhead.observe(elapsed - self.upstream_s)

    async def _relay(self, upstream: Upstream, send: Send, backend: Headers) -> None:
        relay = SseRelay(drop_usage_chunk=not self.client_usage)
        restore = StreamRestorer(self.restorer) if self.restorer is not None else None
        await send(
            {"type": "http.response.start", "status": 200, "headers": [*SSE_HEADERS, *backend]}
        )
        status, error = 200, None
        try:
            await self._forward(_restored(restore, relay.feed(upstream.body)), send)
            response = upstream.response
            async with asyncio.timeout_at(upstream.deadline):
                while chunk := await response.read_chunk():  # type: ignore[union-attr]
                    await self._forward(_restored(restore, relay.feed(chunk)), send)
        except (TimeoutError, HttpError) as exc:
            timed_out = isinstance(exc, TimeoutError)
            status, error = (
                (504, "upstream_timeout") if timed_out else (502, "upstream_disconnected")
            )
            await self._forward(stream_error(error, upstream.backend.name), send)
        if restore is not None:
            await self._forward(restore.tail(), send)
        self._usage(relay.usage)
        elapsed = self._record(status, error)
        tail = b"data: [DONE]\n\n" if relay.done and error is None else b""
        try:
            await send({"type": "http.response.body", "body": tail, "more_body": False})
        finally:
            self._count(status, elapsed)

    async def _forward(self, data: bytes, send: Send) -> None:
        if not data:
            return
        if self.entry.ttft_ms is not None:
            await send({"type": "http.response.body", "body": data, "more_body": True})
            return
        ttft = self._elapsed()
        self.entry.ttft_ms = round(ttft * 1000)
        await send({"type": "http.response.body", "body": data, "more_body": True})
        self.state.metrics.ttft.labels(self.label).observe(ttft)

    def _usage(self, usage: dict[str, Any] | None) -> None:
        entry = self.entry
        entry.prompt_tokens, entry.completion_tokens, entry.cached_tokens = usage_counts(usage)

    def _elapsed(self) -> float:
        return time.perf_counter() - self.started

    def _finish(self, status: int, error: str | None) -> None:
        """Record the request and count it (an error answer, sent after this returns)."""
        self._count(status, self._record(status, error))

    def _record(self, status: int, error: str | None, response: bytes | None = None) -> float:
        """Fill in the ledger row and journal it: the client gets the last byte only after.

        Returns:
            Seconds since the request arrived.
        """
        entry, state = self.entry, self.state
        elapsed = self._elapsed()
        prompt, completion = entry.prompt_tokens or 0, entry.completion_tokens or 0
        entry.status, entry.error_type = status, error
        entry.duration_ms = round(elapsed * 1000)
        entry.cost_usd = self.rate.cost(prompt, completion, entry.cached_tokens or 0, elapsed)
        if state.config.server.log_prompts:
            entry.request_json = self.body.decode("utf-8", "replace")
            entry.response_json = response.decode("utf-8", "replace") if response else None
        if state.ledger is not None:
            state.ledger.record(entry)
        return elapsed

    def _count(self, status: int, elapsed: float) -> None:
        """Settle the key's budget and count the request in the metrics.

        A successful answer goes out first, taking this off its latency: nothing else runs
        between the last send and this (a send yields only when the client stops reading), so
        the next request still sees the settled budget.
        """
        entry, state = self.entry, self.state
        prompt, completion = entry.prompt_tokens or 0, entry.completion_tokens or 0
        if state.keys is not None and self.key_id is not None:
            state.keys.settle(self.key_id, prompt + completion, entry.cost_usd)
        backend = entry.backend or "none"
        state.metrics.request(self.label, backend, status, elapsed, prompt, completion)


def _restored(restore: StreamRestorer | None, events: bytes) -> bytes:
    return events if restore is None else restore.feed(events)


async def read_body(receive: Receive) -> bytes:
    """The whole request body."""
    message = await receive()
    body = message.get("body", b"")
    while message.get("more_body"):
        message = await receive()
        body += message.get("body", b"")
    return body


def header(scope: Scope, name: bytes) -> str | None:
    """One request header's value, decoded."""
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def parse_json(body: bytes) -> Any:
    """The body as JSON, or a 400 that says why not."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise GatewayError(
            400, f"request body is not valid JSON: {exc}", code="invalid_json"
        ) from None


def parse_request(body: bytes, endpoint: Endpoint) -> dict[str, Any]:
    """The request as a dict, checked for the few fields the gateway routes on."""
    payload = parse_json(body)
    if not isinstance(payload, dict):
        raise GatewayError(400, "request body must be a JSON object", code="invalid_json")
    if not isinstance(payload.get("model"), str) or not payload["model"]:
        raise GatewayError(400, "you must provide a model parameter (a string)", param="model")
    if endpoint.required not in payload:
        raise GatewayError(400, f"missing required parameter: '{endpoint.required}'",
                           param=endpoint.required, code="missing_required_parameter")  # fmt: skip
    if endpoint.required == "messages" and not (
        isinstance(payload["messages"], list) and payload["messages"]
    ):
        raise GatewayError(400, "'messages' must be a non-empty array", param="messages")
    _check_stream(payload, endpoint)
    for field in URL_FIELDS:
        if field in payload:
            raise GatewayError(
                400, f"'{field}' is not accepted: the gateway's config chooses upstreams and keys",
                param=field, code="forbidden_parameter",
            )  # fmt: skip
    return payload


def _check_stream(payload: dict[str, Any], endpoint: Endpoint) -> None:
    stream = payload.get("stream", False)
    if not isinstance(stream, bool):
        raise GatewayError(400, "'stream' must be true or false", param="stream")
    if stream and not endpoint.can_stream:
        raise GatewayError(400, f"{endpoint.name} does not stream", param="stream")


def _client_wants_usage(payload: dict[str, Any]) -> bool:
    options = payload.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


def unknown_model(model: str, config: GatewayConfig) -> GatewayError:
    """The 404 OpenAI answers for a model it does not serve, listing ours."""
    served = ", ".join(sorted([*config.models, *([config.auto.name] if config.auto else [])]))
    return GatewayError(
        404, f"The model '{model}' does not exist on this gateway; it serves: {served}",
        param="model", code="model_not_found",
    )  # fmt: skip


def _check_upstream_error(upstream: Upstream) -> None:
    """Pass an upstream's OpenAI-style error through; wrap anything else."""
    try:
        data = orjson.loads(upstream.body)
    except orjson.JSONDecodeError:
        data = None
    if not (isinstance(data, dict) and isinstance(data.get("error"), dict | str)):
        raise GatewayError(
            upstream.status, f"backend {upstream.backend.name} answered HTTP {upstream.status}",
            "upstream_error", code=f"upstream_{upstream.status}",
        )  # fmt: skip


def stream_error(code: str, backend: str) -> bytes:
    """An SSE event carrying an OpenAI error, sent when a stream breaks after it started."""
    message = f"backend {backend} failed mid-stream ({code}); the answer is incomplete"
    error = GatewayError(502, message, "server_error", code=code)
    return b"data: " + orjson.dumps(error.to_openai()) + b"\n\n"


def route_for(endpoint: Endpoint):
    """The ASGI-style handler proxying ``endpoint``."""

    async def handle(state: GatewayState, scope: Scope, receive: Receive, send: Send) -> None:
        await Call(state, endpoint, scope).run(receive, send)

    return handle


async def list_models(state: GatewayState, scope: Scope, receive: Receive, send: Send) -> None:
    """GET /v1/models: public names and, where the catalog knows it, the context window."""
    if state.keys is not None:
        state.keys.authorize(header(scope, b"authorization"), None)
    await send_bytes(send, 200, state.models_json, [JSON])


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
