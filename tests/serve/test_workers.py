"""`yard serve --workers 2`: one port, two processes, one ledger, limits that hold across both."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from modelyard.errors import YardError
from modelyard.serve.keys import KeyStore
from modelyard.serve.ledger import Ledger
from modelyard.serve.workers import worker_count
from tests.serve.fault_upstream import FaultUpstream
from tests.serve.gateway_server import TOOLS, auto_config, config_file
from tests.serve.replicas import CHAT, YARD, free_port
from tests.serve.test_replicas import request_cost

pytestmark = pytest.mark.slow
ADMIN = "admin-key-for-tests"
T = TypeVar("T")

COUNT = re.compile(rb"^yard_requests_total\{.*\} ([0-9.]+)$", re.MULTILINE)
WORKER = re.compile(rb'^yard_worker_requests\{pid="([0-9]+)"\} ([0-9.]+)$', re.MULTILINE)


class Gateway:
    """A `yard serve --workers N` process and its address."""

    def __init__(self, proc: subprocess.Popen, port: int) -> None:
        self.proc = proc
        self.url = f"http://127.0.0.1:{port}"
        self.chat = self.url + "/v1/chat/completions"

    def workers(self) -> set[int]:
        """Pids of the worker processes (the parent's children)."""
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        return {int(pid) for pid in children.split()}

    def scrapes(self, tries: int = 20) -> list[tuple[float, dict[int, float]]]:
        """Requests answered, in total and per worker pid, per /metrics scrape (a fresh
        connection each, so the scrapes reach different workers)."""
        seen = []
        for _ in range(tries):
            body = httpx.get(self.url + "/metrics", headers={"Connection": "close"}).content
            total = sum(float(v) for v in COUNT.findall(body))
            seen.append((total, {int(pid): float(v) for pid, v in WORKER.findall(body)}))
        return seen

    def stop(self) -> int:
        """SIGTERM the parent; its exit status."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(60)

    def kill(self) -> None:
        """SIGKILL the parent if a test left it running, and reap it (else its Popen warns
        'still running' in whichever later test collects it)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@contextmanager
def gateway(tmp_path: Path, home: Path, upstream: FaultUpstream, workers: int = 2,
            price: str = "") -> Iterator[Gateway]:  # fmt: skip
    config = tmp_path / "gateway.yaml"
    config.write_text(f"backends:\n  - {{name: a, base_url: '{upstream.url}'{price}}}\n"
                      "models:\n  m: [a]\n")  # fmt: skip
    running = start(tmp_path, home, config, workers)
    try:
        wait_ready(running, workers)
        yield running
    finally:
        running.kill()


def start(tmp_path: Path, home: Path, config: Path, workers: int) -> Gateway:
    port = free_port()
    command = [str(YARD), "serve", "-c", str(config), "-p", str(port), "-w", str(workers)]
    with (tmp_path / "serve.log").open("wb") as log:
        env = {**os.environ, "YARD_HOME": str(home)}
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    return Gateway(proc, port)


def wait_ready(gateway: Gateway, workers: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert gateway.proc.poll() is None, "yard serve exited while starting"
        try:
            healthy = httpx.get(gateway.url + "/health").status_code == 200
            if healthy and len(gateway.workers()) == workers:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gateway did not start")


def post(url: str, key: str | None = None) -> tuple[int, str]:
    """One chat request on a fresh connection (so the kernel may pick any worker)."""
    headers = {"Connection": "close"} | ({"Authorization": f"Bearer {key}"} if key else {})
    reply = httpx.post(url, json=CHAT, headers=headers, timeout=20)
    return reply.status_code, reply.headers["x-request-id"]


def stored_ids(home: Path) -> list[str]:
    ledger = Ledger.open(None, home)  # replays any journal a killed worker left
    try:
        with ledger.engine.connect() as conn:
            return [row[0] for row in conn.exec_driver_sql("select id from requests")]
    finally:
        ledger.close()


def test_two_workers_record_every_request_exactly_once(tmp_path: Path, yard_home: Path):
    with FaultUpstream("a") as upstream, gateway(tmp_path, yard_home, upstream) as running:
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda _: post(running.chat), range(300)))
        scrapes = running.scrapes()
        assert running.stop() == 0
    assert [status for status, _ in answers] == [200] * 300
    # whichever worker a scrape reaches answers for both, and both served
    assert {total for total, _ in scrapes} == {300}
    per_worker = scrapes[-1][1]
    assert len(per_worker) == 2 and min(per_worker.values()) > 0
    assert sum(per_worker.values()) == 300
    stored = stored_ids(yard_home)
    assert len(stored) == len(set(stored)) == 300
    assert set(stored) == {rid for _, rid in answers}


IN_FLIGHT = re.compile(rb'^yard_backend_in_flight\{backend="a"\} ([0-9.]+)$', re.MULTILINE)


