"""`yard pull`: fetch a GGUF model into the local cache."""

from __future__ import annotations

from typing import Annotated

import typer

from modelyard.cli._render import err_console, print_json


def pull_command(
    spec: Annotated[
        str,
        typer.Argument(
            help="Catalog model, Hugging Face owner/repo[/file.gguf], local .gguf path, "
            "or smollm2 (the default model)"
        ),
    ] = "default",
    quant: Annotated[
        str | None,
        typer.Option("-q", "--quant", help="Quantization to take from a repository, e.g. Q8_0"),
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Output as JSON")] = False,
) -> None:
    """Fetch a model file into the local cache and print its path

    A catalog model is pulled from the GGUF repository the catalog lists for it, in Q4_K_M
    unless --quant names another quantization the repository holds.

    \b
    Examples:
      yard pull                      # the default SmolLM2-135M-Instruct model
      yard pull qwen3-0.6b
      yard pull qwen3-8b --quant Q8_0
      yard pull bartowski/Qwen2.5-7B-Instruct-GGUF/Qwen2.5-7B-Instruct-Q4_K_M.gguf
      yard pull ./my-model.gguf --json
    """
    from modelyard.pull import pull

    err_console.print(f"pulling {spec}", style="dim")  # the hub shows its own progress bars
    path = pull(spec, quant=quant)
    if json_:
        print_json({"spec": spec, "path": str(path), "size_bytes": path.stat().st_size})
        return
    typer.echo(str(path))
