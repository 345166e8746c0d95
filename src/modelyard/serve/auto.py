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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import orjson

from modelyard.catalog import Catalog, find_model
from modelyard.catalog.schema import Model
from modelyard.config import model_cache_dir
from modelyard.errors import CatalogError
from modelyard.policy import PROPRIETARY, Policy, license_id_reasons
from modelyard.route.cascade import ReplyScorer
from modelyard.route.features import content_text, prompt_text
from modelyard.route.language import Applied, LanguageRule, LanguageRules
from modelyard.route.privacy import private_kinds
from modelyard.route.reply import mistakes
from modelyard.route.router import Candidate, Router, exclusions
from modelyard.route.training import OUTPUT_TOKENS
from modelyard.serve.backends import Backend, Backends
from modelyard.serve.config import AutoCandidate, AutoConfig, BackendConfig, GatewayConfig
from modelyard.serve.errors import GatewayError
from modelyard.serve.metrics import GatewayMetrics
from modelyard.serve.pricing import Rate
from modelyard.serve.proxy import Upstream, UpstreamRequest, open_upstream
from modelyard.serve.types import Scope
from modelyard.serve.upstream_http import HttpPool

TOKENIZER_DIR = "minilm-l6-v2"
"""Model-cache folder of the route package's embedder, whose tokenizer counts prompt tokens."""
BYTES_PER_TOKEN = 3.0
"""Without that tokenizer: one token per 3 UTF-8 bytes (English BPE averages about 4 characters
a token, so this over-counts: a context check errs on the safe side)."""
MESSAGE_TOKENS = 4
"""Chat-template tokens around each message."""
OFFLOAD_CHARS = 16_000
"""Requests with more text than this are assessed in a worker thread, off the event loop."""
OFFLOAD_REPLY_BYTES = 4_000
"""Cascade replies longer than this are validated in a worker thread (re-doing a reply's
arithmetic took up to 2 µs a character on adversarial text, 8 ms for 4 kB)."""
TRUE = ("1", "true", "yes")


def any_model(model: str) -> bool:
    """The allowance of a gateway without keys: every model."""
    return True


class TokenCounter:
    """Prompt tokens: the route package's WordPiece tokenizer when it is in the model cache,
    else a conservative estimate from the UTF-8 length."""

    def __init__(self, tokenizer: Any = None) -> None:
        self.tokenizer = tokenizer
        self.method = "wordpiece" if tokenizer is not None else "estimate"

    @classmethod
    def find(cls, cache: Path | None = None) -> TokenCounter:
        """The counter with the cached tokenizer if there is one (nothing is downloaded)."""
        path = (cache or model_cache_dir()) / TOKENIZER_DIR / "tokenizer.json"
        if not path.is_file():
            return cls()
        try:
            from tokenizers import Tokenizer
        except ImportError:
            return cls()
        tokenizer = Tokenizer.from_file(str(path))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return cls(tokenizer)

    def count(self, texts: Sequence[str]) -> int:
        """Tokens of a prompt made of ``texts`` (one per message), template tokens included."""
        overhead = MESSAGE_TOKENS * len(texts)
        if self.tokenizer is None:
            return overhead + sum(math.ceil(len(t.encode()) / BYTES_PER_TOKEN) for t in texts)
        encoded = self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return overhead + sum(len(e.ids) for e in encoded)


