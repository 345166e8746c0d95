"""`yard pull`: fetch a GGUF model into the local cache."""

from __future__ import annotations

from typing import Annotated

import typer

from modelyard.cli._render import err_console, print_json
from modelyard.pull import ALIASES, pull


def pull_command(
    spec: Annotated[
        str,
        typer.Argument(
            help=f"Local .gguf path, Hugging Face owner/repo/file.gguf, or {', '.join(ALIASES)}"
        ),
    ] = "default",
    json_: Annotated[bool, typer.Option("--json", help="Output as JSON")] = False,
) -> None:
    """Fetch a model file into the local cache and print its path

    \b
    Examples:
      yard pull                      # the default SmolLM2-135M-Instruct model
      yard pull bartowski/Qwen2.5-7B-Instruct-GGUF/Qwen2.5-7B-Instruct-Q4_K_M.gguf
      yard pull ./my-model.gguf --json
    """
    with err_console.status(f"pulling {spec}"):
        path = pull(spec)
    if json_:
        print_json({"spec": spec, "path": str(path), "size_bytes": path.stat().st_size})
        return
    typer.echo(str(path))
