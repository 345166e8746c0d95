"""`yard usage`: spend by key, model and day from the ledger, and savings against an API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from modelyard.cli._render import console, print_json, table
from modelyard.config import env, user_catalog_dir, yard_home
from modelyard.errors import YardError

if TYPE_CHECKING:
    from rich.table import Table

    from modelyard.serve import UsageRow

app = typer.Typer(help="Spend and savings from the gateway's ledger.", invoke_without_command=True)

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db", envvar="YARD_LEDGER_URL", help="Ledger URL (default: SQLite in YARD_HOME)"
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Output as JSON")]
GROUPS = ("key", "model", "backend", "day", "adapter")


@app.callback()
def usage(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option("-s", "--since", help="Only since 7d, 12h, or a date")
    ] = None,
    vs: Annotated[
        str | None, typer.Option("--vs", help="API offer to compare with, e.g. openai/gpt-4o")
    ] = None,
    by: Annotated[
        str | None,
        typer.Option("-b", "--by", help="One table: key, model, backend, day, adapter"),
    ] = None,
    db: DbOpt = None,
    url: Annotated[
        str | None,
        typer.Option("-u", "--url", help="A running gateway to ask (GET /admin/usage)"),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Summarize spend by key, model, backend and day, and the savings against one API model

    \b
    Examples:
      yard usage --since 7d
      yard usage --vs openai/gpt-4o --by model
      YARD_ADMIN_KEY=... yard usage --url http://gateway:4000 --since 24h
      yard usage path
    """
    if ctx.invoked_subcommand is not None:
        return
    if by is not None and by not in GROUPS:
        raise typer.BadParameter(f"{by!r}: choose one of {', '.join(GROUPS)}", param_hint="--by")
    from modelyard.catalog import cached_catalog, find_api
    from modelyard.serve import open_store, parse_since, remote_summary, summarize

    if url is not None:
        report = remote_summary(url, _admin_key(), since, vs)
    else:
        offer = find_api(cached_catalog(user_catalog_dir()), vs) if vs else None
        engine = open_store(db, yard_home())
        report = summarize(engine, parse_since(since) if since else None, offer)
    if json_:
        print_json(report)
        return
    for group in (by,) if by else GROUPS:
        if group == "adapter" and not report.by_adapter and by is None:
            continue  # no fine-tuned adapter answered: no table
        rows = [*getattr(report, f"by_{group}"), report.total]
        console.print(_table(group, rows, report.vs))


def _admin_key() -> str:
    key = env("YARD_ADMIN_KEY")
    if not key:
        raise YardError("--url needs the gateway's admin key in YARD_ADMIN_KEY")
    return key


@app.command()
def path(db: DbOpt = None) -> None:
    """Print where the ledger is"""
    from modelyard.serve import store_url

    typer.echo(store_url(db, yard_home()))


@app.command("status")
def status_(db: DbOpt = None, json_: JsonOpt = False) -> None:
    """Show the ledger's size, time span, schema and journal backlog"""
    from modelyard.serve import open_store, status, store_url

    home = yard_home()
    info = status(open_store(db, home), store_url(db, home), home)
    if json_:
        print_json(info)
        return
    for name, value in vars(info).items():
        shown = ", ".join(value) if isinstance(value, list) else value
        console.print(f"[bold]{name}[/bold]: {'' if shown is None else shown}")


def _table(group: str, rows: list[UsageRow], vs: str | None) -> Table:
    columns = [group, "requests", "errors", "prompt", "completion", "cached", "cost $"]
    if vs:
        columns += [f"{vs} $", "saved $"]
    body = []
    for r in rows:
        line = [r.group, r.requests, r.errors, r.prompt_tokens, r.completion_tokens]
        line += [r.cached_tokens, f"{r.cost_usd:.4f}"]
        if vs:
            line += [f"{r.vs_cost_usd:.4f}", f"{r.savings_usd:.4f}"]
        body.append(line)
    return table(columns, body, title=f"usage by {group}", right=columns[1:])
