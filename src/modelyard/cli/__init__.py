"""`yard`: thin commands that parse, call one package function and render."""

from __future__ import annotations

import sys

import typer

from modelyard import __version__
from modelyard.cli import models
from modelyard.config import raise_errors
from modelyard.errors import YardError

app = typer.Typer(
    name="yard",
    help="Choose, size, prove and serve open-weight LLMs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(models.app, name="models")


@app.command()
def version() -> None:
    """Print the modelyard version"""
    typer.echo(__version__)


def main() -> None:
    """Entry point: run the app, turning YardError into one message and exit code 1."""
    try:
        app(standalone_mode=False)
    except YardError as exc:
        if raise_errors():
            raise
        typer.secho(f"Error: {exc}", err=True, fg="red")
        sys.exit(1)
    except typer.Abort:
        typer.echo("Aborted.", err=True)
        sys.exit(130)
    except (typer.Exit, SystemExit) as exc:
        code = getattr(exc, "exit_code", getattr(exc, "code", 0))
        sys.exit(code or 0)
    except Exception as exc:  # click usage errors carry their own exit code and message
        show = getattr(exc, "show", None)
        if show is None:
            raise
        show()
        sys.exit(getattr(exc, "exit_code", 2))
