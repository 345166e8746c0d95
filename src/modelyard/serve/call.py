"""One proxied request, from its body to its ledger row, metrics and log line.

``Call.run`` reads the body (the key was checked before: ``routes.authenticate``), parses and
validates it, admits it against the key's allow-list, rate limits and budget (holding the most
it can cost), sends it upstream and answers. Two places matter to whoever hooks into the
request path: ``UpstreamRequest.body_for`` (serve/proxy.py) builds every byte sent upstream
(the privacy step scans ``UpstreamRequest.sent``, and a redacted request's placeholders are put
in there), and ``Call._respond`` is where every answer goes back to the client (the values put
back in place of the placeholders).

Whatever happens (an answer, a refusal, an upstream failure, the client leaving, a bug), the
request ends with exactly one ledger row, one count in the metrics, one log line, and its hold
on the key released.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import orjson

from modelyard.serve import logs
from modelyard.serve.auto import any_model
from modelyard.serve.budget import max_cost
from modelyard.serve.checks import (
    check_embeddings,
    check_max_tokens,
    check_stream,
    parse_request,
    tool_takers,
    unknown_model,
)
from modelyard.serve.errors import GatewayError
from modelyard.serve.http_exchange import DISCONNECT_HOOKS
from modelyard.serve.ledger import LedgerEntry, utc_now
from modelyard.serve.middleware.request_id import request_id
from modelyard.serve.pricing import Rate
from modelyard.serve.private_data import NOT_SCANNED, StreamRestorer, restore_body
from modelyard.serve.proxy import Upstream, UpstreamRequest, open_upstream
from modelyard.serve.refusals import forbidden, private_refusal
from modelyard.serve.responses import JSON, send_bytes
from modelyard.serve.sse import SseRelay, usage_counts
from modelyard.serve.types import Headers, Receive, Scope, Send
from modelyard.serve.upstream_errors import retold, retold_event
from modelyard.serve.upstream_http import HttpError
from modelyard.serve.validate import check_request

if TYPE_CHECKING:
    from modelyard.privacy import Restorer
    from modelyard.serve.auto import Plan
    from modelyard.serve.backends import Backend
    from modelyard.serve.keys import Hold, KeyInfo
    from modelyard.serve.routes import Endpoint, GatewayState

SSE_HEADERS: Headers = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
FREE = Rate()


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

    def __init__(
        self, state: GatewayState, endpoint: Endpoint, scope: Scope, key: KeyInfo | None
    ) -> None:
        self.state = state
        self.endpoint = endpoint
        self.scope = scope
        self.key = key
        self.started = time.perf_counter()
        self.entry = LedgerEntry(id=request_id(scope), endpoint=endpoint.name)
        self.entry.key_id = key.id if key is not None else None
        self.hold: Hold | None = None
        self.route_header: list[tuple[bytes, bytes]] = []
        self.route = ""
        self.body = b""
        self.client_usage = False
        """The client asked a stream for its usage chunk itself."""
        self.forwarded = False
        self.label = "unknown"
        self.rate = FREE
        self.upstream_s = 0.0
        self.recorded = self.counted = False
        self.privacy = NOT_SCANNED
        self.restorer: Restorer | None = None

    async def run(self, receive: Receive, send: Send) -> None:
        """Validate, admit, forward with retries and fallback, answer, record."""
        try:
            request, chain = self._admit(await read_body(receive))
            request = await self._scan(request, chain)
            async with DisconnectWatch(self.scope, receive):
                upstream = await self._open(chain, request)
                try:
                    await self._respond(upstream, send)
                finally:
                    upstream.close()
        except GatewayError as exc:
            self._finish(exc.status, exc.code or exc.type)
            raise
        except ClientGone:
            self._finish(499, "client_disconnected")
        except BaseException as exc:  # a bug, or the task cancelled as the server stops
            self._finish(500 if isinstance(exc, Exception) else 499, type(exc).__name__)
            raise

    def _admit(self, body: bytes) -> tuple[UpstreamRequest, list[Backend] | None]:
        """The request checked and admitted: what to send, and the chain (None: ``auto``)."""
        self.body = body
        payload = parse_request(body)
        entry, state = self.entry, self.state
        model = entry.requested_model = payload["model"]
        entry.stream = payload.get("stream") is True
        check_request(self.endpoint.name, payload)
        check_stream(payload, self.endpoint)
        chain = state.backends.chain(model)
        auto = state.auto if state.auto is not None and model == state.auto.name else None
        if chain is None and auto is None:
            raise unknown_model(model, state)
        self.label = model
        target = state.backends.adapters.get(model)
        base = model
        if target is not None:  # a fine-tuned adapter: its backends are sent `MODEL:ADAPTER`
            base, _, entry.adapter = target.rpartition(":")
        if auto is not None:
            self._check_auto(payload)
        else:
            chain = tool_takers(chain or [], payload, model)
            self._check_named(payload, model, chain, base)
        return UpstreamRequest(self.endpoint.upstream_path, payload, target or model, entry.stream,
                               self._overrides(payload)), chain  # fmt: skip

    def _check_named(
        self, payload: dict[str, Any], model: str, chain: list[Backend], base: str
    ) -> None:
        """A named model: the key may use it (privately), it can take the request, and the
        most it can cost is held against the key's budget (``base``: the model whose context
        windows hold, an adapter's base model)."""
        key, endpoint = self.key, self.endpoint
        if key is not None and not key.allows(model):
            raise forbidden(key, model)
        remote = [b.name for b in chain if not b.config.local]
        if key is not None and key.private and remote:
            raise private_refusal(key.name, model, remote)
        if endpoint.name == "embeddings":
            check_embeddings(chain, model)
        windows = self.state.windows[base]
        check_max_tokens(payload, self.state.models.context(base))
        if key is not None:
            reserve = 0.0
            if key.budget_usd is not None:  # the most it can cost, held against the budget
                reserve = max_cost(payload, [chain], self.state.rates, windows,
                                   self.state.config.server.reserve_output_tokens,
                                   completes=endpoint.name != "embeddings")  # fmt: skip
            self.hold = self.state.keys.admit(key, model, reserve)  # type: ignore[union-attr]

    def _check_auto(self, payload: dict[str, Any]) -> None:
        """``auto``: the key may use it; it routes chat and text prompts only."""
        key, name = self.key, self.entry.requested_model or ""
        if key is not None and not key.allows(name):
            raise forbidden(key, name)
        if self.endpoint.name == "embeddings":
            raise GatewayError(400, f"'{name}' routes chat and completions only", param="model")
        prompt = payload.get("prompt")
        if isinstance(prompt, list) and not all(isinstance(p, str) for p in prompt):
            raise GatewayError(400, f"'{name}' routes text prompts; send token ids to a named "
                               "model", param="prompt")  # fmt: skip

    async def _scan(self, request: UpstreamRequest, chain: list[Backend] | None) -> UpstreamRequest:
        """The privacy verdict on the body as it will be sent (serve/private_data.py), and the
        request with its redaction; no scan when every backend it could reach is self-hosted."""
        guard, auto = self.state.private_data, self.state.auto
        if chain is None and auto is not None:
            remote = any(not ch.candidate.local for ch in auto.choices)
        else:
            remote = any(not b.config.local for b in chain or ())
        if guard is None or not remote:
            return request
        key_mode = self.key.private_data if self.key is not None else None
        verdict = await guard.check(request.sent, request.model, key_mode, len(self.body))
        self.privacy = verdict
        self.entry.route_reason = verdict.note() or None
        return replace(request, redacted=verdict.redacted)

    def _overrides(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Fields the gateway sets upstream: it always asks a stream for its usage."""
        self.client_usage = _client_wants_usage(payload)
        if not self.entry.stream or self.client_usage:
            return {}
        return {"stream_options": {**(payload.get("stream_options") or {}), "include_usage": True}}

    async def _open(self, chain: list[Backend] | None, request: UpstreamRequest) -> Upstream:
        pool = self.state.backends.pool
        assert pool is not None, "the gateway's lifespan has not started"
        self.forwarded = True
        if chain is None:
            return await self._open_auto(request)
        chain = self.privacy.chain(chain, request.model)
        t0 = time.perf_counter()
        upstream = await open_upstream(pool, chain, request, self.state.metrics)
        self.upstream_s = time.perf_counter() - t0
        self.entry.served_model = request.model
        reasons = ["; ".join(upstream.attempts) or "first in chain", self.privacy.note()]
        self.route = self.entry.route_reason = "; ".join(r for r in reasons if r)
        return self._served_by(upstream)

    async def _open_auto(self, request: UpstreamRequest) -> Upstream:
        """`auto`: decide (off the upstream clock, so the overhead metric counts it), hold the
        plan's most cost, then send."""
        state, key = self.state, self.key
        auto, keys, pool = state.auto, state.keys, state.backends.pool
        assert auto is not None and pool is not None
        budget = keys.remaining_usd(key) if keys is not None and key is not None else None
        allows = key.allows if key is not None else any_model
        private = key is not None and key.private
        local = [ch.candidate.local for ch in auto.choices]
        self.privacy.check_auto(any(local), all(local), auto.name)
        plan = await auto.plan(
            dict(request.payload), self.scope, budget, allows, self.entry.key_id, private,
            self.privacy.routing_kinds(),
        )  # fmt: skip
        if self.privacy.private:
            plan.verdict["privacy"] = self.privacy.summary()
        self.entry.route_reason = plan.ledger_json()
        if not plan.order:
            raise plan.refusal()
        if key is not None and keys is not None:
            self.hold = keys.admit(key, auto.name, self._plan_cost(plan, key, request))
        t0 = time.perf_counter()
        try:
            routed = await auto.open(pool, plan, request, state.metrics)
        finally:
            self.upstream_s = time.perf_counter() - t0
            self.entry.route_reason = plan.ledger_json()
        self.entry.served_model = routed.model
        self.route = routed.header
        self.route_header = [(b"x-yard-route", routed.header.encode("latin-1", "replace"))]
        return self._served_by(routed.upstream)

    def _plan_cost(self, plan: Plan, key: KeyInfo, request: UpstreamRequest) -> float:
        """The most ``auto``'s plan can cost (0 for a key without a budget)."""
        if key.budget_usd is None:
            return 0.0
        state = self.state
        windows: dict[str, int | None] = {}
        for choice in plan.order:
            for name, window in state.windows[choice.model].items():
                windows[name] = max(window or 0, windows.get(name) or 0) or None
        chains = [c.backends for c in plan.order]
        return max_cost(request.payload, chains, state.rates, windows,
                        state.config.server.reserve_output_tokens,
                        each=state.auto is not None and state.auto.config.cascade)  # fmt: skip

    def _served_by(self, upstream: Upstream) -> Upstream:
        backend = upstream.backend
        self.entry.backend = backend.name
        self.entry.upstream_model = backend.upstream_model(self.entry.served_model or "")
        self.rate = self.state.rates[backend.name]
        self.restorer = self.privacy.restorer(backend)
        return upstream

    async def _respond(self, upstream: Upstream, send: Send) -> None:
        """Where every upstream answer goes back to the client."""
        backend = [(b"x-yard-backend", upstream.backend.name.encode()), *self.route_header]
        if upstream.response is not None:
            await self._relay(upstream, send, backend)
            return
        status, body = upstream.status, upstream.body
        if self.restorer is not None:  # the values back in place of the placeholders
            body = restore_body(self.restorer, body)
        if status != 200:
            error = retold(status, body, upstream.backend.name, upstream.backend.secrets)
            elapsed = self._record(error.status, f"upstream_{status}")
            status, body = error.status, orjson.dumps(error.to_openai())
        else:
            data = upstream.data if isinstance(upstream.data, dict) else {}
            self._usage(data.get("usage"))
            elapsed = self._record(200, None, body)
        try:
            await send_bytes(send, status, body, [JSON, *backend])
        finally:
            self._count(status, elapsed)
        if status == 200:
            self.state.metrics.overhead.observe(elapsed - self.upstream_s)

    async def _relay(self, upstream: Upstream, send: Send, backend: Headers) -> None:
        backend_name, secrets = upstream.backend.name, upstream.backend.secrets
        relay = SseRelay(
            not self.client_usage, lambda event: retold_event(event, backend_name, secrets)
        )
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
        """Record the request and count it (an error answer, sent after this returns); it is
        counted, and its hold released, even when the ledger cannot take the row."""
        try:
            self._record(status, error)
        finally:
            self._count(status, self._elapsed())

    def _record(self, status: int, error: str | None, response: bytes | None = None) -> float:
        """Fill in the ledger row and journal it, once: the client gets the last byte only
        after. Bodies are kept (with ``log_prompts``) only for requests that were forwarded.

        Returns:
            Seconds since the request arrived.
        """
        elapsed = self._elapsed()
        if self.recorded:
            return elapsed
        self.recorded = True
        entry, state = self.entry, self.state
        prompt, completion = entry.prompt_tokens or 0, entry.completion_tokens or 0
        entry.status, entry.error_type = status, error
        entry.duration_ms = round(elapsed * 1000)
        cached = min(entry.cached_tokens or 0, prompt)
        entry.cost_usd = self.rate.cost(prompt, completion, cached, elapsed)
        if state.config.server.log_prompts and self.forwarded:
            entry.request_json = self.body.decode("utf-8", "replace")
            entry.response_json = response.decode("utf-8", "replace") if response else None
        if state.ledger is not None:
            state.ledger.record(entry)
        return elapsed

    def _count(self, status: int, elapsed: float) -> None:
        """Once: settle the key (releasing its hold), count the request in the metrics and log
        its line.

        A successful answer goes out first, taking this off its latency: nothing else runs
        between the last send and this (a send yields only when the client stops reading), so
        the next request still sees the settled budget.
        """
        if self.counted:
            return
        self.counted = True
        entry, state = self.entry, self.state
        prompt, completion = entry.prompt_tokens or 0, entry.completion_tokens or 0
        if state.keys is not None and self.hold is not None:
            state.keys.settle(self.hold, prompt + completion, entry.cost_usd)
        backend = entry.backend or "none"
        state.metrics.request(self.label, backend, status, elapsed, prompt, completion)
        if logs.SINK.requests:
            logs.SINK.queue(self._log_fields(status, elapsed))

    def _log_fields(self, status: int, elapsed: float) -> dict[str, Any]:
        entry = self.entry
        return {
            "ts": utc_now(), "level": "info", "event": "request",
            "request_id": entry.id, "key": self.key.name if self.key else None,
            "model": entry.requested_model, "served_model": entry.served_model,
            "backend": entry.backend, "endpoint": entry.endpoint, "stream": entry.stream,
            "status": status, "error": entry.error_type,
            "latency_ms": round(elapsed * 1000, 3), "ttft_ms": entry.ttft_ms,
            "prompt_tokens": entry.prompt_tokens, "completion_tokens": entry.completion_tokens,
            "cost_usd": entry.cost_usd, "route": self.route or None,
        }  # fmt: skip


async def read_body(receive: Receive) -> bytes:
    """The whole request body.

    Raises:
        ClientGone: the client left (or stalled past the body timeout) before sending it.
    """
    message = await receive()
    body = message.get("body", b"")
    while message.get("more_body"):
        message = await receive()
        body += message.get("body", b"")
    if message["type"] == "http.disconnect":
        raise ClientGone
    return body


def _restored(restore: StreamRestorer | None, events: bytes) -> bytes:
    return events if restore is None else restore.feed(events)


def _client_wants_usage(payload: dict[str, Any]) -> bool:
    options = payload.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


def stream_error(code: str, backend: str) -> bytes:
    """An SSE event carrying an OpenAI error, sent when a stream breaks after it started."""
    message = f"backend {backend} failed mid-stream ({code}); the answer is incomplete"
    error = GatewayError(502, message, "server_error", code=code)
    return b"data: " + orjson.dumps(error.to_openai()) + b"\n\n"
