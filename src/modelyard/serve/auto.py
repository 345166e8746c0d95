"""`model: "auto"`: each request goes to the cheapest configured model that may and can answer it.

Hard constraints come first, for every candidate, on every request (pinned or not): private data
(detector over all message text, the ``x-yard-private: 1`` header, a key marked private) only goes
to candidates whose backends are all self-hosted, and the fallback chain is filtered the same way;
a language rule's allow list (``auto.languages``) must name the candidate; the prompt's
tokens plus ``max_tokens`` fit the candidate's context window; the capabilities the request
needs (tools, JSON output, images) are the candidate's; its estimated cost fits the key's
remaining budget; the key may use it. Among what is left: the model pinned to the session, else
the cheapest candidate the language rule prefers among those good enough (within the router's
threshold), else the trained router's pick (``auto.router``), else the cheapest. The other allowed
candidates follow as fallbacks (cheapest first); with ``auto.cascade`` a non-streaming reply
that fails its validator moves on to the next one: an empty reply, invalid JSON where JSON was
asked for, and then the router file's reply scorer for that candidate (route/cascade.py) or,
without one, a calculation in the reply whose claimed result is wrong (route/reply.py).
"""

from __future__ import annotations

import asyncio
import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, Protocol

import orjson

from modelyard.catalog import Catalog
from modelyard.route.cascade import ReplyScorer
from modelyard.route.decision import OUTPUT_TOKENS, Decision, Facts, Rules, decide, verdict_json
from modelyard.route.features import content_text, prompt_text
from modelyard.route.language import detect_language
from modelyard.route.reply import mistakes
from modelyard.route.router import Router
from modelyard.route.tokens import TokenCounter
from modelyard.serve.auto_choices import Choice, auto_choices, language_rules
from modelyard.serve.backends import Backends
from modelyard.serve.config import AutoConfig, GatewayConfig
from modelyard.serve.errors import GatewayError
from modelyard.serve.metrics import GatewayMetrics
from modelyard.serve.pricing import Rate
from modelyard.serve.proxy import Upstream, UpstreamRequest, open_upstream
from modelyard.serve.types import Scope
from modelyard.serve.upstream_http import HttpPool

OFFLOAD_CHARS = 16_000
"""Requests with more text than this are assessed in a worker thread, off the event loop."""
OFFLOAD_REPLY_BYTES = 4_000
"""Cascade replies longer than this are validated in a worker thread (re-doing a reply's
arithmetic took up to 2 µs a character on adversarial text, 8 ms for 4 kB)."""
TRUE = ("1", "true", "yes")


def any_model(model: str) -> bool:
    """The allowance of a gateway without keys: every model."""
    return True


@dataclass(frozen=True)
class Asked:
    """What a request asks of the candidates, read once from its body and headers."""

    messages: list[dict[str, Any]]
    texts: list[str]
    needs: tuple[str, ...]
    max_tokens: int | None
    json_output: bool
    declared_private: bool
    session: str | None
    key_private: bool = False
    """The caller's key is marked private: every request of it is."""
    found: tuple[str, ...] = ()
    """Kinds of private data the gateway's scan found that keep it self-hosted
    (serve/private_data.py: none once the request is redacted)."""

    def private_kinds(self) -> list[str]:
        """Why the request is private: ``key``, ``declared`` or the kinds of data found."""
        if self.key_private:
            return ["key"]
        if self.declared_private:
            return ["declared"]
        return list(self.found)


@dataclass
class Plan:
    """The choice for one request: candidates in the order to try, and why."""

    order: list[Choice]
    reason: str
    """Short, for the x-yard-route header."""
    verdict: dict[str, Any]
    """Everything estimated and excluded, for the ledger's route_reason."""
    private: bool
    json_output: bool
    attempts: list[str] = field(default_factory=list)

    def ledger_json(self) -> str:
        """The ledger's route_reason: verdicts, estimates and every failed attempt."""
        return orjson.dumps({**self.verdict, "attempts": self.attempts}).decode()

    def refusal(self) -> GatewayError:
        """The 400 answered when every candidate is excluded, with each one's reasons."""
        why = "; ".join(f"{m}: {', '.join(r)}" for m, r in self.verdict["excluded"].items())
        return GatewayError(400, f"no model can take this request ({why})", code="no_route")


@dataclass
class Routed:
    """The answer `auto` will give: the upstream and the candidate that produced it."""

    upstream: Upstream
    model: str
    header: str


