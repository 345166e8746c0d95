"""`yard` starts fast because commands import their packages only when they run.

Each case runs `yard` in a fresh interpreter and lists the modules loaded by the time it exits.
The time itself is measured by benchmarks/cli_startup (timings are not asserted in tests).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
import atexit, json, sys
out = sys.argv[1]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
sys.argv = ["yard", *sys.argv[2:]]
from modelyard.cli import main
main()
"""
PACKAGES = ["catalog", "plan", "serve", "route", "eval", "bench", "measure", "pull"]
LIBRARIES = ["numpy", "scipy", "sqlalchemy", "yaml", "aiohttp", "starlette", "httpx", "rapidfuzz"]
"""(Typer itself loads pydantic to convert a command's options.)"""


def loaded(args: list[str], tmp_path: Path) -> set[str]:
    out = tmp_path / "modules.json"
    env = {**os.environ, "YARD_HOME": str(tmp_path / "home"), "COLUMNS": "100"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(out), *args],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return {
        m.split(".")[0] if not m.startswith("modelyard.") else m
        for m in json.loads(out.read_text())
    }


def heavy(modules: set[str], allowed: set[str] = frozenset()) -> list[str]:
    wanted = {f"modelyard.{p}" for p in PACKAGES} | set(LIBRARIES)
    return sorted(
        m for m in modules if any(m == w or m.startswith(w + ".") for w in wanted - allowed)
    )


@pytest.mark.parametrize(
    "args",
    [["--help"], ["-h"], ["--version"], ["serve", "--help"], ["bench", "-h"], ["plan", "--help"]],
)
def test_help_and_version_load_no_package(args: list[str], tmp_path: Path) -> None:
    assert heavy(loaded(args, tmp_path)) == []


def test_models_list_loads_the_catalog_and_nothing_else(tmp_path: Path) -> None:
    allowed = {"modelyard.catalog", "yaml", "rapidfuzz"}
    assert heavy(loaded(["models", "list"], tmp_path), allowed) == []
