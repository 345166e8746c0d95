"""The dashboard's JSON endpoints, for the /ui page and for scripts (docs/openapi.yaml):

- ``GET /admin/gateway``: models, backends and settings, for the page's pickers;
- ``GET /admin/stats``: live traffic (serve/live.py) and each backend's state;
- ``GET /admin/usage``: `yard usage`'s report and the same totals per hour or day;
- ``GET /admin/routing``: shares per backend and model, reasons, private kinds, escalations;
- ``GET /admin/ledger``, ``GET /admin/ledger/{id}``: the ledger search;
- ``GET /admin/plan``: the planner beside the ledger for each self-hosted backend;
- ``GET /admin/apis``: the catalog's API offers, to compare spend with.

Every figure comes from the queries `yard usage` uses (serve/usage.py) and runs in a worker
thread, never on the event loop that proxies requests. Query parameters are checked strictly:
an unknown one, a repeated one or an unreadable value is a 400 naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from modelyard import __version__
from modelyard.catalog import Catalog, find_api
from modelyard.errors import YardError
from modelyard.serve.admin import AdminAuth, admin_json
from modelyard.serve.errors import GatewayError
from modelyard.serve.ledger_search import LedgerQuery, entry, search
from modelyard.serve.live import live_stats
from modelyard.serve.metrics import BREAKER_VALUE
from modelyard.serve.pricing import compute_usd_per_hour
from modelyard.serve.reality import reality
from modelyard.serve.routes import GatewayState
from modelyard.serve.routing_stats import routing_summary
from modelyard.serve.usage import Step, over_time, parse_since, summarize

MAX_PARAM = 200
BREAKER_NAME = {value: name for name, value in BREAKER_VALUE.items()}
STEPS: dict[str, Step] = {"hour": "hour", "day": "day"}
HOURLY_UP_TO_H = 48
"""Usage over time is per hour for windows up to this long, per day beyond."""


@dataclass(frozen=True)
class Dashboard:
    """What the dashboard reads: the ledger, the live gateway state and the catalog."""

    engine: Engine
    state: Callable[[], GatewayState]
    """The state new requests are served with (it changes on a config reload)."""
    catalog: Catalog


def dashboard_routes(board: Dashboard, auth: AdminAuth) -> list[Route]:
    """The JSON endpoints, each behind ``auth``."""

    def endpoint(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
        async def answer(request: Request) -> Response:
            auth.check(request)
            try:
                return admin_json(await run_in_threadpool(handler, request))
            except YardError as exc:
                raise GatewayError(400, str(exc), code="invalid_parameter") from exc

        return answer

    return [
        Route("/admin/gateway", endpoint(lambda r: gateway_info(board, r)), methods=["GET"]),
        Route("/admin/stats", endpoint(lambda r: stats(board, r)), methods=["GET"]),
        Route("/admin/usage", endpoint(lambda r: usage(board, r)), methods=["GET"]),
        Route("/admin/routing", endpoint(lambda r: routing(board, r)), methods=["GET"]),
        Route("/admin/ledger", endpoint(lambda r: ledger(board, r)), methods=["GET"]),
        Route("/admin/ledger/{id}", endpoint(lambda r: ledger_row(board, r)), methods=["GET"]),
        Route("/admin/plan", endpoint(lambda r: plan(board, r)), methods=["GET"]),
        Route("/admin/apis", endpoint(lambda r: apis(board, r)), methods=["GET"]),
    ]


def gateway_info(board: Dashboard, request: Request) -> dict[str, Any]:
    _params(request, set())
    state = board.state()
    config = state.config
    return {
        "version": __version__,
        "models": [*config.models, *([config.auto.name] if config.auto else [])],
        "backends": [
            {
                "name": b.name,
                "kind": b.kind,
                "self_hosted": b.local,
                "usd_per_hour": compute_usd_per_hour(b),
                "price": state.rates[b.name].source,
            }
            for b in config.backends
        ],
        "log_prompts": config.server.log_prompts,
        "ledger": board.engine.dialect.name,
    }


def stats(board: Dashboard, request: Request) -> dict[str, Any]:
    _params(request, set())
    state = board.state()
    readings = state.metrics.backend_readings()
    backends = []
    for name, backend in state.backends.by_name.items():
        health = backend.health()
        flying, breaker = readings.get(
            name, (health["in_flight"], BREAKER_VALUE[health["breaker"]])
        )
        backends.append(
            {
                **health,
                "name": name,
                "kind": backend.config.kind,
                "in_flight": int(flying),
                "breaker": BREAKER_NAME[int(breaker)],
            }
        )
    return {"live": live_stats(board.engine), "backends": backends}


def usage(board: Dashboard, request: Request) -> dict[str, Any]:
    params = _params(request, {"since", "vs", "step"})
    since = _since(params)
    offer = find_api(board.catalog, params["vs"]) if "vs" in params else None
    chosen = params.get("step") or ("hour" if _hours(since) <= HOURLY_UP_TO_H else "day")
    step = STEPS.get(chosen)
    if step is None:
        raise YardError(f"step: {chosen!r}: give hour or day")
    state = board.state()
    unpriced = [b.name for b in state.config.backends if b.local and not compute_usd_per_hour(b)]
    return {
        "report": summarize(board.engine, since, offer),
        "step": step,
        "series": over_time(board.engine, since, offer, step),
        "unpriced_self_hosted": unpriced,
    }


def routing(board: Dashboard, request: Request) -> Any:
    return routing_summary(board.engine, _since(_params(request, {"since"})))


def ledger(board: Dashboard, request: Request) -> dict[str, Any]:
    names = {"key", "model", "backend", "status", "since", "until", "cursor", "limit"}
    params = _params(request, names)
    limit = params.get("limit", "50")
    if not limit.isdigit():
        raise YardError(f"limit: {limit!r}: give a whole number")
    query = LedgerQuery(
        key_id=params.get("key"),
        model=params.get("model"),
        backend=params.get("backend"),
        status=params.get("status"),
        since=_since(params),
        until=parse_since(params["until"]) if "until" in params else None,
        cursor=params.get("cursor"),
        limit=int(limit),
    )
    page = search(board.engine, query)
    return {**asdict(page), "prompts_logged": board.state().config.server.log_prompts}


def ledger_row(board: Dashboard, request: Request) -> dict[str, Any]:
    _params(request, set())
    logged = board.state().config.server.log_prompts
    found = entry(board.engine, request.path_params["id"][:MAX_PARAM], with_bodies=logged)
    if found is None:
        raise GatewayError(404, "no ledger row has this id", code="not_found")
    return {**found, "prompts_logged": logged}


def plan(board: Dashboard, request: Request) -> dict[str, Any]:
    params = _params(request, {"since"})
    since = _since(params) or parse_since("24h")
    state = board.state()
    by_backend = {r.group: r for r in summarize(board.engine, since).by_backend}
    rows = reality(list(state.backends.by_name.values()), by_backend, _hours(since), board.catalog)
    return {"since": since, "backends": rows}


def apis(board: Dashboard, request: Request) -> dict[str, Any]:
    _params(request, set())
    offers = sorted(board.catalog.apis.values(), key=lambda a: a.id)
    return {
        "data": [
            {
                "id": a.id,
                "provider": a.provider,
                "model_name": a.model_name,
                "input_per_mtok": a.input_per_mtok,
                "output_per_mtok": a.output_per_mtok,
            }
            for a in offers
        ]
    }


def _params(request: Request, allowed: set[str]) -> dict[str, str]:
    """The query parameters, each known, given once and of a sane length."""
    found: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name not in allowed:
            known = ", ".join(sorted(allowed)) or "none"
            raise YardError(f"unknown query parameter {name[:MAX_PARAM]!r}; this takes: {known}")
        if name in found:
            raise YardError(f"{name}: given twice")
        if len(value) > MAX_PARAM:
            raise YardError(f"{name}: longer than {MAX_PARAM} characters")
        if value != "":
            found[name] = value
    return found


def _since(params: dict[str, str]) -> str | None:
    text = params.get("since")
    return None if text is None or text == "all" else parse_since(text)


def _hours(since: str | None) -> float:
    """Hours from ``since`` to now (a month when unbounded, which only picks the chart's step)."""
    if since is None:
        return 24.0 * 31
    start = datetime.fromisoformat(since)
    return max((datetime.now(UTC) - start).total_seconds() / 3600, 1 / 60)
