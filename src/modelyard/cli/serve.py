"""`yard serve` (the gateway) and `yard config check` (what it would refuse, before it starts)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from modelyard.cli._render import console, err_console, print_json

if TYPE_CHECKING:
    from modelyard.serve import ConfigCheck, GatewayConfig

ConfigOpt = Annotated[
    Path | None,
    typer.Option("-c", "--config", envvar="YARD_GATEWAY_CONFIG", help="Gateway YAML config",
                 exists=True, dir_okay=False),
]  # fmt: skip
JsonOpt = Annotated[bool, typer.Option("--json", help="Output as JSON")]

app = typer.Typer(help="Check gateway configs before serving them.", no_args_is_help=True)


def serve_command(
    config: ConfigOpt = None,
    host: Annotated[str | None, typer.Option("--host", envvar="YARD_HOST",
                                             help="Interface (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option("-p", "--port", envvar="YARD_PORT",
                                             help="Port (default 4000)")] = None,
    workers: Annotated[str | None, typer.Option(
        "-w", "--workers", envvar="YARD_WORKERS",
        help="Processes sharing the port: a number, or auto (one per CPU); default 1",
    )] = None,
    check: Annotated[bool, typer.Option(
        "--check", help="Only check the config (every problem at once) and exit",
    )] = False,
    json_: JsonOpt = False,
) -> None:  # fmt: skip
    """Serve one OpenAI-compatible endpoint over local and remote models

    With no config: the local llama.cpp engine running SmolLM2-135M, as models
    `smollm2` and `default`, on 127.0.0.1:4000. The config is checked first (as --check
    does), and the local backends' model files are pulled, before anything is served.

    \b
    Examples:
      yard serve
      yard serve --config gateway.yaml --port 8080
      yard serve --config gateway.yaml --workers auto
      yard serve --config gateway.yaml --check
    """
    from modelyard.serve import check_config

    result = check_config(config)
    if check:
        _show(result, json_)
        return
    settings = _valid(result)
    _pull_models(result)
    address = f"http://{host or settings.server.host}:{port or settings.server.port}"
    names = [*settings.models, *([settings.auto.name] if settings.auto else [])]
    err_console.print(
        f"modelyard gateway on {address}/v1 - models: {', '.join(names)}\n"
        f'  try: yard chat --url {address} "Hello"   or point the OpenAI SDK at {address}/v1'
    )
    from modelyard.serve import serve

    serve(settings, host, port, workers)


@app.command("check")
def check_command(
    config: Annotated[
        Path | None, typer.Argument(help="Gateway YAML config (none: the embedded default)")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Check a gateway config as `yard serve` would, reporting every problem at once

    Schema and references (with file:line and did-you-mean), unset ${ENV} variables, model
    files, catalog prices and the router file. Nothing is started, no model file downloaded.

    \b
    Examples:
      yard config check gateway.yaml
      yard config check gateway.yaml --json
    """
    from modelyard.serve import check_config

    _show(check_config(config), json_)


def _show(result: ConfigCheck, json_: bool) -> None:
    """Print what the check found; a config with problems exits 1 after listing them all."""
    if json_:
        models = {name: str(source) for name, source in result.models.items()}
        print_json({"source": result.source, "ok": result.ok, "problems": result.problems,
                    "models": models})  # fmt: skip
        if not result.ok:
            raise typer.Exit(1)
        return
    settings = _valid(result)
    backends = ", ".join(b.name for b in settings.backends)
    console.print(f"{result.source}: ok - backends {backends}; models {', '.join(settings.models)}"
                  + (f", {settings.auto.name}" if settings.auto else ""))  # fmt: skip
    for name, source in result.models.items():
        console.print(f"  {name} runs {source}")


def _valid(result: ConfigCheck) -> GatewayConfig:
    """The checked config, or a ConfigError listing every problem."""
    from modelyard.errors import ConfigError

    if result.config is None or result.problems:
        count = len(result.problems)
        heading = f"{result.source}: {count} problem{'s' if count > 1 else ''}"
        raise ConfigError("\n".join([heading, *result.problems]))
    return result.config


def _pull_models(result: ConfigCheck) -> None:
    """Fetch the local backends' model files now, so a failed download stops `yard serve`
    before it starts serving (the engines then find them in the cache)."""
    from modelyard.pull import is_cached, pull

    assert result.config is not None
    for name, source in result.models.items():
        if not is_cached(source):
            err_console.print(f"[dim]pulling {source} for backend {name}[/]")
            pull(result.config.backend(name).gguf or "")
