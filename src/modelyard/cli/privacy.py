"""`yard privacy scan`: check a team's own traffic for private data before routing on it."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from modelyard.cli._render import console, print_json, table
from modelyard.cli.usage import JsonOpt
from modelyard.errors import MissingExtraError, YardError

app = typer.Typer(
    help="Find private data in prompts (what `auto` keeps in-house).", no_args_is_help=True
)


@app.command()
def scan(
    source: Annotated[str, typer.Argument(help="A text file, a JSONL of request bodies, or -")],
    jsonl: Annotated[
        bool | None,
        typer.Option("--jsonl/--text", help="Read lines as request bodies (default: by suffix)"),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Scan a file for private data; print kinds and positions, values masked

    \b
    Examples:
      yard privacy scan prompts.txt
      yard privacy scan requests.jsonl --json
      cat request.json | yard privacy scan - --jsonl
    """
    try:
        from modelyard.privacy import Scanner, scan_lines
    except ImportError as exc:
        raise MissingExtraError(exc.name or "a package", "serve", "yard privacy scan") from exc

    lines = _lines(source)
    as_jsonl = jsonl if jsonl is not None else source.endswith((".jsonl", ".ndjson"))
    reports = scan_lines(lines, as_jsonl, Scanner())
    if json_:
        print_json(reports)
        return
    rows = [
        (r.line, f.kind, f.where, f"{f.start}-{f.end}", f.masked)
        for r in reports
        for f in r.findings
    ]
    rows += [
        (r.line, "unread", r.error or r.unread or "", "", "")
        for r in reports
        if r.unread or r.error
    ]
    if rows:
        console.print(
            table(["line", "kind", "where", "chars", "value"], sorted(rows, key=lambda x: x[0]))
        )
    private = sum(r.private for r in reports)
    kinds = Counter(k for r in reports for k in r.kinds)
    summary = ", ".join(f"{k} {n}" for k, n in kinds.most_common())
    console.print(
        f"{len(reports)} item(s), {private} private" + (f": {summary}" if summary else "")
    )


def _lines(source: str) -> list[str]:
    if source == "-":
        return sys.stdin.readlines()
    path = Path(source)
    if not path.is_file():
        raise YardError(f"{source}: no such file")
    try:
        return path.read_text(encoding="utf-8").splitlines(keepends=True)
    except UnicodeDecodeError as exc:
        raise YardError(f"{source}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