class PinStore(Protocol):
    """Where `auto` keeps session pins: this process (``SessionPins``), the parent of
    `yard serve --workers` (``hub.HubPins``) or Redis (``shared.RedisPins``)."""

    size: int
    """Sessions remembered; 0 pins nothing."""

    def get(self, session: str | None) -> str | None: ...
    def pin(self, session: str | None, model: str) -> None: ...


class SessionPins:
    """Session -> model, least recently used forgotten first, so memory stays bounded."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.pins: OrderedDict[str, str] = OrderedDict()

    def get(self, session: str | None) -> str | None:
        """The model pinned to ``session`` (refreshing it), or None."""
        if session is None or session not in self.pins:
            return None
        self.pins.move_to_end(session)
        return self.pins[session]

    def pin(self, session: str | None, model: str) -> None:
        """Pin ``session`` to ``model``, forgetting the oldest session when full."""
        if session is None or self.size == 0:
            return
        self.pins[session] = model
        self.pins.move_to_end(session)
        while len(self.pins) > self.size:
            self.pins.popitem(last=False)


class AutoRouter:
    """The `auto` public model of one gateway: candidates, optional router, session pins."""

    def __init__(
        self,
        config: AutoConfig,
        choices: list[Choice],
        router: Router | None = None,
        counter: TokenCounter | None = None,
    ) -> None:
        self.config = config
        self.name = config.name
        self.choices = choices
        self.by_label = {c.candidate.name: c for c in choices}
        self.router = router
        self.counter = counter or TokenCounter.find()
        self.pins: PinStore = SessionPins(config.session_pins)
        """This process's own, until the gateway shares them (``app.Gateway``)."""
        self.languages = language_rules(config, choices)
        threshold = router.artifact.threshold if router is not None else 0.0
        self.rules = Rules(threshold, self.languages or None, config.cascade)

    @classmethod
    def build(
        cls, config: GatewayConfig, backends: Backends, rates: dict[str, Rate], catalog: Catalog
    ) -> AutoRouter | None:
        """The router for ``config.auto`` (None when it is unset).

        Raises:
            RouterFileError: the router file is unreadable or trained for other candidates.
        """
        auto = config.auto
        if auto is None:
            return None
        choices = auto_choices(auto, list(config.models), backends, rates, catalog)
        router = None
        if auto.router is not None:
            router = Router.load(auto.router, [c.candidate.name for c in choices])
        return cls(auto, choices, router)

    async def plan(
        self,
        payload: dict[str, Any],
        scope: Scope,
        budget: float | None = None,
        allows: Callable[[str], bool] = any_model,
        key_id: str | None = None,
        private: bool = False,
        found: tuple[str, ...] = (),
    ) -> Plan:
        """Decide where a request goes; long prompts are assessed in a worker thread.

        Args:
            payload: The parsed request body.
            scope: The ASGI scope (headers).
            budget: The key's remaining USD, None when unlimited.
            allows: Whether the key may use a public model name.
            key_id: The caller's key, so sessions of different keys never share a pin.
            private: The caller's key is marked private (self-hosted candidates only).
            found: Kinds of private data found in the request (self-hosted candidates only).
        """
        asked = read_request(payload, scope, private, found)
        session = f"{key_id}:{asked.session}" if asked.session else None
        pinned = self.pins.get(session)
        decide = partial(self.decide, asked, budget, allows, pinned)
        heavy = self.router is not None and pinned is None
        big = sum(len(t) for t in asked.texts) > OFFLOAD_CHARS
        plan = await asyncio.to_thread(decide) if heavy or big else decide()
        if plan.order and pinned is None:
            self.pins.pin(session, plan.order[0].model)
        return plan

    def decide(
        self, asked: Asked, budget: float | None, allows: Callable[[str], bool], pinned: str | None
    ) -> Plan:
        """The plan for ``asked``: route/decision.py's decision over every candidate, with the
        router's predictions unless the session is pinned or the cascade decides. No I/O."""
        routed = self.router is not None and pinned is None and not self.config.cascade
        if self.router is not None and routed:
            assessment = self.router.assess(asked.messages, asked.texts)
            tokens, quality, drawn = assessment.tokens, assessment.quality, assessment.drawn
        else:
            tokens, quality, drawn = self.counter.count(asked.texts), None, None
        pin = next((ch.candidate.name for ch in self.choices if ch.model == pinned), None)
        facts = Facts(
            prompt_tokens=tokens,
            max_tokens=asked.max_tokens or OUTPUT_TOKENS,
            needs=asked.needs,
            language=detect_language(prompt_text(asked.messages)) if self.languages else None,
            private=tuple(asked.private_kinds()),
            budget=budget,
            allowed=frozenset(ch.candidate.name for ch in self.choices if allows(ch.model)),
            pinned=pin,
            quality=quality,
            drawn=drawn,
        )
        decision = decide(facts, [ch.candidate for ch in self.choices], self.rules)
        order = [self.by_label[name] for name in decision.order]
        verdict = self._verdict(decision, facts)
        return Plan(order, decision.reason, verdict, bool(facts.private), asked.json_output)

    def _verdict(self, decision: Decision, facts: Facts) -> dict[str, Any]:
        """The decision for the ledger, each candidate under its public name."""
        model = {ch.candidate.name: ch.model for ch in self.choices}
        verdict = verdict_json(decision, facts, self.counter.method)
        verdict["estimates"] = {model[k]: v for k, v in decision.estimates.items()}
        verdict["excluded"] = {model[k]: v for k, v in decision.excluded.items()}
        verdict["chosen"] = model[decision.order[0]] if decision.order else None
        return verdict

    async def open(
        self, pool: HttpPool, plan: Plan, request: UpstreamRequest, metrics: GatewayMetrics
    ) -> Routed:
        """Send the request to the plan's candidates in order until one answers (validly, with
        the cascade on); a private request only ever reaches self-hosted backends. Each
        candidate gets its own ``UpstreamRequest`` (its model, and ``logprobs`` when the
        cascade asks for them); ``request`` is not changed.

        Raises:
            GatewayError: every candidate failed.
        """
        validate = self.config.cascade and not request.stream
        probe = (
            validate
            and self.config.cascade_min_logprob is not None
            and "logprobs" not in request.payload
        )
        logprobs = True if request.path.endswith("chat/completions") else 1
        last: GatewayError | None = None
        for i, choice in enumerate(plan.order):
            chain = (
                [b for b in choice.backends if b.config.local] if plan.private else choice.backends
            )
            asked = probe and i + 1 < len(plan.order)  # the last answer is returned as it is
            overrides = {**request.overrides, "logprobs": logprobs} if asked else request.overrides
            sent = replace(request, model=choice.model, overrides=overrides)
            try:
                upstream = await open_upstream(pool, chain, sent, metrics)
            except GatewayError as exc:
                if exc.status < 500 and exc.code == "invalid_request":
                    raise  # the request itself cannot be sent: no candidate can take it
                last = exc
                plan.attempts.append(f"{choice.model}: {exc.message}")
                continue
            plan.attempts.extend(upstream.attempts)
            flaw = await self._flaw(upstream, plan, choice) if validate else None
            if flaw and i + 1 < len(plan.order):
                plan.attempts.append(f"{choice.model}: {flaw}, escalated")
                upstream.close()
                continue
            if asked:
                strip_logprobs(upstream)
            return Routed(upstream, choice.model, self._header(plan, choice.model))
        raise _all_failed(self.name, last, plan.attempts)

    async def _flaw(self, upstream: Upstream, plan: Plan, choice: Choice) -> str | None:
        """The cascade's validator on ``choice``'s reply; a long reply is read off the loop."""
        scorer = self.router.artifact.scorer(choice.candidate.name) if self.router else None
        least = self.config.cascade_min_logprob
        check = partial(reply_flaw, upstream, plan.json_output, scorer, least)
        return (
            await asyncio.to_thread(check) if len(upstream.body) > OFFLOAD_REPLY_BYTES else check()
        )

    def _header(self, plan: Plan, served: str) -> str:
        reason = plan.reason
        if served != plan.order[0].model:
            moved = "escalated" if self.config.cascade else "fell back"
            reason += f"; {moved} from {plan.order[0].model}"
        return f"{served}; reason={reason}"


