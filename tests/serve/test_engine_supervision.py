"""A local engine that dies or hangs is noticed, reported on /health and restarted with backoff."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from modelyard.errors import BackendError
from modelyard.serve.config import Supervision
from modelyard.serve.engine import LocalEngine
from modelyard.serve.supervisor import EngineSupervisor
from tests.serve.gateway_server import gateway_config, logged, running_gateway

CHAT = {"model": "smollm2", "messages": [{"role": "user", "content": "Say hi"}], "max_tokens": 4}


class FakeEngine:
    """What both fake engines share: an exit code the test sets, and a kill that sets it."""

    code: int | None = None
    kills: list[float]

    @property
    def running(self) -> bool:
        return self.code is None

    def exit_code(self) -> int | None:
        return self.code

    def kill(self) -> None:
        self.kills.append(time.monotonic())
        self.code = -9


class CrashingEngine(FakeEngine):
    """Injects faults: the child 'exits' when told, and the next restarts fail ``fails`` times."""

    def __init__(self, fails: int) -> None:
        self.fails = fails
        self.code: int | None = None
        self.tries: list[float] = []
        self.pid: int | None = 100
        self.port = 1
        self.health_url: str | None = None  # not probed: these tests are about exits
        self.kills: list[float] = []

    def log_tail(self, lines: int = 5) -> str:
        return "llama: out of memory"

    async def restart(self) -> str:
        self.tries.append(time.monotonic())
        if len(self.tries) <= self.fails:
            raise BackendError("local engine exited while loading the model")
        self.code, self.port = None, self.port + 1
        return f"http://127.0.0.1:{self.port}/v1"


def test_restarts_back_off_exponentially_then_reset(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> tuple[EngineSupervisor, list[str]]:
        engine, events = CrashingEngine(fails=2), []
        supervisor = EngineSupervisor(
            "local", engine, lambda why: events.append(f"down: {why}"),
            lambda url: events.append(f"up: {url}"),
            poll_s=0.005,
            settings=Supervision(first_delay_s=0.05, max_delay_s=0.15, stable_s=0.3),
        )  # fmt: skip
        supervisor.start()
        engine.code = -9
        await asyncio.sleep(0.02)
        health = supervisor.health()
        assert health["running"] is False and health["last_exit_code"] == -9
        assert health["last_failure"] == "exited"
        assert health["next_restart_at"] is not None and health["restarts"] == 0
        while not events[-1].startswith("up"):
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.4)  # stayed up longer than stable_s: the next crash waits 0.05 s
        engine.code, engine.fails, engine.tries = -6, 0, []
        crashed = time.monotonic()
        while len(events) < 4:
            await asyncio.sleep(0.005)
        await supervisor.stop()
        return supervisor, [*events, f"{engine.tries[0] - crashed:.3f}"]

    supervisor, events = asyncio.run(scenario())
    assert events[:2] == [
        "down: local engine exited with code -9; restarting (see /health)",
        "up: http://127.0.0.1:2/v1",
    ]
    assert events[2].startswith("down: local engine exited with code -6")
    assert 0.04 <= float(events[-1]) < 0.14  # reset; else it would wait max_delay_s (0.15)
    assert supervisor.restarts == 2 and supervisor.last_exit_code == -6
    assert supervisor.health()["next_restart_at"] is None
    exits = logged(caplog.records, "engine_exit")
    assert exits[0]["exit_code"] == -9 and exits[0]["reason"] == "exited with code -9"
    assert any("llama: out of memory" in line for line in exits[0]["engine_log"])
    assert logged(caplog.records, "engine_restart_failed")[0]["next_try_s"] > 0


def test_failed_restarts_wait_1_2_4_times_the_first_delay_up_to_the_cap() -> None:
    async def scenario() -> list[float]:
        engine = CrashingEngine(fails=4)
        supervisor = EngineSupervisor(
            "local", engine, lambda why: None, lambda url: None,
            poll_s=0.005, settings=Supervision(first_delay_s=0.04, max_delay_s=0.12),
        )  # fmt: skip
        supervisor.start()
        engine.code = 1
        while len(engine.tries) < 5:
            await asyncio.sleep(0.005)
        await supervisor.stop()
        return [b - a for a, b in zip(engine.tries, engine.tries[1:], strict=False)]

    gaps = asyncio.run(scenario())
    expected = [0.08, 0.12, 0.12, 0.12]
    assert all(e <= g < e + 0.1 for g, e in zip(gaps, expected, strict=True)), gaps


class HangingEngine(FakeEngine):
    """A child with a real loopback /health: it answers ``status`` until told to hang, then
    accepts and never replies; ``kill()`` ends it and ``restart()`` takes ``restart_s``."""

    def __init__(self, status: int = 200, restart_s: float = 0.0) -> None:
        self.status = status
        self.restart_s = restart_s
        self.hung = False
        self.code: int | None = None
        self.pid: int | None = 100
        self.requests: list[bytes] = []
        self.kills: list[float] = []
        self.held: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None
        self.closed = False

    async def serve(self) -> None:
        self.server = await asyncio.start_server(self._answer, "127.0.0.1", 0)

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # every connection ends closed, even one cut short when the test's loop ends: an
        # unclosed transport warns when collected, in whichever later test that happens
        held = False
        try:
            self.requests.append(await reader.readuntil(b"\r\n\r\n"))
            if self.hung and not self.closed:
                self.held.append(writer)
                held = True
            elif not self.hung:
                writer.write(f"HTTP/1.1 {self.status} X\r\nContent-Length: 0\r\n\r\n".encode())
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            if not held:
                writer.close()

    @property
    def health_url(self) -> str:
        port = self.server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{port}/health"

    def log_tail(self, lines: int = 5) -> str:
        return "srv  update_slots: all slots are idle"

    async def restart(self) -> str:
        await asyncio.sleep(self.restart_s)  # still hung meanwhile: probes now would miss
        self.hung, self.code, self.pid = False, None, 101
        return "http://127.0.0.1:2/v1"

    def close(self) -> None:
        self.closed = True
        for writer in self.held:
            writer.close()
        self.server.close()  # type: ignore[union-attr]


def probed(
    engine: HangingEngine, events: list[str], probe_failures: int, timeout_s: float = 0.05
) -> EngineSupervisor:
    return EngineSupervisor(
        "local", engine, lambda why: events.append(f"down: {why}"),
        lambda url: events.append(f"up: {url}"), poll_s=0.01,
        settings=Supervision(first_delay_s=0.05, probe_every_s=0.03, probe_timeout_s=timeout_s,
                             probe_failures=probe_failures),
    )  # fmt: skip


async def until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never met"
        await asyncio.sleep(0.005)


def test_a_hung_engine_is_killed_after_3_missed_probes_and_restarted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> tuple[EngineSupervisor, HangingEngine, list[str], dict, float]:
        engine, events = HangingEngine(restart_s=0.3), []
        await engine.serve()
        supervisor = probed(engine, events, probe_failures=3)
        supervisor.start()
        await asyncio.sleep(0.2)
        assert len(engine.requests) >= 3 and not engine.kills  # probed, answered, left alone
        engine.hung, hung_at = True, time.monotonic()
        await until(lambda: events)
        down = supervisor.health()
        await until(lambda: len(events) == 2)
        await asyncio.sleep(0.2)  # answering again: no second kill
        await supervisor.stop()
        engine.close()
        return supervisor, engine, events, down, engine.kills[0] - hung_at

    supervisor, engine, events, down, killed_after = asyncio.run(scenario())
    # three 0.05 s timeouts with two 0.03 s gaps at least; well under a second
    assert 0.2 <= killed_after < 0.8, killed_after
    assert len(engine.kills) == 1  # no probe counted while the restart took 0.3 s
    assert engine.requests[0].startswith(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1:")
    assert down["running"] is False and down["last_failure"] == "hung"
    assert down["last_exit_code"] == -9 and down["next_restart_at"] is not None
    assert events == [
        "down: local engine did not answer /health 3 times and was killed; restarting"
        " (see /health)",
        "up: http://127.0.0.1:2/v1",
    ]
    health = supervisor.health()
    assert health["running"] is True and health["restarts"] == 1 and health["pid"] == 101
    (hung,) = logged(caplog.records, "engine_hung")
    assert (hung["pid"], hung["unanswered_probes"]) == (100, 3)
    assert any(
        "all slots are idle" in line
        for line in logged(caplog.records, "engine_exit")[0]["engine_log"]
    )


@pytest.mark.parametrize("status", [200, 503])
def test_an_engine_that_answers_is_never_killed(status: int) -> None:
    """Any answer counts, llama.cpp's 503 while loading too; one miss would kill here."""

    async def scenario() -> tuple[EngineSupervisor, HangingEngine]:
        engine = HangingEngine(status)
        await engine.serve()
        # a generous timeout: a busy machine must not turn a slow answer into a miss
        supervisor = probed(engine, [], probe_failures=1, timeout_s=0.5)
        supervisor.start()
        await asyncio.sleep(0.5)
        await supervisor.stop()
        engine.close()
        return supervisor, engine

    supervisor, engine = asyncio.run(scenario())
    assert len(engine.requests) >= 8 and engine.kills == []
    assert supervisor.restarts == 0 and supervisor.health()["last_failure"] is None