def in_flight_seen(gw: Gateway, tries: int = 10) -> set[float]:
    """yard_backend_in_flight for backend a, per scrape (each may reach another worker)."""
    seen = set()
    for _ in range(tries):
        body = httpx.get(gw.url + "/metrics", headers={"Connection": "close"}).content
        seen.update(float(v) for v in IN_FLIGHT.findall(body))
    return seen


def hang(url: str) -> None:
    with contextlib.suppress(httpx.TimeoutException):
        httpx.post(url, json=CHAT, headers={"Connection": "close"}, timeout=4)


def test_in_flight_gauge_sums_the_workers(tmp_path: Path, yard_home: Path):
    with FaultUpstream("a") as upstream, gateway(tmp_path, yard_home, upstream) as gw:
        upstream.plan(*["hang"] * 6)
        with ThreadPoolExecutor(6) as pool:
            for _ in range(6):
                pool.submit(hang, gw.chat)
            time.sleep(2)  # each worker samples its gauges every second
            during = in_flight_seen(gw)
        time.sleep(2)  # the clients gave up after 4 s: the upstream calls were cancelled
        after = in_flight_seen(gw)
        assert gw.stop() == 0
    assert during == {6} and after == {0}


def hammer(url: str, acknowledged: list[str], stop: threading.Event) -> None:
    with httpx.Client(timeout=10) as client:
        while not stop.is_set():
            try:
                reply = client.post(url, json=CHAT, headers={"Connection": "close"})
            except httpx.HTTPError:
                continue  # the killed worker's connections; the next one reaches a live worker
            if reply.status_code == 200:
                acknowledged.append(reply.headers["x-request-id"])


def test_kill_9_of_a_worker_loses_nothing_acknowledged(tmp_path: Path, yard_home: Path):
    acknowledged: list[str] = []
    stop = threading.Event()
    with FaultUpstream("a") as upstream, gateway(tmp_path, yard_home, upstream) as running:
        threads = [threading.Thread(target=hammer, args=(running.chat, acknowledged, stop))
                   for _ in range(4)]  # fmt: skip
        for thread in threads:
            thread.start()
        time.sleep(1.5)
        victim = min(running.workers())
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while victim in running.workers() or len(running.workers()) < 2:
            assert time.monotonic() < deadline, "the killed worker was not replaced"
            time.sleep(0.1)
        before = len(acknowledged)
        time.sleep(1.5)
        stop.set()
        for thread in threads:
            thread.join(20)
        assert len(acknowledged) > before  # served on after the kill
        assert running.stop() == 0
    assert len(acknowledged) > 50
    assert set(acknowledged) <= set(stored_ids(yard_home))


def served_by_both(gw: Gateway, burst: Callable[[], T], tries: int = 5) -> list[T]:
    """Run ``burst`` (requests on fresh connections) until one run is served by both workers;
    every run's result. The kernel may hand a short burst to one worker alone (a CI run sent
    all 50 requests of the rpm and budget test to one), and that would prove nothing."""
    runs = []
    for _ in range(tries):
        before = gw.scrapes(1)[0][1]
        runs.append(burst())
        after = gw.scrapes(1)[0][1]
        if len(after) == 2 and all(after[pid] > before.get(pid, 0) for pid in after):
            return runs
    raise AssertionError(f"no burst of {tries} reached both workers")


def test_rpm_and_budget_hold_across_workers_as_in_one_process(tmp_path: Path, yard_home: Path):
    ledger = Ledger.open(None, yard_home)
    store = KeyStore.open(ledger.engine)
    limited = iter([store.create(f"rpm-{n}", rpm=20)[1] for n in range(5)])
    budgeted = iter([store.create(f"budget-{n}", budget_usd=5.5 * request_cost())[1]
                     for n in range(5)])  # fmt: skip
    ledger.close()

    def rpm_burst() -> list[int]:
        key = next(limited)
        with ThreadPoolExecutor(8) as pool:
            return [status for status, _ in pool.map(lambda _: post(gw.chat, key), range(40))]

    def budget_burst() -> list[int]:
        key = next(budgeted)
        return [post(gw.chat, key)[0] for _ in range(10)]

    price = ", price: openai/gpt-4o"
    with FaultUpstream("a") as upstream, gateway(tmp_path, yard_home, upstream, 2, price) as gw:
        rpm = served_by_both(gw, rpm_burst)
        budget = served_by_both(gw, budget_burst)
        assert gw.stop() == 0
    assert all((run.count(200), run.count(429)) == (20, 20) for run in rpm)
    # one process admits while spend < budget: the 6th request crosses it, the 7th is refused
    assert all(run == [200] * 6 + [429] * 4 for run in budget)


def statuses(gw: Gateway, key: str, count: int = 24) -> set[int]:
    """Answers to bursts of ``count`` requests on fresh connections, until one burst reaches
    both workers."""

    def burst() -> set[int]:
        with ThreadPoolExecutor(4) as pool:
            return {status for status, _ in pool.map(lambda _: post(gw.chat, key), range(count))}

    return set().union(*served_by_both(gw, burst))


