"""Plan against reality: for each self-hosted backend, what the planner predicts (decode tokens/s
of one sequence, $ per 1M output tokens) beside what the ledger measured.

This is the one place `serve` uses `plan` (an arrow DESIGN.md does not list; docs/dashboard.md
says why): the gateway knows each backend's traffic and price, the planner its expected speed,
and only together do they show whether a deployment performs and costs as planned. `plan` does
not import `serve`. The planner is imported when the dashboard first asks, never on the request
path.

Measured figures over the window:

- tokens/s: output tokens ÷ the time successful requests spent after their first token (for a
  request that did not stream, its whole duration: this undercounts the decode speed);
- $ / 1M output tokens: the hardware's $/h × the window's hours ÷ output tokens: what the
  window's compute cost per token at the traffic it really had (the planner assumes its
  utilization; an idle GPU costs the same).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelyard.catalog import Catalog, find_model
from modelyard.errors import YardError
from modelyard.serve.backends import Backend
from modelyard.serve.pricing import compute_usd_per_hour
from modelyard.serve.usage import UsageRow

if TYPE_CHECKING:
    from modelyard.plan import Cluster

ENGINE_OF_KIND = {"local": "llamacpp", "openai": "vllm"}
"""The engine a self-hosted backend is planned with: the local engine is llama.cpp; an
OpenAI-compatible server you run is planned as vLLM, the most common."""
GGUF_QUANT = re.compile(r"(?i)(?:^|[.-])(q\d_[a-z0-9_]+|f16|bf16)(?:\.gguf)?$")


@dataclass(frozen=True)
class Planned:
    """What the planner expects of one backend."""

    model: str
    hardware: str
    engine: str
    quant: str
    tok_s: float
    """Decode tokens/s of one sequence."""
    batch_tok_s: float
    """Decode tokens/s at the planned batch, all sequences together."""
    usd_per_mtok: float | None
    """$ per 1M output tokens at the planner's utilization (None: no price for the hardware)."""
    basis: list[str]


@dataclass(frozen=True)
class Reality:
    """One self-hosted backend: the plan (when the planner could make one) and the ledger."""

    backend: str
    planned: Planned | None
    why_no_plan: str | None
    requests: int
    output_tokens: int
    tok_s: float | None
    usd_per_hour: float | None
    """The backend's hardware price (None: unpriced)."""
    usd_per_mtok: float | None
    window_h: float


def reality(
    backends: list[Backend], usage: dict[str, UsageRow], window_h: float, catalog: Catalog
) -> list[Reality]:
    """Planned beside measured, for every self-hosted backend in ``backends``.

    Args:
        backends: The gateway's backends (only self-hosted ones are reported).
        usage: The window's usage by backend name (``usage.summarize(...).by_backend``).
        window_h: The window's length in hours.
        catalog: Models and GPUs.
    """
    out = []
    for backend in (b for b in backends if b.config.local):
        row = usage.get(backend.name)
        try:
            planned, why = _plan(backend, row, catalog), None
        except Exception as exc:  # the planner is another package: say why, never a traceback
            planned, why = None, str(exc) if isinstance(exc, YardError) else repr(exc)
        out.append(_measured(backend, row, planned, why, window_h))
    return out


def _measured(
    backend: Backend, row: UsageRow | None, planned: Planned | None, why: str | None, hours: float
) -> Reality:
    hourly = compute_usd_per_hour(backend.config)
    tokens = row.completion_tokens if row else 0
    generation_s = row.generation_ms / 1000 if row else 0.0
    return Reality(
        backend=backend.name,
        planned=planned,
        why_no_plan=why,
        requests=row.requests if row else 0,
        output_tokens=tokens,
        tok_s=tokens / generation_s if tokens and generation_s > 0 else None,
        usd_per_hour=hourly,
        usd_per_mtok=hourly * hours / tokens * 1e6 if hourly and tokens else None,
        window_h=hours,
    )


def _plan(backend: Backend, row: UsageRow | None, catalog: Catalog) -> Planned:
    from modelyard.plan import (
        PlanRequest,
        deploy,
        get_engine,
        plan_model,
        published_basis,
        start_format,
        weight_format,
    )
    from modelyard.plan import workload as make_workload

    config = backend.config
    model = _catalog_model(backend, catalog)
    if config.gpu is None and config.kind != "local":
        raise YardError(
            f"set backends.{backend.name}.gpu to the hardware it runs on (e.g. 1xH100) to see "
            "the planner's figures for it"
        )
    cluster = _cluster(config.gpu, catalog)
    engine = get_engine(ENGINE_OF_KIND[config.kind])
    quant = _gguf_quant(backend) if config.kind == "local" else None
    fmt = weight_format(quant or start_format(model, engine.id, "auto"))
    requests = row.requests if row and row.requests else 0
    prompt = round(row.prompt_tokens / requests) if requests and row else None
    output = round(row.completion_tokens / requests) if requests and row else None
    load = make_workload("chat", 1e6, prompt or None, output or None)
    request = PlanRequest(catalog, published_basis(catalog, "chat"), load, auto=quant is None)
    plan = plan_model(model, deploy(engine, fmt, cluster), request)
    return Planned(
        model=model.id,
        hardware=plan.cluster,
        engine=engine.id,
        quant=plan.memory.quant,
        tok_s=plan.decode_single.tok_s_per_sequence,
        batch_tok_s=plan.decode_batch.tok_s_total,
        usd_per_mtok=plan.cost.usd_per_mtok_output if plan.cost else None,
        basis=[*plan.decode_single.basis[:3], *(plan.cost.basis[:1] if plan.cost else [])],
    )


def _catalog_model(backend: Backend, catalog: Catalog) -> Any:
    config = backend.config
    names = [n for n in (config.model, config.gguf, _gguf_stem(backend)) if n]
    for name in names:
        try:
            return find_model(catalog, name)
        except YardError:
            continue
    raise YardError(
        f"backend {backend.name}: none of {', '.join(names) or 'its names'} is a catalog model "
        "(yard models list); set its `model` to a catalog id or alias"
    )


def _cluster(gpu: str | None, catalog: Catalog) -> Cluster:
    from modelyard.plan import parse_cluster

    return parse_cluster(catalog, gpu) if gpu else _this_machine(catalog)


def _this_machine(catalog: Catalog) -> Cluster:
    """This machine's GPUs or CPU (probed once per process: nvidia-smi is a subprocess)."""
    from modelyard.plan import detect_cluster

    if not _PROBED:
        _PROBED.append(detect_cluster(catalog)[0])
    return _PROBED[0]


_PROBED: list[Cluster] = []


def _gguf_stem(backend: Backend) -> str | None:
    engine = backend.engine
    path = getattr(engine, "gguf_path", None)
    return path.stem if path is not None else None


def _gguf_quant(backend: Backend) -> str | None:
    """The quantization a GGUF file's name states (``…Q4_K_M.gguf``), when the planner knows it."""
    from modelyard.plan import weight_format

    stem = _gguf_stem(backend) or backend.config.gguf or ""
    match = GGUF_QUANT.search(stem)
    if match is None:
        return None
    try:
        return weight_format(match.group(1)).key
    except YardError:
        return None
