"""Regenerate the generated parts of docs/ from the code (run with --check in tests).

- docs/catalog.md: the schema reference, from the pydantic field docstrings.
- docs/cli.md: every command's --help output.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import typer.main
from pydantic import BaseModel
from typer.testing import CliRunner

import modelyard.catalog as catalog
from modelyard.cli import app

DOCS = Path(__file__).resolve().parents[1] / "docs"
SCHEMA_CLASSES: list[type[BaseModel]] = [
    catalog.Model,
    catalog.Architecture,
    catalog.RopeScaling,
    catalog.MoE,
    catalog.MLA,
    catalog.Param,
    catalog.Claim,
    catalog.Ref,
    catalog.Capabilities,
    catalog.Quantized,
    catalog.License,
    catalog.GPU,
    catalog.Price,
    catalog.ApiOffer,
    catalog.Source,
]


def _type_name(annotation: object) -> str:
    text = getattr(annotation, "__name__", None) or str(annotation)
    return re.sub(r"typing\.|modelyard\.catalog\.schema\.|datetime\.", "", text)


def schema_reference() -> str:
    """Markdown tables, one per schema class, of field, type, default and meaning."""
    parts = []
    for cls in SCHEMA_CLASSES:
        doc = (cls.__doc__ or "").strip().splitlines()[0]
        rows = ["| field | type | default | meaning |", "| --- | --- | --- | --- |"]
        for name, info in cls.model_fields.items():
            default = (
                "required"
                if info.is_required()
                else repr(info.get_default(call_default_factory=True))
            )
            meaning = (info.description or "").replace("|", "\\|").replace("\n", " ")
            kind = _type_name(info.annotation).replace("|", "\\|")
            rows.append(f"| `{name}` | {kind} | {default} | {meaning} |")
        parts.append(f"### {cls.__name__}\n{doc}\n\n" + "\n".join(rows))
    return "\n\n".join(parts)


def _commands(group: Any, prefix: list[str]) -> list[list[str]]:
    """Paths of every group and command below ``group`` (typer vendors its own click)."""
    found = [prefix]
    for name in sorted(group.commands):
        sub = group.commands[name]
        path = [*prefix, name]
        found += _commands(sub, path) if hasattr(sub, "commands") else [path]
    return found


def cli_reference() -> str:
    """Every command's --help, in a code block per command."""
    runner = CliRunner()
    parts = []
    for path in _commands(typer.main.get_command(app), []):
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "100", "NO_COLOR": "1"})
        title = " ".join(["yard", *path])
        text = "\n".join(line.rstrip() for line in result.output.strip("\n").splitlines())
        parts.append(f"## {title}\n\n```\n{text}\n```")
    return "\n\n".join(parts)


def replace_between(text: str, marker: str, body: str) -> str:
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise SystemExit(f"marker {start} missing")
    return pattern.sub(lambda _m: f"{start}\n{body}\n{end}", text)


def targets() -> dict[Path, str]:
    catalog = DOCS / "catalog.md"
    cli = DOCS / "cli.md"
    return {
        catalog: replace_between(catalog.read_text(), "schema", schema_reference()),
        cli: replace_between(cli.read_text(), "commands", cli_reference()),
    }


def main(check: bool) -> int:
    stale = []
    for path, text in targets().items():
        if path.read_text() != text:
            stale.append(path)
            if not check:
                path.write_text(text)
    if check and stale:
        print(f"stale: {', '.join(map(str, stale))}; run python scripts/gen_docs.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main("--check" in sys.argv))
