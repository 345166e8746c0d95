"""Keeps a local engine serving: notices its child died or hung and restarts it with backoff.

A crash, an OOM kill or a ``kill -9`` of the llama.cpp child is seen within ``poll_s`` (one
``waitpid`` call per poll, no I/O). A child that lives but stops answering (deadlock, stuck GPU,
SIGSTOP) is seen by a liveness probe: every ``probe_every_s`` an async ``GET /health`` with a
``probe_timeout_s`` timeout; after ``probe_failures`` consecutive probes without an answer the
child gets SIGKILL and is handled as a crash. The supervisor then logs the reason and the log's
last lines, tells its backend the engine is down (requests skip it: fallback along the chain or a
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
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from modelyard.errors import YardError
from modelyard.serve import logs
from modelyard.serve.config import Supervision

POLL_S = 0.5
"""How often the child's liveness is checked."""


class Engine(Protocol):
    """What the supervisor needs of ``serve.engine.LocalEngine``."""

    @property
    def pid(self) -> int | None: ...
    @property
    def running(self) -> bool: ...
    def exit_code(self) -> int | None: ...
    @property
    def health_url(self) -> str | None: ...
    def log_tail(self, lines: int = 5) -> str: ...
    def kill(self) -> None: ...
    async def restart(self) -> str: ...


class EngineSupervisor:
    """Watches one started engine from a background task on the serving loop.

    Args:
        name: The backend's name, for logs.
        engine: The engine, already started.
        on_down: Called with the reason when the engine stops serving.
        on_up: Called with the new base URL once a restart has loaded the model.
        poll_s: Seconds between liveness checks.
        settings: Probe and restart timing (the backend's `supervision:` config).
    """

    def __init__(
        self,
        name: str,
        engine: Engine,
        on_down: Callable[[str], None],
        on_up: Callable[[str], None],
        *,
        poll_s: float = POLL_S,
        settings: Supervision | None = None,
    ) -> None:
        self.name = name
        self.engine = engine
        self.on_down = on_down
        self.on_up = on_up
        self.poll_s = poll_s
        self.settings = settings or Supervision()
        self.restarts = 0
        """Successful restarts since the gateway started the engine."""
        self.last_exit_code: int | None = None
        """The exit status of the last crash (negative: killed by that signal)."""
        self.last_failure: Literal["exited", "hung"] | None = None
        """Why the engine last went down: it exited, or it stopped answering and was killed."""
        self.next_restart_at: float | None = None
        """Unix time of the next restart attempt while the engine is down."""
        self._delay = self.settings.first_delay_s
        self._task: asyncio.Task[None] | None = None
        self._serving()

    def _serving(self) -> None:
        """Start counting uptime and probe misses afresh (the engine has just come up)."""
        self._up_since = time.monotonic()
        self._next_probe_at = self._up_since + self.settings.probe_every_s
        self._misses = 0
        self._killed = False

    def start(self) -> None:
        """Start watching (call from the serving event loop)."""
        self._serving()
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
        """``running``, ``pid``, ``restarts``, ``last_exit_code``, ``last_failure`` (``exited`` or
        ``hung``) and ``next_restart_at`` (UTC)."""
        when = self.next_restart_at
        return {
            "running": self.engine.running,
            "pid": self.engine.pid,
            "restarts": self.restarts,
            "last_exit_code": self.last_exit_code,
            "last_failure": self.last_failure,
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
                continue
            if time.monotonic() - self._up_since >= self.settings.stable_s:
                self._delay = self.settings.first_delay_s
            await self._probe()

    async def _probe(self) -> None:
        """Probe ``/health`` when due; kill the engine after ``probe_failures`` misses in a row.

        The probe runs only while the engine serves (never during a restart, when llama.cpp
        answers 503 or nothing while loading), and any HTTP answer counts as alive.
        """
        url = self.engine.health_url
        if self._killed or url is None or time.monotonic() < self._next_probe_at:
            return
        answered = await _answers(url, self.settings.probe_timeout_s)
        self._next_probe_at = time.monotonic() + self.settings.probe_every_s
        self._misses = 0 if answered else self._misses + 1
        if self._misses >= self.settings.probe_failures:
            logs.event("engine_hung", logging.ERROR, backend=self.name, pid=self.engine.pid,
                       unanswered_probes=self._misses, action="killing it")  # fmt: skip
            self._killed = True
            self.engine.kill()

    def _failure(self, code: int) -> str:
        """Why the engine went down, as the log and the 503s say it."""
        if self.last_failure == "hung":
            return f"did not answer /health {self.settings.probe_failures} times and was killed"
        return f"exited with code {code}"

    async def _recover(self, code: int) -> None:
        """Report the crash, then restart until the model loads again."""
        self.last_exit_code = code
        self.last_failure = "hung" if self._killed else "exited"
        why, tail = self._failure(code), self.engine.log_tail()
        logs.event("engine_exit", logging.ERROR, backend=self.name, pid=self.engine.pid,
                   exit_code=code, reason=why, restart_in_s=self._delay,
                   engine_log=[line[:200] for line in tail.splitlines()])  # fmt: skip
        self.on_down(f"local engine {why}; restarting (see /health)")
        url = await self._restart()
        self.next_restart_at = None
        self.restarts += 1
        self._serving()
        logs.event("engine_restart", logging.WARNING, backend=self.name, url=url,
                   restarts=self.restarts)  # fmt: skip
        self.on_up(url)

    async def _restart(self) -> str:
        """Wait the backoff delay and try, doubling the delay after each failed try."""
        while True:
            delay, self._delay = self._delay, min(self._delay * 2, self.settings.max_delay_s)
            self.next_restart_at = time.time() + delay
            await asyncio.sleep(delay)
            try:
                return await self.engine.restart()
            except (YardError, OSError) as exc:
                logs.event("engine_restart_failed", logging.ERROR, backend=self.name,
                           next_try_s=self._delay, error=str(exc)[:500])  # fmt: skip


async def _answers(url: str, timeout: float) -> bool:
    """Whether ``GET url`` gets an HTTP status line within ``timeout`` seconds (any status).

    A plain socket exchange on the event loop: a hung engine costs this task ``timeout``
    seconds and blocks nothing else.
    """
    parts = urlsplit(url)
    request = (
        f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n"
    )
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
            try:
                writer.write(request.encode("latin-1"))
                return (await reader.readline()).startswith(b"HTTP/")
            finally:
                writer.close()
    except (OSError, TimeoutError):
        return False
