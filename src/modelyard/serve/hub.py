"""What the workers of one `yard serve --workers N` ask their parent: rate windows, budget
spend, `auto`'s session pins, and config reloads.

Without Redis, the parent process keeps the state one gateway process would keep (a
``SlidingWindowLimiter`` and each key's spend) and serves it to its workers over a Unix socket
(a ``multiprocessing`` manager). Each worker's key store asks it as it would ask Redis, so N
workers admit exactly what one process admits. A call is one loopback round trip (about 0.1 ms
on the event loop), made only for keys that have an RPM/TPM limit or a budget, and for `auto`
requests that name a session (so a conversation stays on one model whichever worker serves it).

A worker's ``POST /admin/reload`` (or SIGHUP) goes over the same socket (``ask_reload``): the
parent re-reads the file and replaces its workers, so the answer is the parent's.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
from collections.abc import Callable
from multiprocessing.managers import BaseManager
from pathlib import Path
from typing import Any

from modelyard.serve.auto import SessionPins
from modelyard.serve.limits import ADMITTED, Admission, Budget, Reservations, SlidingWindowLimiter

SOCKET_NAME = "hub.sock"
AUTHKEY_NAME = "hub.key"


Reload = Callable[[int], dict[str, Any]]
"""The parent's reload, called from a hub thread with the asking worker's pid."""


class Hub:
    """The shared state itself; it lives in the parent and serves one call at a time.

    Args:
        reload: Reloads the parent's config (``workers.Supervisor``) and returns its answer.
    """

    def __init__(self, reload: Reload) -> None:
        self._lock = threading.Lock()
        self._limiter = SlidingWindowLimiter()
        self._spent: dict[tuple[str, str], float] = {}
        self._books = Reservations()
        self._pins = SessionPins(0)
        self._reload = reload

    def reload(self, pid: int) -> dict[str, Any]:
        """Reload the parent's config for the worker ``pid`` (replaced last, once answered).

        Raises:
            YardError: the parent's refusal, which reaches the worker as raised.
        """
        return self._reload(pid)

    def admit(
        self, key_id: str, rpm: int | None, tpm: int | None, budget: Budget | None,
        reserve_usd: float,
    ) -> Admission:  # fmt: skip
        """Count one request unless its window is full, then reserve ``reserve_usd`` while
        the key's spend and reservations leave room, as one gateway process does
        (``Quotas``); the first worker to ask about a period seeds its spend."""
        with self._lock:
            refusal = self._limiter.admit(key_id, rpm, tpm)
            if refusal is not None or budget is None:
                return Admission(refusal)
            spent = self._spent.setdefault((key_id, budget.period), budget.known_usd)
            return self._books.reserve(key_id, budget, spent, reserve_usd)

    def settle(
        self, key_id: str, tokens: int, cost_usd: float, budget: Budget | None,
        reserved_usd: float,
    ) -> None:  # fmt: skip
        """Add a finished request's tokens and cost and release its reservation
        (``budget.known_usd``, which includes the cost, seeds a period new to the hub)."""
        with self._lock:
            self._limiter.consume(key_id, tokens)
            if budget is None:
                return
            slot = (key_id, budget.period)
            spent = self._spent.get(slot)
            self._spent[slot] = budget.known_usd if spent is None else spent + cost_usd
            self._books.release(key_id, budget, reserved_usd)

    def pinned(self, session: str) -> str | None:
        """The model ``session`` is pinned to, if any."""
        with self._lock:
            return self._pins.get(session)

    def pin(self, session: str, model: str, size: int) -> None:
        """Pin ``session`` to ``model`` unless another worker pinned it first; remember at most
        ``size`` sessions."""
        with self._lock:
            self._pins.size = size
            if self._pins.get(session) is None:
                self._pins.pin(session, model)


class HubPins:
    """A worker's ``PinStore``: the session pins its parent keeps for every worker."""

    def __init__(self, hub: Any, size: int) -> None:
        self._hub = hub
        self.size = size

    def get(self, session: str | None) -> str | None:
        """The model pinned to ``session`` by any worker, or None."""
        return self._hub.pinned(session) if session is not None and self.size else None

    def pin(self, session: str | None, model: str) -> None:
        """Pin ``session`` for every worker (the first worker's pin wins)."""
        if session is not None and self.size:
            self._hub.pin(session, model, self.size)


