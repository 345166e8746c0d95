"""Generated documentation matches the code (run scripts/gen_docs.py to refresh)."""

from __future__ import annotations

import runpy
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gen_docs.py"


def test_generated_docs_are_current() -> None:
    namespace = runpy.run_path(str(SCRIPT))
    assert namespace["main"](check=True) == 0, "docs are stale: run python scripts/gen_docs.py"
