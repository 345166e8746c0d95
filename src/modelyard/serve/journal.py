"""The ledger's write-ahead journal: append-only segment files, one per flush period.

A record reaches the OS page cache with one ``os.write`` before the client gets its answer, so it
outlives a ``kill -9`` of the gateway; only a power loss or kernel crash can drop it (unless the
operator asks for ``fsync``). A live segment holds an exclusive ``flock``: a replaying process
skips it, and the lock dies with its owner, which is how a crashed gateway's segments are found.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from ulid import ULID

log = logging.getLogger(__name__)

SUFFIX = ".jsonl"


@dataclass
class Segment:
    """One journal file, open for appending and locked by this process until discarded."""

    path: Path
    fd: int

    @classmethod
    def create(cls, directory: Path) -> Segment:
        """A new locked, empty segment; it gets its final name only once locked."""
        directory.mkdir(parents=True, exist_ok=True)
        name = str(ULID())
        tmp = directory / f"{name}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        path = directory / f"{name}{SUFFIX}"
        os.rename(tmp, path)
        return cls(path, fd)

    def write(self, data: bytes, fsync: bool = False) -> None:
        """Append ``data`` (whole lines) to the file."""
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]
        if fsync:
            os.fsync(self.fd)

    def discard(self) -> None:
        """Delete the file, then release its lock (in that order, so no one replays it late)."""
        self.path.unlink(missing_ok=True)
        os.close(self.fd)

    def close(self) -> None:
        """Release the lock and keep the file for a later replay."""
        os.close(self.fd)


def orphans(directory: Path) -> Iterator[tuple[Path, int]]:
    """Segments no live process holds, each yielded locked (path, fd); the caller closes fd."""
    for path in sorted(directory.glob(f"*{SUFFIX}")) if directory.is_dir() else []:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        if os.fstat(fd).st_nlink == 0:  # another process replayed and deleted it meanwhile
            os.close(fd)
            continue
        yield path, fd


def read_records(path: Path) -> list[dict[str, Any]]:
    """Every complete JSON line of a segment; a torn last line (power loss) is skipped."""
    records = []
    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            log.warning("%s:%d: skipping an incomplete journal line", path, number)
    return records
