"""`yard serve` (the gateway) and `yard chat` (a one-line client for it)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelyard.cli._render import err_console
from modelyard.config import GATEWAY_URL

ConfigOpt = Annotated[
    Path | None,
    typer.Option("-c", "--config", envvar="YARD_GATEWAY_CONFIG", help="Gateway YAML config",
                 exists=True, dir_okay=False),
]  # fmt: skip


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
) -> None:  # fmt: skip
    """Serve one OpenAI-compatible endpoint over local and remote models

    With no config: the local llama.cpp engine running SmolLM2-135M, as models
    `smollm2` and `default`, on 127.0.0.1:4000.

    \b
    Examples:
      yard serve
      yard serve --config gateway.yaml --port 8080
      yard serve --config gateway.yaml --workers auto
    """
    from modelyard.serve.app import serve
    from modelyard.serve.config import default_config, load_config

    settings = load_config(config) if config else default_config()
    address = f"http://{host or settings.server.host}:{port or settings.server.port}"
    err_console.print(
        f"modelyard gateway on {address}/v1 - models: {', '.join(settings.models)}\n"
        f'  try: yard chat --url {address} "Hello"   or point the OpenAI SDK at {address}/v1'
    )
    serve(settings, host, port, workers)


def chat_command(
    prompt: Annotated[str, typer.Argument(help="What to ask")],
    model: Annotated[str, typer.Option("-m", "--model", envvar="YARD_MODEL",
                                       help="Model name the gateway serves")] = "default",
    url: Annotated[str, typer.Option("-u", "--url", envvar="YARD_URL",
                                     help="Gateway address")] = GATEWAY_URL,
    key: Annotated[str | None, typer.Option("-k", "--key", envvar="YARD_API_KEY",
                                            help="Gateway API key")] = None,
    max_tokens: Annotated[int | None, typer.Option("-n", "--max-tokens",
                                                   help="Longest answer, in tokens")] = 512,
) -> None:  # fmt: skip
    """Ask the gateway one question and stream the answer

    \b
    Examples:
      yard chat "Name three prime numbers"
      yard chat -m llama --url http://gpu-box:4000 "Bonjour"
    """
    from modelyard.serve.client import chat

    for piece in chat(url, model, prompt, key, max_tokens):
        typer.echo(piece, nl=False)
    typer.echo()