def read_request(
    payload: dict[str, Any], scope: Scope, key_private: bool = False, found: tuple[str, ...] = ()
) -> Asked:
    """What the constraints need from a chat or completions request (and the caller's key)."""
    messages = payload.get("messages")
    if not isinstance(messages, list):
        prompt = payload.get("prompt")
        prompt = "\n".join(prompt) if isinstance(prompt, list) else str(prompt or "")
        messages = [{"role": "user", "content": prompt}]
    messages = [m for m in messages if isinstance(m, dict)]
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
    session = headers.get("x-yard-session") or payload.get("user")
    limit = payload.get("max_completion_tokens") or payload.get("max_tokens")
    fmt = payload.get("response_format")
    json_output = isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema")
    return Asked(
        messages=messages,
        texts=[message_text(m) for m in messages],
        needs=needed_capabilities(payload, messages, json_output),
        max_tokens=limit if isinstance(limit, int) and limit > 0 else None,
        json_output=json_output,
        declared_private=headers.get("x-yard-private", "").strip().lower() in TRUE,
        session=str(session) if session else None,
        key_private=key_private,
        found=found,
    )


def message_text(message: dict[str, Any]) -> str:
    """All the text of one message: its content and its tool calls' arguments."""
    parts = [content_text(message.get("content"))]
    for call in message.get("tool_calls") or ():
        if isinstance(call, dict) and isinstance(call.get("function"), dict):
            parts.append(str(call["function"].get("arguments", "")))
    return "\n".join(p for p in parts if p)


