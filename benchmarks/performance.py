"""Write docs/PERFORMANCE.md from the benchmarks' results files.

    .venv/bin/python benchmarks/performance.py          # rewrite the document
    .venv/bin/python benchmarks/performance.py --check  # exit 1 when it is out of date

Each name in ``SECTIONS`` is a folder of ``benchmarks/`` whose ``summary.py`` has a
``section() -> perfdoc.Section`` that reads that benchmark's results files. The dated runs and
what they taught stay in docs/performance-history.md, which is written by hand.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from perfdoc import ROOT, Section

DOC = ROOT / "docs" / "PERFORMANCE.md"
SECTIONS = (
    "planner_vs_llmfit",
    "planner_vs_published",
    "gpu_measure",
    "finetune_vs_published",
    "gateway_overhead",
    "soak",
    "loadgen_ceiling",
    "fake_upstream",
    "eval_throughput",
    "sandbox",
    "dashboard",
    "report_render",
    "cli_startup",
)
HEAD = """# Performance

The current figures, each read from a benchmark's results files and written here by
`.venv/bin/python benchmarks/performance.py` (CI fails when this file and the results files
disagree). Every section starts with the command that measures it again. How each figure came
to be (earlier runs, what changed between them, what was tried and dropped) is in
[performance-history.md](performance-history.md).
"""


def section(name: str) -> Section:
    path = Path(__file__).resolve().parent / name / "summary.py"
    spec = importlib.util.spec_from_file_location(f"summary_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result: Section = module.section()
    return result


def document() -> str:
    sections = [section(name) for name in SECTIONS]
    contents = "\n".join(f"- [{s.title}](#{anchor(s.title)})" for s in sections)
    body = "\n".join(s.markdown() for s in sections)
    return f"{HEAD}\n{contents}\n\n{body}"


def anchor(title: str) -> str:
    """GitHub's anchor for a heading."""
    kept = "".join(c for c in title.lower() if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    text = document()
    if parser.parse_args().check:
        if DOC.read_text(encoding="utf-8") == text:
            return 0
        print(f"{DOC.relative_to(ROOT)} is out of date: run benchmarks/performance.py")
        return 1
    DOC.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
