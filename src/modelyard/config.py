"""Settings resolved once, at the edge: CLI flag > YARD_* env var > default.

Only this module reads ``os.environ``; everything below receives typed values.
"""

from __future__ import annotations

import os
from pathlib import Path

GATEWAY_URL = "http://127.0.0.1:4000"
"""Where clients (`yard chat`, `yard eval`) look for the gateway unless told otherwise."""


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


def model_cache_dir() -> Path:
    """Where ``yard pull`` keeps model files: ``YARD_MODEL_CACHE``, else YARD_HOME/models."""
    explicit = os.environ.get("YARD_MODEL_CACHE")
    return Path(explicit).expanduser() if explicit else yard_home() / "models"


def shared_data_dir() -> Path:
    """Public eval and routing data: ``YARD_SHARED_DATA``, else ``../shared/data`` beside the repo.

    The default is found relative to the source checkout (``<repo>/../shared/data``).
    """
    explicit = os.environ.get("YARD_SHARED_DATA")
    if explicit:
        return Path(explicit).expanduser()
    return Path(__file__).resolve().parents[2].parent / "shared" / "data"


def raise_errors() -> bool:
    """Whether the CLI re-raises YardError with a traceback (``YARD_RAISE_ERRORS=1``)."""
    return os.environ.get("YARD_RAISE_ERRORS", "") not in ("", "0", "false")


def env(name: str, default: str | None = None) -> str | None:
    """Read one ``YARD_*`` (or other) environment variable; the single door to os.environ."""
    return os.environ.get(name, default)