@dataclass(frozen=True)
class Choice:
    """A candidate model: its public name, its backends and what the constraints need."""

    model: str
    backends: list[Backend]
    candidate: Candidate
    """Named by its router label; prices, self-hosted flag, context window, capabilities."""
    known: bool
    """Whether its capabilities are known (catalog or config); unknown means none."""
    barred: tuple[str, ...] = ()
    """Why it fails `auto.license` (the same for every request)."""


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

    def private_kinds(self) -> list[str]:
        """Why the request is private: ``key``, ``declared`` or the kinds of data found."""
        if self.key_private:
            return ["key"]
        if self.declared_private:
            return ["declared"]
        return private_kinds("\n".join(self.texts))


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
        entries = auto.entries(list(config.models))
        terms = Policy(license=auto.license, monthly_active_users=auto.monthly_active_users)
        choices = [_choice(e, backends.chains[e.model], rates, catalog, terms) for e in entries]
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
    ) -> Plan:
        """Decide where a request goes; long prompts are assessed in a worker thread.

        Args:
            payload: The parsed request body.
            scope: The ASGI scope (headers).
            budget: The key's remaining USD, None when unlimited.
            allows: Whether the key may use a public model name.
            key_id: The caller's key, so sessions of different keys never share a pin.
            private: The caller's key is marked private (self-hosted candidates only).
        """
        asked = read_request(payload, scope, private)
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
        """The plan for ``asked``: constraints on every candidate, then the pick. No I/O."""
        kinds = asked.private_kinds()
        language, applied = self.languages.apply(prompt_text(asked.messages))
        tokens = self.counter.count(asked.texts)
        answer = asked.max_tokens or OUTPUT_TOKENS
        policy = Policy(capabilities=asked.needs) if asked.needs else None
        allowed, excluded, costs = [], {}, {}
        for choice in self.choices:
            c = choice.candidate
            cost = costs[choice.model] = c.cost(tokens, answer)
            fails = exclusions(c, bool(kinds), tokens + answer, policy, cost, budget, applied)
            reasons = [*choice.barred, *fails]
            if policy is not None and not choice.known:
                reasons = [r + " (capabilities unknown: set them in auto.candidates)"
                           if r.startswith("lacks") else r for r in reasons]  # fmt: skip
            if not allows(choice.model):
                reasons.append("the key may not use it")
            (excluded.__setitem__(choice.model, reasons) if reasons else allowed.append(choice))
        allowed.sort(key=lambda ch: costs[ch.model])
        verdict = {
            "private": kinds, "language": language, "needs": list(asked.needs),
            "prompt_tokens": tokens,
            "token_count": self.counter.method, "max_tokens": answer,
            "estimates": {ch.model: {"cost_usd": costs[ch.model]} for ch in allowed},
            "excluded": excluded,
        }  # fmt: skip
        first, reason = (
            self._pick(asked, allowed, pinned, verdict, applied) if allowed else (None, "")
        )
        order = [first, *(ch for ch in allowed if ch is not first)] if first else []
        if kinds:
            why = "key is private" if kinds == ["key"] else "private data"
            reason = f"{why}, self-hosted only; {reason}"
        verdict.update(chosen=first.model if first else None, reason=reason)
        return Plan(order, reason, verdict, bool(kinds), asked.json_output)

    def _pick(
        self,
        asked: Asked,
        allowed: list[Choice],
        pinned: str | None,
        verdict: dict[str, Any],
        applied: Applied | None,
    ) -> tuple[Choice, str]:
        """The first candidate to try among ``allowed`` (cheapest first), and why."""
        stays = next((ch for ch in allowed if ch.model == pinned), None)
        if stays is not None:
            return stays, "pinned to session"
        if self.config.cascade or self.router is None or len(allowed) == 1:
            favourite = self._favourite(allowed, applied)
            if favourite is not None and applied is not None:
                return favourite, f"{applied.label}: prefer {favourite.model}"
            cheapest = "cascade, cheapest first" if self.config.cascade else "cheapest allowed"
            return allowed[0], cheapest
        decision = self.router.decide(
            asked.messages, [ch.candidate for ch in allowed], max_tokens=asked.max_tokens,
            private=False, languages=self.languages or None,
        )  # fmt: skip
        for label, estimate in decision.estimates.items():
            verdict["estimates"][self.by_label[label].model]["quality"] = estimate["quality"]
        verdict["router"] = decision.reason
        threshold = self.router.artifact.threshold
        picked = self.by_label[decision.model]
        how = f"router, cheapest within {threshold:.3f} of best"
        if applied is not None and self._favourite([picked], applied):
            how += f"; {applied.label}: prefer {picked.model}"  # the router applied it
        return picked, how

    def _favourite(self, good: list[Choice], applied: Applied | None) -> Choice | None:
        """The first of ``good`` (in the order to try) the language rule prefers, or None."""
        name = applied.preferred(ch.candidate.name for ch in good) if applied else None
        return None if name is None else self.by_label[name]

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


