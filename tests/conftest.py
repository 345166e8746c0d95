"""Shared fixtures: every test gets its own YARD_HOME; the shared data folder is located once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MODEL_CACHE = Path(__file__).resolve().parents[1] / ".cache" / "models"


@pytest.fixture(autouse=True)
def yard_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point YARD_HOME at a fresh directory so tests never touch the user's state."""
    home = tmp_path / "yard-home"
    monkeypatch.setenv("YARD_HOME", str(home))
    monkeypatch.setenv("YARD_RAISE_ERRORS", "1")
    return home


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the checkout; tests that need it skip with a message when absent."""
    root = Path(os.environ.get("YARD_SHARED_DATA", SHARED_DATA))
    if not root.is_dir():
        pytest.skip(f"shared data folder not found at {root} (set YARD_SHARED_DATA)")
    return root


@pytest.fixture(scope="session")
def smollm2_gguf() -> Path:
    """The real default model (SmolLM2-135M-Instruct GGUF), pulled once to <repo>/.cache/models."""
    from modelyard.pull import pull

    return pull("smollm2", cache=MODEL_CACHE)
