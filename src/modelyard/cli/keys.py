"""`yard keys`: create, list and revoke the gateway's virtual API keys, in the ledger database."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from modelyard.cli._render import console, print_json, table
from modelyard.cli.usage import DbOpt, JsonOpt
from modelyard.config import yard_home

if TYPE_CHECKING:
    from rich.table import Table

    from modelyard.serve import KeyInfo, KeyStore

app = typer.Typer(help="Virtual API keys for `yard serve` (stored hashed).", no_args_is_help=True)


def _store(db: str | None) -> KeyStore:
    from modelyard.serve import KeyStore, open_store

    return KeyStore.open(open_store(db, yard_home()))


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="Who or what the key is for")],
    model: Annotated[
        list[str] | None, typer.Option("-m", "--model", help="Allowed model or glob (repeatable)")
    ] = None,
    budget: Annotated[float | None, typer.Option("-b", "--budget", help="Total USD budget")] = None,
    rpm: Annotated[int | None, typer.Option("--rpm", help="Requests per minute")] = None,
    tpm: Annotated[int | None, typer.Option("--tpm", help="Tokens per minute")] = None,
    private: Annotated[
        bool, typer.Option("-p", "--private", help="Only self-hosted backends may answer it")
    ] = False,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Create a key; it is printed once and never again

    \b
    Examples:
      yard keys create team-search --model 'qwen*' --budget 25 --rpm 60
      yard keys create ci --tpm 100000 --json
      yard keys create hr-assistant --private
    """
    info, raw = _store(db).create(name, model or None, budget, rpm, tpm, private)
    if json_:
        print_json({**vars(info), "key": raw})
        return
    console.print(
        f"Created key [bold]{info.name}[/bold] ({info.id}). Copy it now, it is not shown again:"
    )
    typer.echo(raw)


@app.command("list")
def list_(db: DbOpt = None, json_: JsonOpt = False) -> None:
    """List keys with their limits and spend (never the keys themselves)"""
    keys = _store(db).list()
    if json_:
        print_json(keys)
        return
    console.print(_table(keys))


@app.command()
def revoke(
    key_id: Annotated[str, typer.Argument(help="Key id, as `yard keys list` shows")],
    db: DbOpt = None,
) -> None:
    """Revoke a key; a running gateway refuses it within server.key_refresh_s (2 s)"""
    info = _store(db).revoke(key_id)
    console.print(f"Revoked key [bold]{info.name}[/bold] ({info.id}) at {info.revoked_utc}.")


def _table(keys: list[KeyInfo]) -> Table:
    columns = [
        "id", "name", "prefix", "models", "budget $", "spent $", "rpm", "tpm", "private", "revoked",
    ]  # fmt: skip
    rows = [
        [
            k.id, k.name, k.prefix + "…", ",".join(k.models) if k.models else "any",
            "" if k.budget_usd is None else f"{k.budget_usd:g}", f"{k.spent_usd:.4f}",
            k.rpm, k.tpm, "yes" if k.private else "", k.revoked_utc or "",
        ]
        for k in keys
    ]  # fmt: skip
    return table(
        columns, rows, title=f"{len(keys)} keys", right=["budget $", "spent $", "rpm", "tpm"]
    )