@pytest.mark.slow
def test_sigstop_of_the_real_engine_is_noticed_and_healed(smollm2_gguf: Path) -> None:
    async def scenario() -> tuple[dict, int, bool]:
        engine = LocalEngine(smollm2_gguf, ctx_size=512, threads=1, parallel=1)
        await engine.start()
        supervisor = EngineSupervisor(
            "local", engine, lambda why: None, lambda url: None, poll_s=0.05,
            settings=Supervision(first_delay_s=0.1, probe_every_s=0.3, probe_timeout_s=1.0,
                                 probe_failures=2),
        )  # fmt: skip
        supervisor.start()
        stopped = engine.pid or 0
        try:
            os.kill(stopped, signal.SIGSTOP)
            await until(lambda: supervisor.restarts == 1, timeout=60)
            return supervisor.health(), stopped, await asyncio.to_thread(engine.healthy)
        finally:
            await supervisor.stop()
            await engine.stop()

    health, stopped, healthy = asyncio.run(scenario())
    assert health["last_failure"] == "hung" and health["last_exit_code"] == -9
    assert health["running"] is True and health["pid"] != stopped and healthy


@pytest.mark.slow
def test_kill_9_of_the_engine_is_reported_and_healed(
    smollm2_gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YARD_MODEL_CACHE", str(smollm2_gguf.parents[2]))
    local = {"name": "local", "kind": "local", "gguf": "smollm2", "context_size": 512,
             "threads": 1}  # fmt: skip
    with running_gateway(gateway_config([local], {"smollm2": ["local"]})) as gw:
        engine = httpx.get(f"{gw.url}/health").json()["backends"]["local"]["engine"]
        assert engine["running"] is True and engine["restarts"] == 0
        os.kill(engine["pid"], signal.SIGKILL)
        health = wait_health(gw.url, lambda h: h["status"] == "degraded", expect=503)
        down = health["backends"]["local"]
        assert down["available"] is False and down["engine"]["last_exit_code"] == -9
        assert down["engine"]["last_failure"] == "exited"
        assert down["engine"]["next_restart_at"] is not None
        t0 = time.monotonic()
        refused = httpx.post(f"{gw.url}/v1/chat/completions", json=CHAT, timeout=10)
        assert time.monotonic() - t0 < 0.5  # answered at once: no hang, no retry storm
        assert refused.status_code == 503
        error = refused.json()["error"]
        assert error["code"] == "backend_unavailable"
        assert "local engine exited with code -9" in error["message"]
        health = wait_health(gw.url, lambda h: h["status"] == "ok", expect=200)
        up = health["backends"]["local"]["engine"]
        assert up["running"] is True and up["restarts"] == 1 and up["pid"] != engine["pid"]
        answer = httpx.post(f"{gw.url}/v1/chat/completions", json=CHAT, timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.json()["usage"]["completion_tokens"] > 0


def wait_health(url: str, condition, expect: int, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply = httpx.get(f"{url}/health")
        if condition(reply.json()):
            assert reply.status_code == expect
            return reply.json()
        time.sleep(0.05)
    raise AssertionError(f"/health never matched; last: {reply.text}")
