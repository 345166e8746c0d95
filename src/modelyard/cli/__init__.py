"""`yard`: thin commands that parse, call one package function and render.

Start-up stays fast (`yard --help` in about 0.2 s) because a command module imports, at its
top, only the standard library, typer, rich, ``cli._render`` and the foundation modules
(``modelyard.config``, ``modelyard.errors``, ``modelyard.policy``'s vocabularies). What a
command needs (catalog, plan, serve, ...) is imported inside the command function, and the
types its helpers are annotated with under ``if TYPE_CHECKING:``. tests/cli/test_startup.py
fails when a module-level import pulls a package in; benchmarks/cli_startup measures the time.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from modelyard import __version__
from modelyard.cli import (
    bench,
    chat,
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
from modelyard.cli._render import INTERRUPTED
from modelyard.config import raise_errors
from modelyard.errors import Interrupted, YardError

app = typer.Typer(
    name="yard",
    help="Choose, size, prove and serve open-weight LLMs.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)
app.add_typer(models.app, name="models")
app.add_typer(keys.app, name="keys")
app.add_typer(usage.app, name="usage")
app.add_typer(gpus.app, name="gpus")
app.add_typer(route.app, name="route")
app.add_typer(privacy.app, name="privacy")
app.add_typer(runs.app, name="runs")
app.add_typer(serve.app, name="config")
app.command(name="plan")(plan.plan)
app.command("pull")(pull.pull_command)
app.command("bench")(bench.bench)
app.command("eval")(eval.eval_command)
app.command("serve")(serve.serve_command)
app.command("chat")(chat.chat_command)
app.command("measure")(measure.measure_command)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"yard (modelyard) {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version_: Annotated[
        bool | None,
        typer.Option(
            "-V", "--version", callback=_print_version, is_eager=True, help="Print the version"
        ),
    ] = None,
) -> None:
    pass


@app.command()
def version() -> None:
    """Print the modelyard version"""
    typer.echo(__version__)


def main() -> None:
    """Entry point: YardError becomes one message and exit 1; Ctrl-C exits 130, saying what was
    kept when the command could keep something (``Interrupted``)."""
    try:
        status = app(standalone_mode=False)
    except Interrupted as exc:
        typer.secho(f"Interrupted: {exc}", err=True, fg="yellow")
        sys.exit(INTERRUPTED)
    except YardError as exc:
        if raise_errors():
            raise
        typer.secho(f"Error: {exc}", err=True, fg="red")
        sys.exit(1)
    except typer.Abort:
        typer.echo("Aborted.", err=True)
        sys.exit(INTERRUPTED)
    except (typer.Exit, SystemExit) as exc:
        code = getattr(exc, "exit_code", getattr(exc, "code", 0))
        sys.exit(code or 0)
    except Exception as exc:  # click usage errors carry their own exit code and message
        show = getattr(exc, "show", None)
        if show is None:
            raise
        show()
        sys.exit(getattr(exc, "exit_code", 2))
    if status == INTERRUPTED:  # typer turns a KeyboardInterrupt into this status
        typer.echo("Interrupted.", err=True)
    sys.exit(status if isinstance(status, int) else 0)
