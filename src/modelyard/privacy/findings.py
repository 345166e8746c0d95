"""What a scan found: typed findings and the verdict on one request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PUBLIC_KINDS = frozenset({"public_email"})
"""Kinds found but not private on their own (redacted with the rest of a private request)."""


@dataclass(frozen=True)
class Finding:
    """One piece of private data: its kind and where it is in the scanned text."""

    kind: str
    start: int
    end: int


@dataclass(frozen=True)
class Located:
    """A finding inside one string of a request body (``path`` from the body's root)."""

    kind: str
    path: tuple[Any, ...]
    start: int
    end: int
    key: bool = False
    """The string is an object key, not a value."""


@dataclass(frozen=True)
class Scan:
    """The verdict on one request: what was found, and whether the whole of it was read.

    A request is private when anything was found or when the scan could not finish (its budget
    ran out, or a part of it cannot be read: inline images, audio, files). Only kinds and
    positions are kept here, never the values.
    """

    findings: tuple[Located, ...] = ()
    unread: str | None = None
    """Why part of the request was not read (it then counts as private), or None."""
    elapsed_ms: float = 0.0
    chars: int = 0
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def private(self) -> bool:
        return self.unread is not None or any(f.kind not in PUBLIC_KINDS for f in self.findings)

    @property
    def kinds(self) -> list[str]:
        """The distinct private kinds found, sorted; ``unread`` when part of it could not be
        read."""
        kinds = {f.kind for f in self.findings if f.kind not in PUBLIC_KINDS}
        if self.unread is not None:
            kinds.add("unread")
        return sorted(kinds)

    def reason(self) -> str:
        """Why the request is private, naming kinds and never values ('' when it is not)."""
        if not self.private:
            return ""
        found = sorted({f.kind for f in self.findings if f.kind not in PUBLIC_KINDS})
        parts = [f"private data ({', '.join(found)})"] if found else []
        if self.unread is not None:
            parts.append(f"not fully scanned: {self.unread}")
        return "; ".join(parts)