def read_request(payload: dict[str, Any], scope: Scope, key_private: bool = False) -> Asked:
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
    text = message.get("content") if "message" in first else first.get("text")
    if text is not None and not isinstance(text, str):
        return None  # content parts: nothing here reads them
    if not (text or "").strip():
        return None if message.get("tool_calls") else "empty reply"
    if json_output:
        try:
            orjson.loads(text)
        except orjson.JSONDecodeError:
            return "reply is not valid JSON"
    confidence = reply_confidence(first) if min_logprob is not None else None
    if confidence is not None and confidence < min_logprob:
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


def language_rules(config: AutoConfig, choices: list[Choice]) -> LanguageRules:
    """``config.languages`` with each candidate named by its router label, as the router is."""
    label = {ch.model: ch.candidate.name for ch in choices}
    return LanguageRules(
        {
            key: LanguageRule(
                None if rule.allow is None else tuple(label[m] for m in rule.allow),
                tuple(label[m] for m in rule.prefer),
            )
            for key, rule in config.languages.items()
        }
    )


def _choice(
    entry: AutoCandidate,
    chain: list[Backend],
    rates: dict[str, Rate],
    catalog: Catalog,
    terms: Policy,
) -> Choice:
    """A candidate from its config entry, its first backend's price and the catalog."""
    rate = rates[chain[0].name]
    facts = [_backend_facts(b.config, rates[b.name], catalog) for b in chain]
    windows = [w for w, _, _ in facts if w]
    known = [set(caps) for _, caps, _ in facts if caps is not None]
    licenses = [_license_id(entry, catalog)] if entry.license else [lic for _, _, lic in facts]
    barred = sorted({r for lic in licenses for r in license_id_reasons(lic, terms, catalog)})
    barred = [r + " (set it in auto.candidates)" if r == "license unknown" else r for r in barred]
    caps = entry.capabilities if entry.capabilities is not None else (
        sorted(set.intersection(*known)) if known else [])  # fmt: skip
    candidate = Candidate(
        entry.label or entry.model,
        rate.input_per_mtok if entry.input_per_mtok is None else entry.input_per_mtok,
        rate.output_per_mtok if entry.output_per_mtok is None else entry.output_per_mtok,
        all(b.config.local for b in chain),
        min(windows) if windows else None,
        tuple(caps),
    )
    known_caps = entry.capabilities is not None or bool(known)
    return Choice(entry.model, chain, candidate, known_caps, tuple(barred))


def _license_id(entry: AutoCandidate, catalog: Catalog) -> str:
    """The license an entry names, checked against the catalog's.

    Raises:
        CatalogError: not a license the catalog knows, nor ``proprietary``.
    """
    lic = entry.license or ""
    if lic != PROPRIETARY and lic not in catalog.licenses:
        known = ", ".join(sorted([*catalog.licenses, PROPRIETARY]))
        raise CatalogError(f"auto candidate {entry.model}: unknown license {lic!r}; known: {known}")
    return lic


def _backend_facts(
    backend: BackendConfig, rate: Rate, catalog: Catalog
) -> tuple[int | None, list[str] | None, str | None]:
    """A backend's context window, capabilities and license, as far as the catalog knows them
    (a proprietary API offer's license is ``PROPRIETARY``)."""
    offer = catalog.apis.get(rate.source)
    names = [backend.model, backend.gguf, offer.model_id if offer else None]
    model = _catalog_model([n for n in names if n], catalog)
    caps = [k for k, v in model.capabilities.model_dump().items() if v] if model else None
    windows = [
        backend.context_size if backend.kind == "local" else None,
        offer.context_window if offer else None,
        model.context_window if model else None,
    ]
    known = [w for w in windows if w]
    lic = model.license if model else None
    if lic is None and offer is not None and not offer.open_weights:
        lic = PROPRIETARY
    return (min(known) if known else None), caps, lic


def _catalog_model(names: list[str], catalog: Catalog) -> Model | None:
    for name in names:
        try:
            return find_model(catalog, name)
        except CatalogError:
            continue
    return None


def _all_failed(name: str, last: GatewayError | None, attempts: list[str]) -> GatewayError:
    """Every candidate failed: the last failure's status, every attempt in the message."""
    status, kind, code = (
        (last.status, last.type, last.code) if last else (503, "server_error", None)
    )
    return GatewayError(
        status, f"all candidates failed for model {name!r}: {'; '.join(attempts)}", kind,
        code=code or "backend_unavailable",
    )  # fmt: skip
