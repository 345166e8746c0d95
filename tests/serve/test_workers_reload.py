"""Reloading `yard serve --workers 2`: the parent re-reads the file and replaces its workers."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.serve.fault_upstream import FaultUpstream
from tests.serve.gateway_server import log_lines
from tests.serve.test_reload import AUTH, model_ids, wait_for, write_config
from tests.serve.test_workers import Gateway, start, wait_ready

pytestmark = pytest.mark.slow

CLOSE = {"Connection": "close"}


@contextmanager
def workers_gateway(tmp_path: Path, home: Path, config: Path) -> Iterator[Gateway]:
    """`yard serve -c config -w 2`, ready; killed on exit if a test left it running."""
    running = start(tmp_path, home, config, 2)
    try:
        wait_ready(running, 2)
        yield running
    finally:
        running.kill()


def reload(gateway: Gateway) -> httpx.Response:
    """POST /admin/reload on a fresh connection (whichever worker the kernel picks)."""
    return httpx.post(gateway.url + "/admin/reload", headers=AUTH | CLOSE, timeout=60)


def replaced(gateway: Gateway, before: set[int]) -> bool:
    """Whether every worker of ``before`` has exited and two new ones serve."""
    now = gateway.workers()
    return not now & before and len(now) == 2


def everyone_serves(gateway: Gateway, expected: list[str], tries: int = 30) -> bool:
    """Whether ``tries`` fresh connections (spread by the kernel) all list ``expected``."""
    return all(model_ids(gateway.url) == expected for _ in range(tries))


def chat(gateway: Gateway, model: str) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    return httpx.post(gateway.chat, json=body, headers=AUTH | CLOSE, timeout=20)


def test_reload_adds_a_model_that_every_new_worker_serves(tmp_path: Path, yard_home: Path):
    with FaultUpstream("a") as a, FaultUpstream("b") as b:
        path = write_config(tmp_path / "gateway.yaml", {"a": a.url}, {"m": ["a"]})
        with workers_gateway(tmp_path, yard_home, path) as gw:
            before = gw.workers()
            write_config(path, {"a": a.url, "b": b.url}, {"m": ["a"], "n": ["b", "a"]})
            reply = reload(gw)
            assert reply.status_code == 200, reply.text
            answer = reply.json()
            assert answer["object"] == "gateway.reload"
            assert answer["config"] == str(path.absolute())
            assert answer["backends"] == {"added": ["b"], "removed": [], "changed": [],
                                          "kept": ["a"]}  # fmt: skip
            assert answer["models"] == {"added": ["n"], "removed": [], "changed": [],
                                        "kept": ["m"]}  # fmt: skip
            assert answer["restart_required"] == []
            wait_for(lambda: replaced(gw, before))
            assert everyone_serves(gw, ["m", "n"])
            served = chat(gw, "n")
            assert served.status_code == 200 and served.headers["x-yard-backend"] == "b"
            assert gw.stop() == 0


def test_a_broken_file_is_refused_and_the_workers_keep_serving(tmp_path: Path, yard_home: Path):
    with FaultUpstream("a") as a:
        path = write_config(tmp_path / "gateway.yaml", {"a": a.url}, {"m": ["a"]})
        with workers_gateway(tmp_path, yard_home, path) as gw:
            before = gw.workers()
            text = path.read_text()
            path.write_text(text.replace("retry_backoff_s: 0.01", "retry_backoff_s: soon"))
            reply = reload(gw)
            assert reply.status_code == 400
            error = reply.json()["error"]
            assert error["code"] == "invalid_config"
            where = re.escape(str(path.absolute()))
            assert re.search(where + r":7: backends\.0\.retry_backoff_s: ", error["message"])
            path.write_text(text + "  oops: [a\n")  # not YAML at all
            reply = reload(gw)
            assert reply.status_code == 400 and str(path) in reply.json()["error"]["message"]
            assert gw.workers() == before
            assert everyone_serves(gw, ["m"], tries=10)
            assert chat(gw, "m").status_code == 200
            assert gw.stop() == 0


def hammer(gateway: Gateway, outcomes: list[int | str], stop: threading.Event) -> None:
    """Chat on fresh connections until ``stop``; each status, or the transport error."""
    while not stop.is_set():
        try:
            outcomes.append(chat(gateway, "m").status_code)
        except httpx.HTTPError as exc:
            outcomes.append(repr(exc))


def test_steady_traffic_across_reloads_sees_no_failed_request(tmp_path: Path, yard_home: Path):
    with FaultUpstream("a") as a, FaultUpstream("b") as b:
        path = write_config(tmp_path / "gateway.yaml", {"a": a.url}, {"m": ["a"]})
        outcomes: list[int | str] = []
        stop = threading.Event()
        with workers_gateway(tmp_path, yard_home, path) as gw:
            threads = [threading.Thread(target=hammer, args=(gw, outcomes, stop))
                       for _ in range(4)]  # fmt: skip
            for thread in threads:
                thread.start()
            for name, upstream in [("b", b), ("a", a), ("b", b)]:  # m moves, a is dropped
                before = gw.workers()
                write_config(path, {name: upstream.url}, {"m": [name]})
                assert reload(gw).status_code == 200
                wait_for(lambda before=before: replaced(gw, before))
            time.sleep(0.5)
            stop.set()
            for thread in threads:
                thread.join(30)
            assert gw.stop() == 0
    failed = [o for o in outcomes if o != 200]
    assert len(outcomes) > 100 and not failed, failed[:5]
    assert a.requests and b.requests


def test_sighup_to_the_parent_or_a_worker_reloads(tmp_path: Path, yard_home: Path):
    with FaultUpstream("a") as a:
        path = write_config(tmp_path / "gateway.yaml", {"a": a.url}, {"m": ["a"]})
        with workers_gateway(tmp_path, yard_home, path) as gw:
            write_config(path, {"a": a.url}, {"m": ["a"], "n": ["a"]})
            before = gw.workers()
            gw.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: replaced(gw, before))
            assert gw.proc.poll() is None and everyone_serves(gw, ["m", "n"])
            write_config(path, {"a": a.url}, {"m": ["a"], "n": ["a"], "o": ["a"]})
            before = gw.workers()
            os.kill(min(before), signal.SIGHUP)  # a worker passes it on to the parent
            wait_for(lambda: replaced(gw, before))
            assert gw.proc.poll() is None and everyone_serves(gw, ["m", "n", "o"])
            path.write_text("backends: [\n")
            gw.proc.send_signal(signal.SIGHUP)
            time.sleep(1)
            assert gw.proc.poll() is None and everyone_serves(gw, ["m", "n", "o"], tries=10)
            assert gw.stop() == 0
    (failed,) = log_lines((tmp_path / "serve.log").read_text(), "reload_failed")
    assert str(path) in failed["error"] and failed["result"] == "still serving the previous config"


def test_reload_starts_a_new_local_engine_once_and_stops_a_dropped_one(
    tmp_path: Path, yard_home: Path, smollm2_gguf: Path
):
    with FaultUpstream("a") as a:
        path = write_config(tmp_path / "gateway.yaml", {"a": a.url}, {"m": ["a"]})
        with workers_gateway(tmp_path, yard_home, path) as gw:
            text = path.read_text()
            local = f"  - {{name: l, kind: local, gguf: '{smollm2_gguf}', context_size: 512}}\n"
            path.write_text(text.replace("models:\n", local + "models:\n") + "  s: [l]\n")
            reply = reload(gw)
            assert reply.status_code == 200, reply.text
            assert reply.json()["backends"]["added"] == ["l"]
            engines = [p for p in gw.workers() if b"_llama_server" in _cmdline(p)]
            assert len(engines) == 1  # in the parent, for both workers
            body = {"model": "s", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
            replies = [httpx.post(gw.chat, json=body, headers=AUTH | CLOSE, timeout=60)
                       for _ in range(6)]  # fmt: skip
            assert [r.status_code for r in replies] == [200] * 6
            path.write_text(text)
            reply = reload(gw)
            assert reply.status_code == 200 and reply.json()["backends"]["removed"] == ["l"]
            wait_for(lambda: not Path(f"/proc/{engines[0]}").exists())
            assert chat(gw, "s").status_code == 404
            assert gw.stop() == 0


def _cmdline(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes()
