"""Reloading the config of a running gateway: POST /admin/reload and SIGHUP, over real HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from modelyard.serve.config_file import load_config
from tests.serve.fault_upstream import FaultUpstream
from tests.serve.gateway_server import (
    TOOLS,
    auto_config,
    config_file,
    gateway_config,
    log_lines,
    running_gateway,
)
from tests.serve.test_crash import free_port

ADMIN = "admin-key-for-reload-tests"
AUTH = {"Authorization": f"Bearer {ADMIN}"}


def chat(url: str, model: str) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    return httpx.post(f"{url}/v1/chat/completions", json=body, headers=AUTH, timeout=10)


def write_config(path: Path, backends: dict[str, str], models: dict[str, list[str]],
                 port: int = 4000) -> Path:  # fmt: skip
    lines = [f"server:\n  admin_key: {ADMIN}\n  port: {port}\nbackends:"]
    fast = "    retry_backoff_s: 0.01\n    breaker: {failures: 1, cooldown_s: 60}"
    lines += [f"  - name: {n}\n    base_url: {u}\n{fast}" for n, u in backends.items()]
    lines += ["models:"] + [f"  {m}: [{', '.join(chain)}]" for m, chain in models.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def model_ids(url: str) -> list[str]:
    return [m["id"] for m in httpx.get(f"{url}/v1/models", headers=AUTH).json()["data"]]


def test_reload_adds_a_model_and_keeps_unchanged_backends(tmp_path: Path) -> None:
    with FaultUpstream("a") as a, FaultUpstream("b") as b:
        path = write_config(tmp_path / "gateway.yaml", {"a": a.url}, {"m": ["a"]})
        with running_gateway(load_config(path)) as gw:
            assert chat(gw.url, "m").status_code == 200
            a.plan("500")  # opens a's breaker, which the reload must keep as it is
            assert chat(gw.url, "m").status_code == 502
            write_config(path, {"a": a.url, "b": b.url}, {"m": ["a"], "n": ["b", "a"]}, port=4001)
            reply = httpx.post(f"{gw.url}/admin/reload", headers=AUTH)
            assert reply.status_code == 200, reply.text
            answer = reply.json()
            assert answer["backends"] == {"added": ["b"], "removed": [], "changed": [],
                                          "kept": ["a"]}  # fmt: skip
            assert answer["models"] == {"added": ["n"], "removed": [], "changed": [],
                                        "kept": ["m"]}  # fmt: skip
            assert answer["restart_required"] == ["server.port"]
            assert answer["config"] == str(path.absolute())
            assert model_ids(gw.url) == ["m", "n"]
            served = chat(gw.url, "n")
            assert served.status_code == 200 and served.headers["x-yard-backend"] == "b"
            health = httpx.get(f"{gw.url}/health").json()
            assert set(health["backends"]) == {"a", "b"}
            assert health["backends"]["a"]["breaker"] == "open"
            metrics = httpx.get(f"{gw.url}/metrics").text
            assert 'yard_backend_in_flight{backend="b"}' in metrics
            assert 'yard_requests_total{backend="a",model="m",status="200"} 1.0' in metrics


def test_a_broken_file_is_refused_and_the_old_config_keeps_serving(tmp_path: Path) -> None:
    with FaultUpstream("a") as a:
        path = write_config(tmp_path / "gateway.yaml", {"a": a.url}, {"m": ["a"]})
        with running_gateway(load_config(path)) as gw:
            text = path.read_text()
            path.write_text(text.replace("models:\n  m: [a]", "models:\n  m: [nowhere]"))
            reply = httpx.post(f"{gw.url}/admin/reload", headers=AUTH)
            assert reply.status_code == 400
            error = reply.json()["error"]
            assert error["code"] == "invalid_config"
            assert str(path) in error["message"] and "unknown backend 'nowhere'" in error["message"]
            path.write_text(text + "  oops: [a\n")  # not YAML at all
            reply = httpx.post(f"{gw.url}/admin/reload", headers=AUTH)
            assert reply.status_code == 400 and str(path) in reply.json()["error"]["message"]
            assert model_ids(gw.url) == ["m"]
            assert chat(gw.url, "m").status_code == 200


def test_reload_needs_the_admin_key_and_a_config_file(tmp_path: Path) -> None:
    with FaultUpstream("a") as a:
        config = gateway_config([{"name": "a", "base_url": a.url}], {"m": ["a"]}, admin_key=ADMIN)
        with running_gateway(config) as gw:
            for headers in ({}, {"Authorization": "Bearer wrong"}):
                reply = httpx.post(f"{gw.url}/admin/reload", headers=headers)
                assert reply.status_code == 401
                assert reply.json()["error"]["code"] == "invalid_api_key"
            reply = httpx.post(f"{gw.url}/admin/reload", headers=AUTH)
            assert reply.status_code == 409
            error = reply.json()["error"]
            assert error["code"] == "no_config_file" and "yard serve --config" in error["message"]


def test_a_stream_in_flight_completes_across_a_reload_that_drops_its_backend(
    tmp_path: Path,
) -> None:
    with FaultUpstream("a", chunks=6) as a, FaultUpstream("b") as b:
        path = write_config(tmp_path / "gateway.yaml", {"a": a.url}, {"m": ["a"]})
        with running_gateway(load_config(path)) as gw:
            a.plan("slow:0.25")
            body = {"model": "m", "stream": True,
                    "messages": [{"role": "user", "content": "hi"}]}  # fmt: skip
            streamed: list[str] = []
            with httpx.stream("POST", f"{gw.url}/v1/chat/completions", json=body,
                              headers=AUTH, timeout=10) as reply:  # fmt: skip
                lines = reply.iter_lines()
                streamed.append(next(lines))  # the stream is under way
                write_config(path, {"b": b.url}, {"n": ["b"]})
                answer = httpx.post(f"{gw.url}/admin/reload", headers=AUTH).json()
                assert answer["backends"]["removed"] == ["a"]
                assert chat(gw.url, "m").status_code == 404
                streamed += list(lines)
            assert reply.status_code == 200
            assert "data: [DONE]" in streamed
            assert sum('"content":"t' in line for line in streamed) == 6
            assert chat(gw.url, "n").status_code == 200


def test_concurrent_requests_during_reloads_all_succeed(tmp_path: Path) -> None:
    with FaultUpstream("a") as a, FaultUpstream("b") as b:
        path = write_config(tmp_path / "gateway.yaml", {"a": a.url}, {"m": ["a"]})
        with running_gateway(load_config(path)) as gw:
            statuses: list[int] = []
            stop = threading.Event()

            def hammer() -> None:
                with httpx.Client(timeout=10, headers=AUTH) as client:
                    while not stop.is_set():
                        body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
                        statuses.append(client.post(f"{gw.url}/v1/chat/completions",
                                                    json=body).status_code)  # fmt: skip

            worker = threading.Thread(target=hammer)
            worker.start()
            for i in range(6):  # m moves between a and b; every request must still be served
                upstream = ("b", b.url) if i % 2 == 0 else ("a", a.url)
                write_config(path, dict([upstream]), {"m": [upstream[0]]})
                assert httpx.post(f"{gw.url}/admin/reload", headers=AUTH).status_code == 200
                time.sleep(0.05)
            stop.set()
            worker.join(10)
            assert statuses and set(statuses) == {200}
            assert a.requests and b.requests


@pytest.mark.slow
def test_sighup_reloads_yard_serve(tmp_path: Path, yard_home: Path) -> None:
    with FaultUpstream("a") as a, FaultUpstream("b") as b:
        port = free_port()
        path = write_config(tmp_path / "gateway.yaml", {"a": a.url}, {"m": ["a"]}, port=port)
        yard = Path(sys.executable).parent / "yard"
        gateway = subprocess.Popen(
            [str(yard), "serve", "--config", str(path)],
            env={**os.environ, "YARD_HOME": str(yard_home)},
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for(lambda: model_ids(url) == ["m"])
            write_config(path, {"a": a.url, "b": b.url}, {"m": ["a"], "n": ["b"]}, port=port)
            gateway.send_signal(signal.SIGHUP)
            wait_for(lambda: model_ids(url) == ["m", "n"])
            path.write_text("backends: [\n")
            gateway.send_signal(signal.SIGHUP)
            time.sleep(0.5)
            assert gateway.poll() is None and model_ids(url) == ["m", "n"]
        finally:
            gateway.terminate()
            out, _ = gateway.communicate(timeout=30)
        (failed,) = log_lines(out, "reload_failed")  # one JSON line on stdout
        assert failed["level"] == "error" and str(path) in failed["error"]
        assert log_lines(out, "reload")[0]["models"]["added"] == ["n"]


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_a_reload_keeps_auto_session_pins(tmp_path: Path) -> None:
    with FaultUpstream("home") as home, FaultUpstream("remote") as remote:
        config = auto_config(home, remote)
        config = config.model_copy(
            update={"server": config.server.model_copy(update={"admin_key": ADMIN})}
        )
        path = config_file(config, tmp_path / "gateway.yaml")
        text = path.read_text()
        with running_gateway(load_config(path)) as gw:

            def route(extra: dict) -> str:
                body = {"model": "auto", "messages": [{"role": "user", "content": "hi"}], **extra}
                headers = {**AUTH, "x-yard-session": "conv-1"}
                url = f"{gw.url}/v1/chat/completions"
                return httpx.post(url, json=body, headers=headers, timeout=10).headers[
                    "x-yard-route"
                ]

            assert route({"tools": TOOLS}).startswith("big;")
            path.write_text(text.replace("output_per_mtok: 0.2", "output_per_mtok: 0.3"))
            assert httpx.post(f"{gw.url}/admin/reload", headers=AUTH).status_code == 200
            assert route({}) == "big; reason=pinned to session"
