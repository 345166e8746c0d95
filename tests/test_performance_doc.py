"""docs/PERFORMANCE.md is what benchmarks/performance.py writes from the results files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_performance_document_matches_the_results_files() -> None:
    done = subprocess.run(
        [sys.executable, "benchmarks/performance.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
