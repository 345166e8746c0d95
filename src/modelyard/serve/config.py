"""The gateway's YAML configuration: backends, public model names, server options.

Secrets are written as ``${ENV_NAME}`` and resolved when the file is read
(serve/config_file.py); every error names the file, the line and the field.
"""

from __future__ import annotations

import difflib
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, PrivateAttr, model_validator
from pydantic_core import PydanticCustomError

from modelyard.policy import LicensePolicy
from modelyard.privacy import Mode
from modelyard.route.language import GROUPS, SUPPORTED, known_keys
from modelyard.strict import Strict

ADAPTER_NAME = r"^[A-Za-z0-9_.-]+$"
"""A LoRA adapter's public name: no ':' (it separates base and adapter in `base:adapter`)."""
DEFAULT_MODEL = "smollm2"
Loc = tuple[str | int, ...]
"""A place in the file: keys and list indexes from the top."""
Problem = tuple[Loc, str]
"""A place in the file and what is wrong there."""


class Timeouts(Strict):
    """How long to wait on an upstream, in seconds."""

    connect: float = Field(5.0, gt=0)
    """Opening the TCP connection."""
    first_token: float = Field(60.0, gt=0)
    """From sending a streaming request to its first chunk (prefill and queueing)."""
    total: float = Field(600.0, gt=0)
    """The whole exchange; a non-streaming request has only this one."""


class Breaker(Strict):
    """When to take a failing backend out, and when to probe it back."""

    failures: int = Field(5, ge=1)
    """Consecutive failures (connection errors, timeouts, 5xx) that open the breaker."""
    cooldown_s: float = Field(30.0, gt=0)
    """Seconds the breaker stays open before one probe request is let through."""


class Supervision(Strict):
    """How a local backend's engine is watched and restarted (serve/supervisor.py)."""

    probe_every_s: float = Field(5.0, gt=0)
    """Seconds between liveness probes of the engine's /health."""
    probe_timeout_s: float = Field(2.0, gt=0)
    """How long one probe waits for an answer."""
    probe_failures: int = Field(3, ge=1)
    """Unanswered probes in a row after which the engine counts as hung and is killed."""
    first_delay_s: float = Field(1.0, ge=0)
    """Wait before the first restart; doubles after each failed or short-lived run."""
    max_delay_s: float = Field(30.0, ge=0)
    """Longest wait between restarts."""
    stable_s: float = Field(60.0, gt=0)
    """An engine up this long counts as healthy again: the next crash waits first_delay_s."""


