"""Least-in-flight balancing across the replicas of one backend."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Replica:
    """One base URL of a backend and how many requests it is serving now."""

    url: str
    in_flight: int = 0


class LeastInFlight:
    """Picks the replica with the fewest requests in flight; ties rotate."""

    def __init__(self, urls: list[str]) -> None:
        self.replicas = [Replica(u) for u in urls]
        self._turn = 0

    def set_urls(self, urls: list[str]) -> None:
        """Replace the replica list (a local engine reports its URL once started)."""
        self.replicas = [Replica(u) for u in urls]

    def pick(self) -> Replica:
        """The least busy replica; among equals, the next one after the last pick."""
        replicas = self.replicas
        if len(replicas) == 1:
            return replicas[0]
        self._turn = (self._turn + 1) % len(replicas)
        rotated = replicas[self._turn :] + replicas[: self._turn]
        return min(rotated, key=lambda r: r.in_flight)

    @property
    def in_flight(self) -> int:
        """Requests in flight over all replicas."""
        return sum(r.in_flight for r in self.replicas)
