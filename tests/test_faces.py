"""Each package's ``__init__`` names what other packages may use, and the CLI, the benchmarks
and the scripts use nothing else."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from modelyard._lazy import type_checking_imports

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "modelyard"
LAZY = ["catalog", "serve", "measure", "route"]
"""Faces that load each name's module on first use."""
FACED = [*LAZY, "bench", "eval", "plan", "privacy", "report"]
CONSUMERS = [SRC / "cli", ROOT / "benchmarks", ROOT / "scripts"]
INTERNALS = {
    "benchmarks/dashboard/insert.py": "times the ledger writer against schema variants built "
    "from the migration's own SQL: the internals are what it measures",
    "benchmarks/route_quality/features.py": "an ablation of the router's prompt features: it "
    "rebuilds the featurizer without one feature and plays the same folds and bootstrap draws "
    "through the evaluation's own steps, so the parts it switches off are what it measures",
}
"""Files that measure a package's insides, with why they may import them."""


@pytest.mark.parametrize("package", LAZY)
def test_a_lazy_face_lists_what_it_imports_and_every_name_resolves(package: str) -> None:
    module = importlib.import_module(f"modelyard.{package}")
    homes = type_checking_imports(SRC / package / "__init__.py")
    assert sorted(module.__all__) == sorted(homes)
    for name in module.__all__:
        home, attribute = homes[name]
        assert getattr(importlib.import_module(home), attribute) is getattr(module, name)
    with pytest.raises(AttributeError, match="has no attribute 'nothing_here'"):
        module.nothing_here  # noqa: B018


@pytest.mark.parametrize("package", LAZY)
def test_importing_a_lazy_face_loads_none_of_its_modules(package: str) -> None:
    code = (
        f"import sys, modelyard.{package}; "
        f"print(sorted(m for m in sys.modules if m.startswith('modelyard.{package}.')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def imported_from_inside(path: Path, root: Path = ROOT) -> list[str]:
    """``file:line module`` for each import of a faced package's inner module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module in (f"modelyard.{p}" for p in FACED):  # from modelyard.x import y
                public = importlib.import_module(node.module).__all__
                names = [f"{node.module}.{a.name}" for a in node.names if a.name not in public]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        found += [
            f"{path.relative_to(root)}:{node.lineno} {name}"
            for name in names
            if name.split(".")[:2] in (["modelyard", p] for p in FACED) and name.count(".") > 1
        ]
    return found


def test_the_cli_benchmarks_and_scripts_use_only_public_faces() -> None:
    files = [
        f
        for folder in CONSUMERS
        for f in folder.rglob("*.py")
        if ".venv" not in f.parts and str(f.relative_to(ROOT)) not in INTERNALS
    ]
    assert [line for f in files for line in imported_from_inside(f)] == []


def test_the_check_catches_an_inner_import(tmp_path: Path) -> None:
    script = tmp_path / "x.py"
    script.write_text(
        "from modelyard.serve.keys import KeyStore\nfrom modelyard.serve import chat\n"
        "import modelyard.catalog.queries\nfrom modelyard.catalog import queries\n"
    )
    found = [line.split(" ")[1] for line in imported_from_inside(script, tmp_path)]
    assert found == [
        "modelyard.serve.keys",
        "modelyard.catalog.queries",
        "modelyard.catalog.queries",
    ]
