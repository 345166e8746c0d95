"""`yard keys`: create, list and revoke the gateway's virtual API keys, in the ledger database."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from modelyard.cli._render import console, print_json, table
from modelyard.cli.usage import DbOpt, JsonOpt
from modelyard.config import yard_home
from modelyard.serve.keys import KeyInfo, KeyStore
from modelyard.serve.usage import open_store

app = typer.Typer(help="Virtual API keys for `yard serve` (stored hashed).", no_args_is_help=True)


def _store(db: str | None) -> KeyStore:
    return KeyStore.open(open_store(db, yard_home()))


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="Who or what the key is for")],
    model: Annotated[
        list[str] | None, typer.Option("-m", "--model", help="Allowed model or glob (repeatable)")
    ] = None,
    budget: Annotated[float | None, typer.Option("-b", "--budget", help="USD budget")] = None,
    per: Annotated[
        str | None, typer.Option("--per", help="Budget per UTC day or month: daily, monthly")
    ] = None,
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
      yard keys create intern --budget 2 --per daily
      yard keys create ci --tpm 100000 --json
      yard keys create hr-assistant --private
    """
    info, raw = _store(db).create(name, model or None, budget, rpm, tpm, private, per)
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


def _budget(key: KeyInfo) -> str:
    """``25``, or ``2/day``, ``25/month`` for a budget per period."""
    if key.budget_usd is None:
        return ""
    per = {"daily": "/day", "monthly": "/month"}.get(key.budget_period or "", "")
    return f"{key.budget_usd:g}{per}"


def _table(keys: list[KeyInfo]) -> Table:
    columns = [
        "id", "name", "prefix", "models", "budget $", "spent $", "rpm", "tpm", "private", "revoked",
    ]  # fmt: skip
    rows = [
        [
            k.id, k.name, k.prefix + "…", ",".join(k.models) if k.models else "any",
            _budget(k), f"{k.spent_usd:.4f}",
            k.rpm, k.tpm, "yes" if k.private else "", k.revoked_utc or "",
        ]
        for k in keys
    ]  # fmt: skip
    return table(
        columns, rows, title=f"{len(keys)} keys", right=["budget $", "spent $", "rpm", "tpm"]
    )
