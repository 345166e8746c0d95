"""Ctrl-C on `yard bench` and `yard eval`: a real SIGINT to a real process keeps what finished,
writes the partial report, says so and exits 130."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.cli.process import start
from tests.serve.fault_upstream import FaultUpstream


def interrupt(process: subprocess.Popen[str], ready: Callable[[], bool]) -> tuple[str, str, float]:
    """SIGINT once ``ready()``; (stdout, stderr, seconds from the signal to the exit)."""
    deadline = time.monotonic() + 60
    while not ready() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    assert process.poll() is None, process.communicate()
    process.send_signal(signal.SIGINT)
    sent = time.monotonic()
    out, err = process.communicate(timeout=60)
    return out, err, time.monotonic() - sent


def test_bench_keeps_finished_requests_and_writes_the_partial_report(tmp_path: Path) -> None:
    report = tmp_path / "bench.html"
    with FaultUpstream("a") as up:
        up.plan(*["slow:0.05"] * 500)  # five chunks 50 ms apart: 0.2 s a request
        args = ["bench", up.url, "-m", "m", "-c", "2", "-n", "400", "-o", str(report), "--json"]
        process = start(*args, home=tmp_path / "home")
        out, err, took = interrupt(process, lambda: len(up.requests) >= 8)
        sent = len(up.requests)
        time.sleep(0.3)
        assert len(up.requests) == sent, "nothing is sent after the interruption"
    assert process.returncode == 130, err
    summary = json.loads(out)
    done = summary["steps"][0]["requests"]
    assert summary["status"] == "interrupted" and 5 <= done < sent
    assert summary["steps"][0]["errors"] == 0, "requests cut by Ctrl-C are not counted as errors"
    assert summary["stop_reason"].startswith("Ctrl-C during concurrency=2")
    assert f"hold the {done} requests that finished, and so does the report" in err
    assert "Partial results" in report.read_text()
    saved = json.loads(report.with_suffix(".json").read_text())
    assert saved["status"] == "interrupted" and len(saved["requests"]) == done
    assert took < 10


def test_bench_at_a_rate_drops_requests_in_flight_and_stops(tmp_path: Path) -> None:
    with FaultUpstream("a") as up:
        up.plan(*["slow:0.2"] * 500)  # 0.8 s a request: several are always in flight
        process = start("bench", up.url, "-m", "m", "-r", "20", "-n", "400", home=tmp_path)
        out, err, took = interrupt(process, lambda: len(up.requests) >= 30)
        time.sleep(0.3)
        cancelled = up.cancelled
    assert process.returncode == 130, err
    assert "Latencies in ms" in out and "rate=20" in out
    assert "Interrupted: Ctrl-C during rate=20" in err
    assert cancelled >= 3, "the streams in flight were closed, not left running"
    assert took < 10


def test_eval_scores_what_every_model_answered_and_resumes_from_the_store(
    tmp_path: Path,
) -> None:
    out_dir = tmp_path / "run"
    with FaultUpstream("a") as up:
        up.plan(*["ok"] * 6, *["hang"] * 100)
        args = ["eval", "arithmetic", "-m", "a,b", "-c", "2", "--base-url", up.url]
        process = start(*args, "-o", str(out_dir), "--json", home=tmp_path / "home")
        out, err, took = interrupt(process, lambda: up.cancelled == 0 and len(up.requests) >= 8)
        assert process.returncode == 130, err
        summary = json.loads(out)
        scored = summary["stats"]["items"]
        assert summary["status"] == "interrupted" and 1 <= scored <= 3
        assert f"Ctrl-C after {scored} of 12 items" in err and "resumes" in err
        saved = json.loads((out_dir / "report.json").read_text())
        assert saved["status"] == "interrupted" and len(saved["items"]) == 2 * scored
        assert all(row["quality"]["n"] == scored for row in summary["results"])

        up.behaviours.clear()  # the endpoint answers everything now
        again = start(*args, "--json", home=tmp_path / "home")
        rerun, rerun_err = again.communicate(timeout=120)
    assert again.returncode == 0, rerun_err
    resumed = json.loads(rerun)
    assert resumed["status"] == "ok" and resumed["stats"]["items"] == 12
    assert resumed["stats"]["cached"] == 6, "the six replies that arrived are not asked again"
    assert took < 10