def needed_capabilities(
    payload: dict[str, Any], messages: list[dict[str, Any]], json_output: bool
) -> tuple[str, ...]:
    """Capabilities the request needs: tools, json_mode, vision (image content parts)."""
    needs = []
    if payload.get("tools") or payload.get("functions"):
        needs.append("tools")
    if json_output:
        needs.append("json_mode")
    if any(_has_image(m.get("content")) for m in messages):
        needs.append("vision")
    return tuple(needs)


def _has_image(content: Any) -> bool:
    return isinstance(content, list) and any(
        isinstance(p, dict) and p.get("type") in ("image_url", "input_image") for p in content
    )


def reply_flaw(
    upstream: Upstream,
    json_output: bool,
    scorer: ReplyScorer | None = None,
    min_logprob: float | None = None,
) -> str | None:
    """Why a successful non-streaming reply fails the cascade's validator, or None."""
    if upstream.status != 200 or not isinstance(upstream.data, dict):
        return None
    choices = upstream.data.get("choices") or [{}]
    first = choices[0] if isinstance(choices[0], dict) else {}
    message = first.get("message") or {}
    raw = message.get("content") if "message" in first else first.get("text")
    if raw is not None and not isinstance(raw, str):
        return None  # content parts: nothing here reads them
    text = raw or ""
    if not text.strip():
        return None if message.get("tool_calls") else "empty reply"
    if json_output:
        try:
            orjson.loads(text)
        except orjson.JSONDecodeError:
            return "reply is not valid JSON"
    confidence = reply_confidence(first) if min_logprob is not None else None
    if confidence is not None and min_logprob is not None and confidence < min_logprob:
        return f"log-probability {confidence:.2f}, below {min_logprob:.2f}"
    if scorer is None:
        wrong = mistakes(text)
        return f"wrong arithmetic: {wrong[0]}" if wrong else None
    right, least = scorer.probability(text), scorer.threshold
    return None if right >= least else f"reply scored {right:.2f}, below {least:.2f}"


def reply_confidence(choice: dict[str, Any]) -> float | None:
    """The mean log-probability of the tokens of a reply's last number (its answer, most
    often), else of all its tokens; None without log-probabilities (chat or completions layout).

    On SmolLM2's answers to small sums the last number's tokens tell right from wrong with an
    AUC of 0.68, the whole reply's with 0.52 (docs/PERFORMANCE.md)."""
    tokens = _token_logprobs(choice.get("logprobs"))
    answer: list[float] = []
    for token, logprob in reversed(tokens):
        if token.strip().isdigit():
            answer.append(logprob)
        elif answer:
            break
    values = answer or [logprob for _, logprob in tokens]
    return sum(values) / len(values) if values else None


def _token_logprobs(logprobs: Any) -> list[tuple[str, float]]:
    if not isinstance(logprobs, dict):
        return []
    if isinstance(logprobs.get("content"), list):
        pairs = [
            (t.get("token"), t.get("logprob")) for t in logprobs["content"] if isinstance(t, dict)
        ]
    else:
        tokens, values = logprobs.get("tokens") or [], logprobs.get("token_logprobs") or []
        pairs = list(zip(tokens, values, strict=False))  # an upstream may send fewer of one
    return [
        (t, float(v))
        for t, v in pairs
        if isinstance(t, str) and isinstance(v, int | float) and math.isfinite(v)
    ]


def strip_logprobs(upstream: Upstream) -> None:
    """Take the log-probabilities the gateway asked for out of the reply the client gets."""
    if isinstance(upstream.data, dict):
        for choice in upstream.data.get("choices") or ():
            if isinstance(choice, dict):
                choice.pop("logprobs", None)
        upstream.body = orjson.dumps(upstream.data)


def _all_failed(name: str, last: GatewayError | None, attempts: list[str]) -> GatewayError:
    """Every candidate failed: the last failure's status, every attempt in the message."""
    status, kind, code = (
        (last.status, last.type, last.code) if last else (503, "server_error", None)
    )
    return GatewayError(
        status, f"all candidates failed for model {name!r}: {'; '.join(attempts)}", kind,
        code=code or "backend_unavailable",
    )  # fmt: skip
