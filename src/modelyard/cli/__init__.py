"""`yard`: thin commands that parse, call one package function and render."""

from __future__ import annotations

import sys

import typer

from modelyard import __version__
from modelyard.cli import (
    bench,
    eval,
    gpus,
    keys,
    measure,
    models,
    plan,
    privacy,
    pull,
    route,
    runs,
    serve,
    usage,
)
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
app.add_typer(keys.app, name="keys")
app.add_typer(usage.app, name="usage")
app.add_typer(gpus.app, name="gpus")
app.add_typer(route.app, name="route")
app.add_typer(privacy.app, name="privacy")
app.add_typer(runs.app, name="runs")
app.command(name="plan")(plan.plan)
app.command("pull")(pull.pull_command)
app.command("bench")(bench.bench)
app.command("eval")(eval.eval_command)
app.command("serve")(serve.serve_command)
app.command("chat")(serve.chat_command)
app.command("measure")(measure.measure_command)


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
