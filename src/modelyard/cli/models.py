"""`yard models`: list, show and compare catalog entries."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.panel import Panel

from modelyard.cli._render import console, human_count, human_tokens, print_json, table
from modelyard.config import user_catalog_dir
from modelyard.errors import YardError
from modelyard.policy import LICENSE_POLICIES

if TYPE_CHECKING:
    from modelyard.catalog import Catalog, Claim, Model, ModelRow, Source

SORT_KEYS = ("id", "params", "active", "context", "released", "family")
"""The columns `models list --sort` orders by; numeric ones largest first."""

app = typer.Typer(help="Browse the catalog of models, each fact with its source.")

JsonOpt = Annotated[bool, typer.Option("--json", help="Output as JSON")]


def load() -> Catalog:
    """The shipped catalog plus the user's imported entries."""
    from modelyard.catalog import cached_catalog

    return cached_catalog(user_catalog_dir())


@app.command("list")
def list_(
    family: Annotated[str | None, typer.Option("-f", "--family", help="Only this family")] = None,
    license_: Annotated[
        str,
        typer.Option("-l", "--license", help=f"License policy: {', '.join(LICENSE_POLICIES)}"),
    ] = "any",
    mau: Annotated[int | None, typer.Option("--mau", help="Your monthly active users")] = None,
    min_context: Annotated[
        str | None, typer.Option("-c", "--min-context", help="Minimum context, e.g. 32k")
    ] = None,
    language: Annotated[
        str | None, typer.Option("--language", help="Required languages, e.g. fr,de")
    ] = None,
    capability: Annotated[
        list[str] | None, typer.Option("--capability", help="Required capability (repeatable)")
    ] = None,
    sort: Annotated[str, typer.Option("-s", "--sort", help=f"{', '.join(SORT_KEYS)}")] = "id",
    all_: Annotated[bool, typer.Option("--all", help="Include unverified models")] = False,
    excluded: Annotated[
        bool, typer.Option("--show-excluded", help="Also list excluded models and why")
    ] = False,
    fits: Annotated[
        str | None, typer.Option("--fits", help="Only models that fit this GPU, e.g. 1xH100, 4090")
    ] = None,
    fit_context: Annotated[
        str, typer.Option("--fit-context", help="Context one sequence needs, for --fits")
    ] = "8k",
    kind: Annotated[
        str, typer.Option("-k", "--kind", help="open (self-hostable models) or api (API offers)")
    ] = "open",
    json_: JsonOpt = False,
) -> None:
    """List models that satisfy the given constraints

    \b
    Examples:
      yard models list --license commercial --language fr,de
      yard models list --min-context 128k --capability tools --sort params
      yard models list --fits 1xRTX-4090 --fit-context 32k
      yard models list --kind api
    """
    if kind == "api":
        apis(provider=None, json_=json_)
        return
    if kind != "open":
        raise YardError(f"--kind {kind!r}: choose open or api")
    if sort not in SORT_KEYS:
        raise YardError(f"--sort {sort!r}: choose one of {', '.join(SORT_KEYS)}")
    from modelyard.policy import (
        Policy,
        license_policy,
        list_models,
        parse_languages,
        parse_tokens,
    )

    policy = Policy(
        license=license_policy(license_),
        monthly_active_users=mau,
        languages=parse_languages(language),
        min_context=parse_tokens(min_context) if min_context else None,
        capabilities=tuple(capability or ()),
        include_unverified=all_,
    )
    catalog = load()
    rows = list_models(catalog, policy, family, sort, show_excluded=excluded)
    if fits:
        rows = _fitting(rows, catalog, fits, parse_tokens(fit_context), excluded)
    if json_:
        print_json(rows)
        return
    _render_rows(rows, excluded, bool(fits))


def _fitting(
    rows: list[ModelRow], catalog: Catalog, gpu: str, context: int, keep_excluded: bool
) -> list[ModelRow]:
    """Rows that fit ``gpu`` at ``context`` (with how); the others dropped, or kept with why."""
    from modelyard.plan import best_fit, parse_cluster

    cluster = parse_cluster(catalog, gpu)
    kept, dropped = [], []
    for row in rows:
        too_short = (row.context_window or 0) < context
        mem = None if too_short else best_fit(catalog.models[row.id], cluster, context)
        if mem is not None:
            kept.append(replace(row, fits_as=f"{mem.quant} ({mem.engine})"))
        elif keep_excluded:
            reason = (
                f"context window {human_tokens(row.context_window)} < {human_tokens(context)}"
                if too_short
                else f"does not fit {gpu} at {human_tokens(context)} context"
            )
            dropped.append(replace(row, excluded_because=[*row.excluded_because, reason]))
    return [r for r in kept if not r.excluded_because] + [
        r for r in [*kept, *dropped] if r.excluded_because
    ]


