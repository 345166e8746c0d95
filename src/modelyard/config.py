"""Settings resolved once, at the edge: CLI flag > YARD_* env var > default.

Only this module reads ``os.environ``; everything below receives typed values.
"""

from __future__ import annotations

import os
from pathlib import Path


def yard_home() -> Path:
    """The user directory for modelyard state (catalog additions, ledger, model cache).

    ``YARD_HOME`` moves it; the default is ``~/.local/share/modelyard``.
    """
    explicit = os.environ.get("YARD_HOME")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "modelyard"


def user_catalog_dir() -> Path:
    """Where ``yard models import`` writes entries; loaded after the shipped catalog."""
    return yard_home() / "catalog"


def raise_errors() -> bool:
    """Whether the CLI re-raises YardError with a traceback (``YARD_RAISE_ERRORS=1``)."""
    return os.environ.get("YARD_RAISE_ERRORS", "") not in ("", "0", "false")


def env(name: str, default: str | None = None) -> str | None:
    """Read one ``YARD_*`` (or other) environment variable; the single door to os.environ."""
    return os.environ.get(name, default)