class _HubManager(BaseManager):
    """A worker's connection: ``hub()`` returns a proxy of the parent's ``Hub``."""


_HubManager.register("hub")


class HubServer:
    """The parent's side: a ``Hub`` served on ``directory/hub.sock`` from a daemon thread.

    Args:
        directory: A private (0700) folder; the socket and its random auth key go there.
        reload: The parent's reload, for ``Hub.reload``.
    """

    def __init__(self, directory: Path, reload: Reload) -> None:
        self.address = directory / SOCKET_NAME
        authkey = secrets.token_bytes(32)
        (directory / AUTHKEY_NAME).write_bytes(authkey)
        hub = Hub(reload)
        # a class of its own: a manager's registry is per class, and each server has its own hub
        serving: type[BaseManager] = type("_HubServing", (BaseManager,), {})
        serving.register("hub", callable=lambda: hub)
        # Any: typeshed's Server lacks the stop_event and listener that close() uses
        self._server: Any = serving(address=str(self.address), authkey=authkey).get_server()
        threading.Thread(target=self._server.serve_forever, name="yard-hub", daemon=True).start()

    def close(self) -> None:
        """Stop serving and remove the socket."""
        self._server.stop_event.set()
        self._server.listener.close()


class HubState:
    """A worker's side, shaped like ``shared.RedisState`` for the key store.

    Args:
        address: The hub's socket (``StateConfig.hub``); its auth key lies beside it.
    """

    def __init__(self, address: Path) -> None:
        self._hub = _connect(address)
        self._client = HubClient(self._hub)

    def quotas(self) -> HubClient:
        """RPM/TPM windows and budget spend shared by every worker."""
        return self._client

    def pins(self, size: int) -> HubPins:
        """`auto`'s session pins, shared by every worker."""
        return HubPins(self._hub, size)

    def close(self) -> None:
        """Nothing to release: the connection closes with the process."""


def _connect(address: Path) -> Any:
    """A proxy of the parent's ``Hub`` at ``address`` (its auth key lies beside it)."""
    authkey = (address.parent / AUTHKEY_NAME).read_bytes()
    manager = _HubManager(address=str(address), authkey=authkey)
    manager.connect()
    return manager.hub()  # type: ignore[attr-defined]


async def ask_reload(address: Path) -> dict[str, Any]:
    """Have the parent at ``address`` reload its config; a worker's ``Gateway`` reload.

    Returns:
        The parent's answer (``reload.report``).

    Raises:
        YardError: the parent refused (invalid file, engine failed to load); it still serves
            the previous config.
    """
    return await asyncio.to_thread(lambda: _connect(address).reload(os.getpid()))


class HubClient:
    """``Quotas`` over the hub; keys without limits or budget cost no call."""

    def __init__(self, hub: Any) -> None:
        self._hub = hub
        self._tpm_keys: set[str] = set()

    def admit(
        self, key_id: str, rpm: int | None, tpm: int | None, budget: Budget | None,
        reserve_usd: float,
    ) -> Admission:  # fmt: skip
        """Count one request in the shared window and reserve against the shared budget
        (``Hub.admit``)."""
        if rpm is None and tpm is None and budget is None:
            return ADMITTED
        if tpm is not None:
            self._tpm_keys.add(key_id)
        return self._hub.admit(key_id, rpm, tpm, budget, reserve_usd)

    def settle(
        self, key_id: str, tokens: int, cost_usd: float, budget: Budget | None,
        reserved_usd: float,
    ) -> None:  # fmt: skip
        """Add the tokens of a key with a TPM limit; settle a key with a budget."""
        tokens = tokens if tokens > 0 and key_id in self._tpm_keys else 0
        if tokens or budget is not None:
            self._hub.settle(key_id, tokens, cost_usd, budget, reserved_usd)
