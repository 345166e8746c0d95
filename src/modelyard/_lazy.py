"""Package faces whose names load their module on first use (PEP 562 module ``__getattr__``).

A package ``__init__`` imports what other packages may use under ``if TYPE_CHECKING:`` (what
type checkers and readers see), lists the names in ``__all__``, and ends with
``__getattr__ = lazy_names(__name__, __file__)``. ``from modelyard.serve import KeyStore`` then
loads the key store and not the whole gateway: `yard` starts in a fraction of a second because
of it. An import may rename (``import write as write_report``) where the module's own name
would be unclear on the face. tests/test_faces.py checks that ``__all__`` and the imports agree.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable
from pathlib import Path


def lazy_names(package: str, init_file: str) -> Callable[[str], object]:
    """The ``__getattr__`` of ``package``, whose public names are those ``init_file`` imports
    under ``if TYPE_CHECKING:``; each is imported from its module once, then kept."""
    homes: dict[str, tuple[str, str]] = {}

    def __getattr__(name: str) -> object:
        if not homes:
            homes.update(type_checking_imports(Path(init_file)))
        if name not in homes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attribute = homes[name]
        value = getattr(importlib.import_module(module), attribute)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__


def type_checking_imports(path: Path) -> dict[str, tuple[str, str]]:
    """Each name imported under ``if TYPE_CHECKING:`` in ``path``, with its module and its name
    there."""
    homes: dict[str, tuple[str, str]] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom) and statement.module:
                    homes |= {
                        a.asname or a.name: (statement.module, a.name) for a in statement.names
                    }
    return homes