def _render_rows(rows: list[ModelRow], excluded: bool, fits: bool) -> None:
    columns = ["id", "params", "active", "context", "license", "langs", "caps"]
    columns += ["fits as"] if fits else []
    columns += ["excluded because"] if excluded else []
    body = []
    for r in rows:
        line = [
            r.id + ("" if r.verified else " [unverified]"),
            human_count(r.params_total),
            human_count(r.params_active),
            human_tokens(r.context_window),
            r.license or "?",
            str(len(r.languages)) if r.languages else "",
            _capability_flags(r.capabilities),
        ]
        line += [r.fits_as or ""] if fits else []
        body.append([*line, "; ".join(r.excluded_because)] if excluded else line)
    title = f"{len(rows)} models (capabilities: T tools, J json, R reasoning, ~ toggle, V vision)"
    console.print(table(columns, body, title=title, right=["params", "active", "context"]))


CAPABILITY_FLAGS = {
    "tools": "T",
    "json_mode": "J",
    "reasoning": "R",
    "reasoning_toggle": "~",
    "vision": "V",
}


def _capability_flags(names: list[str]) -> str:
    return "".join(CAPABILITY_FLAGS[n] for n in CAPABILITY_FLAGS if n in names)


@app.command()
def show(
    model_id: Annotated[str, typer.Argument(help="Model id, alias, HF repo or Ollama tag")],
    json_: JsonOpt = False,
) -> None:
    """Show every fact about a model with its source; conflicting claims side by side

    \b
    Examples:
      yard models show deepseek-v3
      yard models show meta-llama/Llama-3.1-8B-Instruct --json
    """
    from modelyard.catalog import check_params, claims_by_metric, find_model, model_sources

    catalog = load()
    model = find_model(catalog, model_id)
    if json_:
        print_json(
            {
                "model": model,
                "param_check": check_params(model),
                "claims_by_metric": claims_by_metric(model),
                "sources": model_sources(model, catalog),
            }
        )
        return
    _render_model(model, catalog)


def _render_model(model: Model, catalog: Catalog) -> None:
    from modelyard.catalog import model_sources

    sources = model_sources(model, catalog)
    number = {s.id: i + 1 for i, s in enumerate(sources)}

    def cite(source_id: str | None) -> str:
        return f"[{number[source_id]}]" if source_id in number else ""

    status = "verified" if model.verified else "[bold red]UNVERIFIED: articles only[/]"
    facts = [
        ["id", model.id, ""],
        ["status", status, ""],
        ["vendor", model.vendor, ""],
        ["hf repo", model.hf_repo or "", ""],
        ["ollama", model.ollama_tag or "", ""],
        ["released", str(model.released or ""), ""],
        [
            "license",
            model.license or "",
            cite(model.license_ref.source if model.license_ref else None),
        ],
        [
            "context",
            f"{model.context_window or 0:,}",
            cite(model.context_ref.source if model.context_ref else None),
        ],
        ["languages", ", ".join(model.languages), ""],
        ["modalities", ", ".join(model.modalities), ""],
        [
            "capabilities",
            ", ".join(k for k, v in model.capabilities.model_dump().items() if v),
            "",
        ],
    ]
    console.print(table(["fact", "value", "src"], facts, title=model.name))
    _render_architecture(model, cite)
    _render_claims(model, cite)
    if model.quantized:
        rows = [[q.format, q.repo or "", "yes" if q.official else ""] for q in model.quantized]
        console.print(table(["format", "where", "official"], rows, title="Quantized variants"))
    if model.notes:
        console.print(Panel(model.notes, title="notes"))
    lines = [f"[{number[s.id]}] {_describe_source(s)}" for s in sources]
    console.print(Panel("\n".join(lines) or "none", title="sources"))


def _describe_source(s: Source) -> str:
    parts = [s.title, s.publisher, str(s.date) if s.date else None, s.url]
    return " · ".join(p for p in parts if p)


def _render_architecture(model: Model, cite: Callable[[str | None], str]) -> None:
    from modelyard.catalog import check_params

    arch = model.architecture
    if arch is None:
        return
    fields = arch.model_dump(exclude={"ref", "moe", "mla", "extra_params_note"})
    rows = [[k, str(v)] for k, v in fields.items() if v is not None]
    for part in (arch.moe, arch.mla):
        if part is not None:
            rows += [[k, str(v)] for k, v in part.model_dump().items() if v is not None]
    check = check_params(model)
    if check is not None:
        rows.append(_param_line("params total", check.published_total, check.computed_total))
        if check.published_active:
            rows.append(_param_line("params active", check.published_active, check.computed_active))
    console.print(table(["field", "value"], rows, title=f"Architecture {cite(arch.ref.source)}"))


def _param_line(label: str, published: float | None, computed: int) -> list[str]:
    if not published:
        return [label, f"computed {human_count(computed)}"]
    err = (computed - published) / published
    return [
        label,
        f"published {human_count(published)}, computed {human_count(computed)} ({err:+.1%})",
    ]


