"""Run the PyPI package pii-leak-benchmark (0.6) against `yard serve` in ``redact`` mode.

    pip install pii-leak-benchmark==0.6.0
    python benchmarks/privacy/pii_leak.py [--out results/pii_leak_benchmark]

Starts `yard serve` with one remote model whose upstream is the benchmark's capture server
(127.0.0.1:8765, the package's default), ``privacy.private_data: redact``, then runs the
package's ``selfcheck`` for both of its profiles (``pii-v1``: e-mail, phone, SSN, card;
``pii-secrets-v1``: credentials too), each over streaming requests: the capture server checks
every byte the gateway sends upstream for the planted values, and the client's stream for the
values given back. Its JSON reports are kept beside this file's results.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

HERE = Path(__file__).parent
CAPTURE = "http://127.0.0.1:8765/v1"
MODEL = "remote-model"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_gateway(home: Path, port: int) -> subprocess.Popen[bytes]:
    config = {
        "backends": [{"name": "capture", "base_url": CAPTURE, "api_key": "sk-capture"}],
        "models": {MODEL: ["capture"]},
        "privacy": {"private_data": "redact"},
    }
    path = home / "gateway.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "YARD_HOME": str(home)}
    yard = shutil.which("yard", path=str(Path(sys.executable).parent)) or "yard"
    proc = subprocess.Popen([yard, "serve", "-c", str(path), "-p", str(port)], env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("yard serve did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=HERE / "results" / "pii_leak_benchmark")
    parser.add_argument("--iterations", type=int, default=3)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    tool = shutil.which("pii-leak-benchmark", path=str(Path(sys.executable).parent))
    if tool is None:
        raise SystemExit("pip install pii-leak-benchmark==0.6.0 first")
    port = free_port()
    with tempfile.TemporaryDirectory() as home:
        gateway = start_gateway(Path(home), port)
        try:
            for profile in ("pii-v1", "pii-secrets-v1"):
                report = args.out / f"{profile}.json"
                command = [
                    tool,
                    "selfcheck",
                    "--target-base-url",
                    f"http://127.0.0.1:{port}/v1",
                    "--target-model",
                    MODEL,
                    "--profile",
                    profile,
                    "--no-credentials",
                    "--iterations",
                    str(args.iterations),
                    "--json-out",
                    str(report),
                ]
                print("$", " ".join(command[1:]), flush=True)
                subprocess.run(command, check=False)
        finally:
            gateway.terminate()
            gateway.wait(30)


if __name__ == "__main__":
    main()
