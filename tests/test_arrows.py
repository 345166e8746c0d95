"""The package arrows of DESIGN.md, checked over every import statement in src/ (lazy ones too).

A package may import the foundation modules, ``catalog`` and ``policy``; ``serve`` may import
``route``; ``privacy`` (used by route and serve) and ``report`` (used by eval, bench and route)
are the homes DESIGN.md gives those decisions; nothing imports ``cli``. Any other arrow is
listed in EXCEPTIONS, by importing module or package, with the reason docs/architecture.md
gives for it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

FOUNDATION = {
    "__init__", "__version__", "_lazy", "errors", "config", "yamlfile", "strict", "retry",
}  # fmt: skip
"""Modules with no modelyard imports of their own beyond each other: importable by anything."""
SHARED = {"catalog", "policy"}
ALLOWED: dict[str, set[str]] = {
    "catalog": set(),
    "policy": {"catalog"},
    "gguf_choice": set(),
    "pull": {"catalog", "gguf_choice"},
    "privacy": set(),
    "report": set(),
    "plan": SHARED,
    "eval": SHARED | {"report"},
    "bench": SHARED | {"report"},
    "measure": SHARED,
    "route": SHARED | {"pull", "privacy", "report"},
    "serve": SHARED | {"route", "pull", "privacy"},
    "cli": {"*"},
}
"""For each unit (a package or a top-level module), the units it may import besides FOUNDATION."""
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("modelyard.measure", "modelyard.plan.calibration"): (
        "`yard measure` writes the calibration files the planner reads; their torch-free schema "
        "lives with the reader, so the planner never depends on torch"
    ),
    ("modelyard.measure", "modelyard.plan.train_calibration"): (
        "the same for the fine-tuning calibrations `yard measure --train` writes"
    ),
    ("modelyard.serve.reality", "modelyard.plan"): (
        "the dashboard's plan-against-reality view puts the planner's tok/s and $/1M beside the "
        "ledger's measured ones; imported lazily, never on the request path"
    ),
    ("modelyard.bench.compare", "modelyard.plan"): (
        "`yard bench --compare-plan` puts the planner's prediction beside the measurement"
    ),
}


def unit(module: str) -> str:
    """modelyard.serve.app -> serve; modelyard.errors -> errors; modelyard -> __init__."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports(root: Path) -> list[tuple[str, str, str]]:
    """(importing module, imported module, file:line) for every modelyard import under root."""
    found = []
    for path in sorted(root.rglob("*.py")):
        module = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
                if node.module == "modelyard":  # from modelyard import pull
                    names = [f"modelyard.{alias.name}" for alias in node.names]
            where = f"{path.relative_to(root.parent)}:{getattr(node, 'lineno', 0)}"
            found += [(module, n, where) for n in names if n.split(".")[0] == "modelyard"]
    return found


def _within(module: str, home: str) -> bool:
    """``module`` is ``home`` or one of its submodules."""
    return module == home or module.startswith(home + ".")


def forbidden(root: Path) -> list[str]:
    """Every import that crosses units against ALLOWED and is not an EXCEPTION."""
    wrong = []
    for source, target, where in imports(root):
        src, dst = unit(source), unit(target)
        allowed = ALLOWED.get(src, set())
        if src == dst or dst in FOUNDATION or dst in allowed or "*" in allowed:
            continue
        if any(_within(source, a) and target.startswith(b) for a, b in EXCEPTIONS):
            continue
        wrong.append(f"{where}: {src} -> {dst} ({target})")
    return wrong


def test_no_import_crosses_an_arrow_design_md_does_not_draw() -> None:
    assert forbidden(SRC) == []


def test_every_unit_in_src_has_a_rule() -> None:
    units = {unit(m) for m, _, _ in imports(SRC)} | {
        p.stem if p.is_file() else p.name
        for p in (SRC / "modelyard").iterdir()
        if (p.suffix == ".py" or (p / "__init__.py").exists())
    }
    assert units - FOUNDATION - set(ALLOWED) == set()


def test_foundation_imports_only_foundation() -> None:
    wrong = [
        (s, t)
        for s, t, _ in imports(SRC)
        if unit(s) in FOUNDATION and unit(s) != "__init__" and unit(t) not in FOUNDATION
    ]
    assert wrong == []


@pytest.mark.parametrize(
    ("path", "text", "arrow"),
    [
        ("catalog/x.py", "from modelyard.policy import Policy\n", "catalog -> policy"),
        ("route/x.py", "def f():\n    from modelyard.serve.app import serve\n", "route -> serve"),
        ("serve/x.py", "import modelyard.cli\n", "serve -> cli"),
        ("plan/x.py", "from modelyard import bench\n", "plan -> bench"),
        ("plan/y.py", "from modelyard.measure.run import measure\n", "plan -> measure"),
    ],
)
def test_a_forbidden_arrow_is_caught(tmp_path: Path, path: str, text: str, arrow: str) -> None:
    target = tmp_path / "modelyard" / path
    target.parent.mkdir(parents=True)
    target.write_text(text)
    assert [line.split(": ")[1].split(" (")[0] for line in forbidden(tmp_path)] == [arrow]