def test_keys_made_or_revoked_anywhere_reach_every_worker(tmp_path: Path, yard_home: Path):
    config = tmp_path / "gateway.yaml"
    with FaultUpstream("a") as upstream:
        # no failed-login throttle: one worker may get over 20 of the 24 revoked-key requests
        config.write_text(f"server: {{admin_key: {ADMIN}, key_refresh_s: 0.3, "
                          "failed_logins_per_minute: 0}\n"
                          f"backends:\n  - {{name: a, base_url: '{upstream.url}'}}\n"
                          "models:\n  m: [a]\n")  # fmt: skip
        gw = start(tmp_path, yard_home, config, 2)
        try:
            wait_ready(gw, 2)
            ledger = Ledger.open(None, yard_home)  # as `yard keys create` does
            _, made_outside = KeyStore.open(ledger.engine).create("cli")
            ledger.close()
            time.sleep(1)
            assert statuses(gw, made_outside) == {200}
            auth = {"Authorization": f"Bearer {ADMIN}"}
            made = httpx.post(gw.url + "/admin/keys", json={"name": "api"}, headers=auth).json()
            time.sleep(1)
            assert statuses(gw, made["key"]) == {200}
            # one worker answers the revocation; the other learns it from the database
            revoked = httpx.delete(f"{gw.url}/admin/keys/{made['id']}", headers=auth)
            assert revoked.status_code == 200
            time.sleep(1)
            assert statuses(gw, made["key"]) == {401}
            assert gw.stop() == 0
        finally:
            gw.kill()


def test_a_session_stays_on_its_model_whichever_worker_serves_it(tmp_path, yard_home):
    with FaultUpstream("home") as home, FaultUpstream("remote") as remote:
        config = config_file(auto_config(home, remote), tmp_path / "gateway.yaml")
        gw = start(tmp_path, yard_home, config, 2)
        try:
            wait_ready(gw, 2)
            session = {"x-yard-session": "conv-1", "Connection": "close"}

            def ask(extra: dict) -> str:
                body = {"model": "auto", "messages": [{"role": "user", "content": "hi"}], **extra}
                reply = httpx.post(gw.chat, json=body, headers=session, timeout=20)
                assert reply.status_code == 200, reply.text
                return reply.headers["x-yard-route"]

            assert ask({"tools": TOOLS}).startswith("big;")  # `cheap` cannot call tools

            def burst() -> set[str]:
                with ThreadPoolExecutor(4) as pool:
                    return set(pool.map(lambda _: ask({}), range(24)))  # `cheap` would do

            later = set().union(*served_by_both(gw, burst))
            assert gw.stop() == 0
        finally:
            gw.kill()
    assert later == {"big; reason=pinned to session"}


def test_local_engines_start_once_in_the_parent(
    tmp_path: Path, yard_home: Path, smollm2_gguf: Path
):
    config = tmp_path / "gateway.yaml"
    config.write_text(f"backends:\n  - {{name: l, kind: local, gguf: '{smollm2_gguf}', "
                      "context_size: 512}\nmodels:\n  m: [l]\n")  # fmt: skip
    running = start(tmp_path, yard_home, config, 2)
    try:
        wait_ready(running, 3, timeout=180)  # two workers and one engine
        engines = [p for p in running.workers() if b"_llama_server" in _cmdline(p)]
        body = {**CHAT, "max_tokens": 4}
        replies = [httpx.post(running.chat, json=body, headers={"Connection": "close"},
                              timeout=60) for _ in range(6)]  # fmt: skip
        assert running.stop() == 0
    finally:
        running.kill()
    assert len(engines) == 1
    assert [r.status_code for r in replies] == [200] * 6
    assert not Path(f"/proc/{engines[0]}").exists()  # stopped with the parent


def _cmdline(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes()


@pytest.mark.parametrize(("value", "expected"), [(3, 3), ("2", 2), ("auto", None), (0, None)])
def test_worker_count(value: int | str, expected: int | None):
    assert worker_count(value) == (expected or len(os.sched_getaffinity(0)))


def test_worker_count_refuses_nonsense():
    with pytest.raises(YardError, match="workers: 'many'"):
        worker_count("many")


def test_a_taken_port_is_a_clear_error(tmp_path: Path, yard_home: Path):
    with FaultUpstream("a") as upstream, gateway(tmp_path, yard_home, upstream) as running:
        port = running.url.rsplit(":", 1)[1]
        config = tmp_path / "gateway.yaml"
        taken = subprocess.run([str(YARD), "serve", "-c", str(config), "-p", port, "-w", "2"],
                               capture_output=True, text=True, timeout=60)  # fmt: skip
        assert running.stop() == 0
    assert taken.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in taken.stderr
