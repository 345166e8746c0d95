"""The result store: every finished reply, keyed by a hash of what was asked, kept in SQLite.

Each reply is committed as soon as it arrives (WAL journal), so a run that is killed loses
nothing it had finished, and a rerun with the same endpoint, model, messages and parameters
reads the stored reply instead of calling the model again. Errors are never stored.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from modelyard.eval.schema import Completion

_SCHEMA = """
CREATE TABLE IF NOT EXISTS replies (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    reply_json TEXT NOT NULL,
    created_utc REAL NOT NULL
)
"""


def request_key(
    base_url: str, model: str, messages: list[dict[str, str]], params: dict[str, Any]
) -> str:
    """SHA-256 of the canonical JSON of one request (endpoint, model, messages, parameters)."""
    blob = json.dumps(
        [base_url.rstrip("/"), model, messages, params],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(blob.encode()).hexdigest()


class ResultStore:
    """Finished replies by request key, in one SQLite file.

    Args:
        path: the database file; its folder is created when missing.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._conn = sqlite3.connect(path, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(_SCHEMA)

    def get(self, key: str) -> Completion | None:
        """The stored reply for ``key``, marked ``cached``, or None."""
        row = self._conn.execute("SELECT reply_json FROM replies WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        return Completion.model_validate_json(row[0]).model_copy(update={"cached": True})

    def put(self, key: str, model: str, reply: Completion) -> None:
        """Store a finished reply durably (committed before returning)."""
        self._conn.execute(
            "INSERT OR REPLACE INTO replies VALUES (?, ?, ?, ?)",
            (key, model, reply.model_dump_json(exclude={"cached"}), time.time()),
        )

    def count(self) -> int:
        """Stored replies."""
        return self._conn.execute("SELECT COUNT(*) FROM replies").fetchone()[0]

    def close(self) -> None:
        """Close the database."""
        self._conn.close()