def _render_claims(model: Model, cite: Callable[[str | None], str]) -> None:
    from modelyard.catalog import claims_by_metric

    groups = claims_by_metric(model)
    if not groups:
        return
    rows = []
    for group in groups:
        flag = "[yellow]DISAGREE[/]" if group.disagreement else ""
        values = "  vs  ".join(f"{_claim_value(c)} {cite(c.ref.source)}" for c in group.claims)
        conditions = "; ".join(c.conditions for c in group.claims if c.conditions)
        rows.append([group.metric, values, conditions, flag])
    console.print(table(["metric", "value [source]", "conditions", ""], rows, title="Claims"))


@app.command()
def compare(
    model_ids: Annotated[list[str], typer.Argument(help="Two or more model ids")],
    json_: JsonOpt = False,
) -> None:
    """Compare models side by side in one table

    \b
    Examples:
      yard models compare llama-3.3-70b-instruct qwen2.5-72b-instruct deepseek-v3
    """
    from modelyard.catalog import check_params, find_model

    catalog = load()
    models = [find_model(catalog, m) for m in model_ids]
    if json_:
        print_json([{"model": m, "param_check": check_params(m)} for m in models])
        return
    rows = [
        [
            "params",
            *(human_count(m.params_total.value if m.params_total else None) for m in models),
        ],
        [
            "active",
            *(human_count(m.params_active.value if m.params_active else None) for m in models),
        ],
        ["context", *(human_tokens(m.context_window) for m in models)],
        ["license", *(m.license or "" for m in models)],
        ["languages", *(",".join(m.languages) for m in models)],
        [
            "layers",
            *(str(m.architecture.num_hidden_layers) if m.architecture else "" for m in models),
        ],
        [
            "kv heads",
            *(str(m.architecture.num_key_value_heads) if m.architecture else "" for m in models),
        ],
        ["attention", *(_attention_kind(m) for m in models)],
    ]
    metrics = sorted({c.metric for m in models for c in m.claims})
    for metric in metrics:
        rows.append([metric, *(_claim_cell(m, metric) for m in models)])
    console.print(table(["", *(m.id for m in models)], rows))


def _attention_kind(model: Model) -> str:
    arch = model.architecture
    if arch is None:
        return ""
    kind = (
        "MLA"
        if arch.mla
        else "MHA"
        if arch.num_key_value_heads == arch.num_attention_heads
        else "GQA"
    )
    if arch.sliding_window:
        kind += f" + {arch.local_attention} {arch.sliding_window} ({arch.layer_pattern})"
    return kind + (" MoE" if arch.moe else "")


def _claim_value(claim: Claim) -> str:
    """A claim's value as people read it: 78.5B, 128k, 88.5."""
    value = claim.value
    if isinstance(value, str):
        return value
    if claim.metric in ("params_total", "params_active"):
        return human_count(value)
    if claim.metric == "context_window":
        return human_tokens(int(value))
    return f"{value:,.6g}"


def _claim_cell(model: Model, metric: str) -> str:
    return " / ".join(_claim_value(c) for c in model.claims if c.metric == metric)


@app.command()
def apis(
    provider: Annotated[
        str | None, typer.Option("-p", "--provider", help="Only this provider")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """List API offers with their per-token prices and sources

    \b
    Examples:
      yard models apis
      yard models apis --provider together --json
    """
    from modelyard.catalog import list_apis

    catalog = load()
    offers = list_apis(catalog, provider)
    if json_:
        print_json(offers)
        return
    rows = [
        [
            a.id,
            f"{a.input_per_mtok:g}",
            "" if a.cached_input_per_mtok is None else f"{a.cached_input_per_mtok:g}",
            f"{a.output_per_mtok:g}",
            "open" if a.open_weights else "closed",
            f"{catalog.sources[a.ref.source].title[:40]} ({catalog.sources[a.ref.source].date})",
        ]
        for a in offers
    ]
    console.print(
        table(
            ["offer", "$/M in", "$/M cached", "$/M out", "weights", "source"],
            rows,
            title="API prices (USD per 1M tokens)",
            right=["$/M in", "$/M cached", "$/M out"],
        )
    )


@app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="GGUF file, config.json, or a folder with one")],
    id_: Annotated[str | None, typer.Option("-i", "--id", help="Catalog id to give it")] = None,
    license_: Annotated[
        str | None, typer.Option("-l", "--license", help="License id, when the file states none")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Import a model from a Hugging Face config.json or a GGUF header into your catalog

    \b
    Examples:
      yard models import ~/models/SmolLM2-135M-Instruct.Q4_1.gguf
      yard models import ./Qwen3-30B-A3B/config.json --id qwen3-30b-a3b-local --license apache-2.0
    """
    from modelyard.catalog import check_params, import_model

    model = import_model(path, id_, license_)
    if json_:
        print_json({"model": model, "param_check": check_params(model)})
        return
    console.print(f"Imported [bold]{model.id}[/] into {user_catalog_dir() / 'models'}")
    _render_architecture(model, lambda _source: "")
