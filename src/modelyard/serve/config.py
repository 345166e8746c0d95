"""The gateway's YAML configuration: backends, public model names, server options.

Secrets are written as ``${ENV_NAME}`` and resolved when the file is read; every error
names the file, the line and the field.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, model_validator
from pydantic_core import PydanticCustomError

from modelyard.config import env
from modelyard.errors import ConfigError
from modelyard.policy import LicensePolicy
from modelyard.route.language import GROUPS, SUPPORTED, known_keys
from modelyard.yamlfile import line_of, read_yaml, validate

ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
DEFAULT_MODEL = "smollm2"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
    """Local backends: a .gguf path or a model name `yard pull` knows (smollm2)."""
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

    def check_languages(self, candidates: list[str]) -> None:
        """Every `languages` key is a language or group, every name in it a candidate.

        Raises:
            PydanticCustomError: located at the offending key or list item (``ctx["at"]``).
        """
        for key, rule in self.languages.items():
            at = ("auto", "languages", key)
            if key not in SUPPORTED and key not in GROUPS:
                raise _located(at, f"unknown language {key!r}; {known_keys()}")
            for field, names in (("allow", rule.allow or []), ("prefer", rule.prefer)):
                for i, name in enumerate(names):
                    if name not in candidates:
                        raise _located((*at, field, i), f"unknown candidate {name!r}; "
                                       f"candidates: {', '.join(candidates)}")  # fmt: skip
                    if field == "prefer" and rule.allow is not None and name not in rule.allow:
                        raise _located((*at, field, i), f"{name!r} is not in allow")


def _located(at: tuple[str | int, ...], message: str) -> PydanticCustomError:
    """A validation error for the field at ``at`` (yamlfile renders that field's line)."""
    return PydanticCustomError("config_reference", "{message}", {"message": message, "at": at})


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
    state: StateConfig = Field(default_factory=StateConfig)
    """Shared state for several replicas (Redis); default: each process keeps its own."""
    _source: Path | None = PrivateAttr(None)

    @property
    def source(self) -> Path | None:
        """The file ``load_config`` read (what a reload re-reads); None for one built in code."""
        return self._source

    @model_validator(mode="after")
    def _references(self) -> GatewayConfig:
        names = [b.name for b in self.backends]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"backend names must be unique: {', '.join(dupes)}")
        for model, chain in self.models.items():
            unknown = [n for n in chain if n not in names]
            if unknown:
                raise ValueError(f"models.{model}: unknown backend {', '.join(unknown)}")
            if not chain:
                raise ValueError(f"models.{model}: list at least one backend")
        if self.auto is not None:
            self._check_auto(self.auto)
        return self

    def _check_auto(self, auto: AutoConfig) -> None:
        if auto.name in self.models:
            raise ValueError(f"auto.name {auto.name!r} is also in models:; rename one of them")
        entries = auto.entries(list(self.models))
        unknown = [e.model for e in entries if e.model not in self.models]
        if unknown:
            raise ValueError(f"auto.candidates: unknown model {', '.join(unknown)}")
        auto.check_languages([e.model for e in entries])

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


def load_config(path: Path) -> GatewayConfig:
    """Read, resolve ``${ENV}`` references in, and validate one gateway config file.

    Raises:
        ConfigError: every problem, one per line, as ``file:line: field: message``.
    """
    data, node = read_yaml(path, ConfigError)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with backends: and models:")
    missing: list[str] = []
    data = _resolve_env(data, (), missing, path, node)
    if missing:
        raise ConfigError("\n".join(missing))
    config, errors = validate(GatewayConfig, data, path, node)
    if config is None:
        raise ConfigError(f"{path}: invalid gateway config:\n" + "\n".join(errors))
    config = _anchor_router(config, path.parent)
    config._source = path.absolute()
    return config


def _anchor_router(config: GatewayConfig, folder: Path) -> GatewayConfig:
    """A relative `auto.router` path is read from the config file's folder."""
    auto = config.auto
    if auto is None or auto.router is None or auto.router.is_absolute():
        return config
    return config.model_copy(
        update={"auto": auto.model_copy(update={"router": folder / auto.router})}
    )


def _resolve_env(value: Any, loc: tuple, missing: list[str], path: Path, node: Any) -> Any:
    if isinstance(value, dict):
        return {k: _resolve_env(v, (*loc, k), missing, path, node) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_env(v, (*loc, i), missing, path, node) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def lookup(match: re.Match[str]) -> str:
        found = env(match.group(1))
        if found is None:
            field = ".".join(str(p) for p in loc)
            missing.append(
                f"{path}:{line_of(node, loc)}: {field}: environment variable "
                f"{match.group(1)} is not set; export it or edit the file"
            )
            return ""
        return found

    return ENV_REF.sub(lookup, value)