class BackendConfig(Strict):
    """One upstream: an OpenAI-compatible server (with replicas) or a local GGUF model."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    """Name used in `models:` chains, metrics and the ledger."""
    kind: Literal["openai", "local"] = "openai"
    """`openai`: any OpenAI-compatible server; `local`: a GGUF the gateway runs itself."""
    base_url: str | None = Field(None, pattern=r"^https?://")
    """Upstream base URL including /v1 (http://10.0.0.5:8000/v1)."""
    replicas: list[str] = Field(default_factory=list)
    """Further base URLs serving the same model; balanced by least in-flight requests."""
    api_key: str | None = None
    """Sent as a bearer token to the upstream; write ${ENV_NAME}, never the key itself."""
    model: str | None = None
    """Model name the upstream expects; defaults to the public name the client asked for."""
    gguf: str | None = None
    """Local backends: what `yard pull` takes: a .gguf path, a catalog model, smollm2, ..."""
    context_size: int = Field(4096, ge=256)
    """Local backends: context window each request slot gets (what /v1/models reports)."""
    parallel: int = Field(2, ge=1, le=256)
    """Local backends: requests the engine decodes together (its slots); each slot has
    context_size tokens, so the engine allocates parallel × context_size."""
    embeddings: bool | Literal["mean", "cls", "last"] = False
    """Local backends: also serve /v1/embeddings (llama.cpp's --embeddings). `true` pools as
    the model says (embedding models declare it); a chat model declares none, so name how
    to pool its token vectors: `mean`, `cls` or `last`."""
    threads: int | None = Field(None, ge=1)
    """Local backends: CPU threads for the engine (default: the engine's choice)."""
    timeouts: Timeouts = Field(default_factory=Timeouts)
    """Connect, first-token and total timeouts."""
    max_retries: int = Field(2, ge=0, le=10)
    """Retries on this backend before falling back to the next in the chain."""
    retry_backoff_s: float = Field(0.25, ge=0)
    """First backoff delay; doubles on each retry (with jitter) unless Retry-After says more."""
    max_retry_wait_s: float = Field(10.0, ge=0)
    """A Retry-After longer than this skips straight to the next backend."""
    breaker: Breaker = Field(default_factory=Breaker)
    """Circuit breaker settings."""
    supervision: Supervision | None = None
    """Local backends: liveness probes and restart backoff of the engine (None: defaults)."""
    price: str | None = None
    """Catalog API offer id whose per-token prices cost this backend's requests."""
    usd_per_hour: float = Field(0.0, ge=0)
    """Self-hosted share: dollars per hour of request time (0 = free)."""
    self_hosted: bool = False
    """An openai backend you run yourself (vLLM on your network): `auto` may send private
    requests to it. Local backends are always self-hosted."""
    adapters: dict[
        Annotated[str, Field(pattern=ADAPTER_NAME)], Annotated[str, Field(min_length=1)]
    ] = Field(default_factory=dict)
    """LoRA adapters this upstream serves on its base model: public adapter name -> the model
    name the upstream answers to for it (vLLM `--lora-modules NAME=PATH`: NAME). Clients ask
    for `MODEL:ADAPTER`, or an `aliases:` name."""
    gpu: str | None = None
    """Self-hosted backends: the hardware it runs on, as `yard plan --gpu` takes it (1xH100,
    2xA100-80GB); the dashboard sets the planner's speed and cost for it beside the measured
    ones. Default for a local backend: this machine."""

    @model_validator(mode="after")
    def _kind_fields(self) -> BackendConfig:
        if self.kind == "openai" and not (self.base_url or self.replicas):
            raise ValueError("an openai backend needs base_url (or replicas)")
        if self.kind == "local" and not self.gguf:
            raise ValueError("a local backend needs gguf (a .gguf path or a model name)")
        if self.kind == "local" and (self.base_url or self.replicas):
            raise ValueError("a local backend gets its URL from the engine; drop base_url")
        if self.kind == "openai" and self.supervision is not None:
            raise ValueError("supervision applies to local backends (engines the gateway runs)")
        if self.kind == "openai" and self.embeddings:
            raise ValueError("embeddings applies to local backends (engines the gateway runs)")
        if self.kind == "local" and self.adapters:
            raise ValueError("adapters: serve them from vLLM or llama-server (an openai backend)")
        if self.gpu is not None and not self.local:
            raise ValueError("gpu applies to self-hosted backends (kind: local, self_hosted: true)")
        return self

    @property
    def local(self) -> bool:
        """Self-hosted: a local engine or an operator-marked `self_hosted` URL."""
        return self.kind == "local" or self.self_hosted

    @property
    def urls(self) -> list[str]:
        """Every base URL of this backend (empty for a local one until its engine starts)."""
        return [u.rstrip("/") for u in ([self.base_url] if self.base_url else []) + self.replicas]


def _network(value: object) -> IPv4Network | IPv6Network:
    """An IP address (a one-address network) or a CIDR network, from its text."""
    if not isinstance(value, str):
        raise ValueError(f"expected an IP address or CIDR network as text, got {value!r}")
    try:
        return ip_network(value)
    except ValueError as exc:
        raise ValueError(f"{exc}; write an address (10.0.0.7) or a network (10.0.0.0/8)") from None


Network = Annotated[IPv4Network | IPv6Network, BeforeValidator(_network)]


class ServerConfig(Strict):
    """Options of the gateway process itself."""

    host: str = "127.0.0.1"
    """Interface to listen on."""
    port: int = Field(4000, ge=1, le=65535)
    """TCP port."""
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1024)
    """Largest request body accepted (413 above it)."""
    failed_logins_per_minute: int = Field(20, ge=0)
    """Invalid-key requests one client address may make per minute before it gets 429 for the
    rest of the minute (docs/gateway.md, *Ledger, keys, usage*); 0: no limit."""
    trusted_proxies: list[Network] = Field(default_factory=list)
    """Load balancers (addresses or CIDR networks) whose X-Forwarded-For names the client
    address; empty: the TCP peer is the client (the header is never read)."""
    log_prompts: bool = False
    """Store request and response bodies in the ledger (off: only counts and timings)."""
    ledger_url: str | None = None
    """SQLAlchemy URL of the ledger; default SQLite in YARD_HOME."""
    admin_key: str | None = None
    """Bearer key for /admin endpoints; write ${ENV_NAME}. Unset: no admin API."""
    key_refresh_s: float = Field(2.0, gt=0)
    """How often each gateway process looks for keys made or revoked elsewhere (`yard keys`,
    another worker or replica on the same ledger): a revoked key is refused everywhere within
    this time."""
    workers: Annotated[int, Field(ge=0)] | Literal["auto"] = 1
    """Worker processes sharing the port (one core each); 0 or `auto`: one per CPU."""
    header_timeout_s: float = Field(10.0, gt=0)
    """A connection's request line and headers must arrive within this (from the connection's
    start, or the next request's first byte); else 408 and the connection is closed."""
    body_timeout_s: float = Field(30.0, gt=0)
    """Longest pause while a request body arrives; then 408 and the connection is closed."""
    keep_alive_s: float = Field(5.0, gt=0)
    """An idle keep-alive connection is closed after this long."""
    max_header_bytes: int = Field(16384, ge=1024)
    """Largest request line and headers (431 above it)."""
    max_connections: Annotated[int, Field(ge=1)] | Literal["auto"] = "auto"
    """Client connections one process holds; at the limit the oldest idle one is closed, and
    only when every one has a request in progress is a new one refused (503). `auto`: what
    the open-file limit leaves room for (half of it less 64), at most 4096."""
    allowed_hosts: list[str] | None = None
    """Host names clients may use on a loopback connection (DNS rebinding defence); default
    localhost, 127.0.0.1 and [::1]. ["*"] accepts any. Other connections accept any Host."""
    cors_origins: list[str] = Field(default_factory=list)
    """Browser origins (https://app.example.com) that may call the API; a request from any
    other origin is refused (403) and gets no CORS headers."""
    reserve_output_tokens: int = Field(4096, ge=1)
    """Completion tokens a request without max_tokens holds against its key's budget while
    it runs, when the model's context window is unknown (docs/ledger.md, *Budgets*)."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    """Structured JSON log lines on stdout: `info` has one per request and one per event
    (retry, fallback, breaker, engine, reload); `warning` only problems."""


class StateConfig(Strict):
    """Where rate windows, budgets and breakers live when several replicas serve together."""

    redis_url: str | None = Field(None, pattern=r"^(redis|rediss|unix)://")
    """Redis shared by every replica (redis://host:6379/0); unset: in-process state."""
    prefix: str = "yard:"
    """Prepended to every Redis key, so several gateways can share one Redis."""
    hub: Path | None = None
    """Set by `yard serve --workers` for its workers, never in a file: the socket of the
    parent's in-memory windows and budgets (used when redis_url is unset)."""


class AutoCandidate(Strict):
    """One model `auto` may choose, with what the catalog cannot tell about it."""

    model: str
    """A public name from `models:`."""
    input_per_mtok: float | None = Field(None, ge=0)
    """USD per 1M prompt tokens; overrides the catalog price of its first backend."""
    output_per_mtok: float | None = Field(None, ge=0)
    """USD per 1M completion tokens; overrides the catalog price of its first backend."""
    capabilities: list[Literal["tools", "json_mode", "vision"]] | None = None
    """What it can do; default: the catalog model's capabilities (unknown model: none)."""
    label: str | None = None
    """Its name in the router file's training labels (default: `model`)."""
    license: str | None = None
    """A catalog license id, or `proprietary` (an API under its provider's terms), for
    `auto.license`; default: the catalog's, for the model its backends serve."""


class AutoLanguage(Strict):
    """What `auto` does with requests written in one language (or language group)."""

    allow: list[str] | None = Field(None, min_length=1)
    """Only these candidates (public model names) may answer; unset: any candidate."""
    prefer: list[str] = Field(default_factory=list)
    """Among the candidates that pass every other rule (and the router's quality threshold),
    the cheapest of these answers, even when a candidate not listed is cheaper."""


class AutoConfig(Strict):
    """The `auto` public model: each request goes to the cheapest candidate that can take it."""

    name: str = "auto"
    """Public model name clients ask for."""
    candidates: list[str | AutoCandidate] = Field(default_factory=list)
    """Model names (or entries with prices/capabilities) to choose from; default every model."""
    router: Path | None = None
    """Trained router file (`yard route train`); unset: the cheapest allowed candidate."""
    cascade: bool = False
    """Non-streaming only: answer with the cheapest candidate and escalate to the next one
    when the reply fails validation: empty; not valid JSON although JSON output was asked for;
    below `cascade_min_logprob`; doubted by the router file's reply scorer or, without one,
    holding a wrong calculation."""
    cascade_min_logprob: float | None = Field(None, le=0)
    """With `cascade`: also escalate a reply whose confidence is below this (e.g. -0.5): the
    mean token log-probability of its last number, or of the whole reply when it has none. The
    gateway asks the upstream for `logprobs` and, unless the client asked, strips them from the
    reply. Replies that come without log-probabilities pass."""
    license: LicensePolicy = "any"
    """License terms every candidate must meet: any; commercial (commercial use allowed);
    permissive (also no MAU cap, training or use-policy strings); osi (OSI-approved)."""
    monthly_active_users: int | None = Field(None, ge=1)
    """The deployment's monthly active users: excludes candidates whose license caps fewer."""
    session_pins: int = Field(10_000, ge=0)
    """Sessions (x-yard-session header or `user` field) remembered to pin a conversation to
    one model; least recently used forgotten first; 0 turns pinning off."""
    languages: dict[str, AutoLanguage] = Field(default_factory=dict)
    """Per language code (fr, zh...) or group (european, cjk): `allow` and `prefer` lists of
    candidates; a language's own entry wins over its group's."""

    def entries(self, models: list[str]) -> list[AutoCandidate]:
        """Every candidate as an entry; ``models`` (all public names) when none are listed."""
        listed = self.candidates or models
        return [AutoCandidate(model=c) if isinstance(c, str) else c for c in listed]

    def language_problems(self, candidates: list[str]) -> list[Problem]:
        """Every `languages` key that is no language or group, every name that is no candidate."""
        problems: list[Problem] = []
        for key, rule in self.languages.items():
            at = ("auto", "languages", key)
            if key not in SUPPORTED and key not in GROUPS:
                problems.append((at, f"unknown language {key!r}; {known_keys()}"))
            for field, names in (("allow", rule.allow or []), ("prefer", rule.prefer)):
                for i, name in enumerate(names):
                    if name not in candidates:
                        problems.append(((*at, field, i), unknown("candidate", name, candidates)))
                    elif field == "prefer" and rule.allow is not None and name not in rule.allow:
                        problems.append(((*at, field, i), f"{name!r} is not in allow"))
        return problems


def reference_problems(
    backends: list[str], models: dict[str, list[str]], candidates: list[str]
) -> list[Problem]:
    """Backend names used twice; chains naming no backend; `auto` candidates naming no model.

    Args:
        backends: Every backend's name, in file order.
        models: Each public model's chain of backend names.
        candidates: The names listed in `auto.candidates` (empty: every model).
    """
    problems: list[Problem] = [
        (("backends", i, "name"), f"backend name {name!r} is used twice")
        for i, name in enumerate(backends)
        if backends.index(name) != i
    ]
    for model, chain in models.items():
        if not chain:
            problems.append((("models", model), "list at least one backend"))
        problems += [
            (("models", model, i), unknown("backend", name, sorted(set(backends))))
            for i, name in enumerate(chain)
            if name not in backends
        ]
    return problems + [
        (("auto", "candidates", i), unknown("model", name, list(models)))
        for i, name in enumerate(candidates)
        if name not in models
    ]


def unknown(kind: str, name: str, known: list[str]) -> str:
    """'unknown backend 'lokal'; did you mean local?' (or the known names when none is close)."""
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    if close:
        return f"unknown {kind} {name!r}; did you mean {' or '.join(close)}?"
    return f"unknown {kind} {name!r}; known: {', '.join(known) or 'none'}"


def _located(problems: list[Problem]) -> PydanticCustomError:
    """One validation error carrying every problem at its own place (yamlfile renders each
    with its line)."""
    message = "; ".join(f"{'.'.join(map(str, at))}: {text}" for at, text in problems)
    ctx = {"message": message, "problems": problems}
    return PydanticCustomError("config_reference", "{message}", ctx)


class PrivacyConfig(Strict):
    """What happens to requests holding private data (docs/privacy.md)."""

    private_data: Mode | None = None
    """For every request: ``local`` (self-hosted backends only), ``redact`` (placeholders
    before any remote backend, values put back in the answer) or ``block`` (refused). A key's
    or a model's own setting also counts: the strictest set wins; none set means ``local``."""
    models: dict[str, Mode] = Field(default_factory=dict)
    """Per public model name (``auto`` included)."""
    scan_budget_ms: float = Field(25.0, gt=0)
    """CPU time a scan may take, plus ``scan_budget_ms_per_mb`` for each MB of text; past it
    the request counts as private (never sent remote) and the ledger says why."""
    scan_budget_ms_per_mb: float = Field(25.0, ge=0)
    offload_chars: int = Field(16_000, ge=0)
    """Bodies with more text than this are scanned off the event loop, in a worker process."""
    scan_processes: int = Field(2, ge=0)
    """Worker processes for those scans, per gateway process (each about 64 MB; with
    ``--workers N``, N times as many); 0: in a thread, which stalls the event loop while a
    large hostile body is scanned. Takes effect at restart."""
    ner: bool = True
    """In ``redact`` mode, also run the packaged NER model (``modelyard[ner]``) for names
    around what the rules found."""


class GatewayConfig(Strict):
    """The whole file: `server`, `backends`, `models`."""

    server: ServerConfig = Field(default_factory=ServerConfig)
    """Gateway process options."""
    backends: list[BackendConfig] = Field(min_length=1)
    """Upstreams."""
    models: dict[str, list[str]] = Field(min_length=1)
    """Public model name -> backend names, tried in order (the fallback chain)."""
    auto: AutoConfig | None = None
    """The routed public model (`auto: {}` for the defaults); unset: no routing."""
    aliases: dict[str, str] = Field(default_factory=dict)
    """Public names for fine-tuned adapters: alias -> `MODEL:ADAPTER` (a model from `models:`
    and an adapter some backend of its chain lists under `adapters:`)."""
    state: StateConfig = Field(default_factory=StateConfig)
    """Shared state for several replicas (Redis); default: each process keeps its own."""
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)
    """Private data: scan budget and what to do with private requests."""
    _source: Path | None = PrivateAttr(None)

    @property
    def source(self) -> Path | None:
        """The file ``load_config`` read (what a reload re-reads); None for one built in code."""
        return self._source

    @model_validator(mode="after")
    def _references(self) -> GatewayConfig:
        names = [b.name for b in self.backends]
        listed = [e.model for e in self.auto.entries([])] if self.auto else []
        problems = reference_problems(names, self.models, listed)
        if self.auto is not None:
            problems += self._auto_problems(self.auto)
        if not problems:  # the adapters are looked up in chains that now name real backends
            problems += self._adapter_problems()
        public = [*self.models, *([self.auto.name] if self.auto else [])]
        problems += [
            (("privacy", "models", m), unknown("model", m, public))
            for m in self.privacy.models
            if m not in public
        ]
        if problems:
            raise _located(problems)
        return self

    def _adapter_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        for model in self.models:
            base, sep, adapter = model.rpartition(":")
            if sep and adapter in self.held_adapters(model):
                problems.append((("models", model), f"'{adapter}' is also an adapter of its chain"))
        reserved = set(self.models) | ({self.auto.name} if self.auto else set())
        for alias, target in self.aliases.items():
            at: Loc = ("aliases", alias)
            base, sep, adapter = target.rpartition(":")
            if alias in reserved:
                problems.append((at, "already a model name; rename the alias"))
            elif not sep or base not in self.models:
                problems.append((at, f"{target!r} is not MODEL:ADAPTER of a model"))
            elif adapter not in self.held_adapters(base):
                problems.append((at, f"no backend of {base!r} lists adapter {adapter!r}"))
        return problems

    def held_adapters(self, model: str) -> set[str]:
        """Adapters some backend in ``model``'s chain serves."""
        return {a for name in self.models.get(model, []) for a in self.backend(name).adapters}

    def resolve_adapter(self, model: str) -> tuple[str, str] | None:
        """``(base model, adapter)`` for `MODEL:ADAPTER` or an alias; None for anything else."""
        if model in self.models:
            return None
        target = self.aliases.get(model, model)
        base, sep, adapter = target.rpartition(":")
        if sep and adapter in self.held_adapters(base):
            return base, adapter
        return None

    def _auto_problems(self, auto: AutoConfig) -> list[Problem]:
        if auto.name in self.models:
            return [(("auto", "name"), f"{auto.name!r} is also in models:; rename one of them")]
        return auto.language_problems([e.model for e in auto.entries(list(self.models))])

    def backend(self, name: str) -> BackendConfig:
        """The backend called ``name``."""
        return next(b for b in self.backends if b.name == name)


def default_config() -> GatewayConfig:
    """The embedded default: SmolLM2-135M on the local engine, as `smollm2` and `default`."""
    local = BackendConfig(name="local", kind="local", gguf=DEFAULT_MODEL, context_size=2048)
    return GatewayConfig(
        backends=[local],
        models={DEFAULT_MODEL: ["local"], "default": ["local"]},
        auto=AutoConfig(candidates=[DEFAULT_MODEL]),
    )
