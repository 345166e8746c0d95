"""`yard keys`: create, list, edit and revoke the gateway's virtual API keys, in the ledger
database."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from modelyard.cli._render import console, print_json, table
from modelyard.cli.usage import DbOpt, JsonOpt
from modelyard.config import yard_home

if TYPE_CHECKING:
    from rich.table import Table

    from modelyard.privacy import Mode
    from modelyard.serve import KeyInfo, KeyStore

BudgetOpt = Annotated[float | None, typer.Option("-b", "--budget", help="USD budget")]
PerOpt = Annotated[
    str | None, typer.Option("--per", help="Budget per UTC day or month: daily, monthly")
]

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
    budget: BudgetOpt = None,
    per: PerOpt = None,
    rpm: Annotated[int | None, typer.Option("--rpm", help="Requests per minute")] = None,
    tpm: Annotated[int | None, typer.Option("--tpm", help="Tokens per minute")] = None,
    private: Annotated[
        bool, typer.Option("-p", "--private", help="Only self-hosted backends may answer it")
    ] = False,
    private_data: Annotated[
        str | None,
        typer.Option("--private-data", help="Requests with private data: local, redact or block"),
    ] = None,
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
      yard keys create support-bot --private-data redact
    """
    info, raw = _store(db).create(
        name, model or None, budget, rpm, tpm, private,
        budget_period=per, private_data=_mode(private_data),
    )  # fmt: skip
    if json_:
        print_json({**vars(info), "key": raw})
        return
    console.print(
        f"Created key [bold]{info.name}[/bold] ({info.id}). Copy it now, it is not shown again:"
    )
    typer.echo(raw)


UNSETTABLE = {
    "models": "models", "budget": "budget_usd", "per": "budget_period", "rpm": "rpm",
    "tpm": "tpm", "private-data": "private_data",
}  # fmt: skip


def _mode(value: str | None) -> Mode | None:
    """A key's private-data mode as given on the command line, checked."""
    from modelyard.privacy import MODES

    if value is not None and value not in MODES:
        raise typer.BadParameter(
            f"{value!r}: choose {', '.join(MODES)}", param_hint="--private-data"
        )
    return value


@app.command()
def edit(
    key_id: Annotated[str, typer.Argument(help="Key id, as `yard keys list` shows")],
    name: Annotated[str | None, typer.Option("--name", help="New name")] = None,
    model: Annotated[
        list[str] | None, typer.Option("-m", "--model", help="Allowed models (replaces them)")
    ] = None,
    budget: BudgetOpt = None,
    per: PerOpt = None,
    rpm: Annotated[int | None, typer.Option("--rpm", help="Requests per minute")] = None,
    tpm: Annotated[int | None, typer.Option("--tpm", help="Tokens per minute")] = None,
    private: Annotated[
        bool | None, typer.Option("--private/--not-private", help="Self-hosted backends only")
    ] = None,
    private_data: Annotated[
        str | None,
        typer.Option("--private-data", help="Requests with private data: local, redact or block"),
    ] = None,
    unset: Annotated[
        list[str] | None,
        typer.Option("--unset", help="Remove: models, budget, per, rpm, tpm, private-data"),
    ] = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Change a key's name, allowed models, budget, limits or private flag

    \b
    Examples:
      yard keys edit 01J... --budget 50 --rpm 120
      yard keys edit 01J... --budget 5 --per monthly
      yard keys edit 01J... --unset budget --model 'qwen*'
    """
    changes: dict[str, object] = {
        field: value
        for field, value in (
            ("name", name),
            ("budget_usd", budget),
            ("budget_period", per),
            ("rpm", rpm),
            ("tpm", tpm),
            ("private", private),
            ("private_data", _mode(private_data)),
        )
        if value is not None
    }
    if model:
        changes["models"] = tuple(model)
    for field in unset or ():
        if field not in UNSETTABLE:
            raise typer.BadParameter(
                f"{field!r}: choose {', '.join(UNSETTABLE)}", param_hint="--unset"
            )
        changes[UNSETTABLE[field]] = None
    if not changes:
        raise typer.BadParameter("give something to change (see --help)")
    from modelyard.serve import KeyEdit

    info = _store(db).update(key_id, KeyEdit(**changes))  # type: ignore[arg-type]
    if json_:
        print_json(info)
        return
    console.print(_table([info]))


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
