"""Keeps a local engine serving: notices its child died and restarts it with backoff.

A crash, an OOM kill or a ``kill -9`` of the llama.cpp child is seen within ``poll_s`` (one
``waitpid`` call per poll, no I/O). The supervisor then logs the exit code and the log's last
lines, tells its backend the engine is down (requests skip it: fallback along the chain or a
503 naming the reason), and restarts it after 1, 2, 4 ... ``max_delay_s`` seconds until the model
loads again. An engine that stayed up ``stable_s`` seconds starts the next crash at 1 s again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from modelyard.errors import YardError

log = logging.getLogger("modelyard.serve")

POLL_S = 0.5
"""How often the child's liveness is checked."""
FIRST_DELAY_S = 1.0
"""Wait before the first restart after a crash; doubles after each failed or short-lived run."""
MAX_DELAY_S = 30.0
"""Longest wait between restarts."""
STABLE_S = 60.0
"""An engine up this long counts as healthy again: the next crash waits ``FIRST_DELAY_S``."""


class Engine(Protocol):
    """What the supervisor needs of ``serve.engine.LocalEngine``."""

    @property
    def pid(self) -> int | None: ...
    @property
    def running(self) -> bool: ...
    def exit_code(self) -> int | None: ...
    def log_tail(self, lines: int = 5) -> str: ...
    async def restart(self) -> str: ...


class EngineSupervisor:
    """Watches one started engine from a background task on the serving loop.

    Args:
        name: The backend's name, for logs.
        engine: The engine, already started.
        on_down: Called with the reason when the engine stops serving.
        on_up: Called with the new base URL once a restart has loaded the model.
        poll_s: Seconds between liveness checks.
        first_delay_s: First wait before a restart.
        max_delay_s: Longest wait before a restart.
        stable_s: Uptime after which the wait starts again at ``first_delay_s``.
    """

    def __init__(
        self,
        name: str,
        engine: Engine,
        on_down: Callable[[str], None],
        on_up: Callable[[str], None],
        *,
        poll_s: float = POLL_S,
        first_delay_s: float = FIRST_DELAY_S,
        max_delay_s: float = MAX_DELAY_S,
        stable_s: float = STABLE_S,
    ) -> None:
        self.name = name
        self.engine = engine
        self.on_down = on_down
        self.on_up = on_up
        self.poll_s = poll_s
        self.first_delay_s = first_delay_s
        self.max_delay_s = max_delay_s
        self.stable_s = stable_s
        self.restarts = 0
        """Successful restarts since the gateway started the engine."""
        self.last_exit_code: int | None = None
        """The exit status of the last crash (negative: killed by that signal)."""
        self.next_restart_at: float | None = None
        """Unix time of the next restart attempt while the engine is down."""
        self._delay = first_delay_s
        self._up_since = time.monotonic()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start watching (call from the serving event loop)."""
        self._up_since = time.monotonic()
        self._task = asyncio.get_running_loop().create_task(
            self._watch(), name=f"supervise engine {self.name}"
        )

    async def stop(self) -> None:
        """Stop watching (an engine restart in progress is abandoned)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def health(self) -> dict[str, Any]:
        """``running``, ``pid``, ``restarts``, ``last_exit_code`` and ``next_restart_at`` (UTC)."""
        when = self.next_restart_at
        return {
            "running": self.engine.running,
            "pid": self.engine.pid,
            "restarts": self.restarts,
            "last_exit_code": self.last_exit_code,
            "next_restart_at": (
                datetime.fromtimestamp(when, UTC).isoformat(timespec="milliseconds")
                if when is not None
                else None
            ),
        }

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.poll_s)
            code = self.engine.exit_code()
            if code is not None:
                await self._recover(code)
            elif time.monotonic() - self._up_since >= self.stable_s:
                self._delay = self.first_delay_s

    async def _recover(self, code: int) -> None:
        """Report the crash, then restart until the model loads again."""
        self.last_exit_code = code
        tail = self.engine.log_tail()
        log.error(
            "backend %s: local engine (pid %s) exited with code %s; restarting in %gs%s",
            self.name, self.engine.pid, code, self._delay,
            "; last log lines:\n  " + tail.replace("\n", "\n  ") if tail else "",
        )  # fmt: skip
        self.on_down(f"local engine exited with code {code}; restarting (see /health)")
        url = await self._restart()
        self.next_restart_at = None
        self.restarts += 1
        self._up_since = time.monotonic()
        log.warning("backend %s: local engine restarted at %s", self.name, url)
        self.on_up(url)

    async def _restart(self) -> str:
        """Wait the backoff delay and try, doubling the delay after each failed try."""
        while True:
            delay, self._delay = self._delay, min(self._delay * 2, self.max_delay_s)
            self.next_restart_at = time.time() + delay
            await asyncio.sleep(delay)
            try:
                return await self.engine.restart()
            except (YardError, OSError) as exc:
                log.error(
                    "backend %s: local engine restart failed, next try in %gs: %s",
                    self.name, self._delay, exc,
                )  # fmt: skip
