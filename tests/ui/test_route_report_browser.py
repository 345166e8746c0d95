"""`yard route eval --report` from a real leave-one-file-out run, opened in Chromium: both charts
have titled axes with tick numbers inside the chart, every split has its table, verdicts are
coloured, a task named like markup stays text, nothing is fetched; screenshots beside the
other reports'."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.route.conftest import MODEL_CACHE
from tests.ui.conftest import SHOTS, watched_page
from tests.ui.test_reports_browser import CHART_CHECK

pytestmark = pytest.mark.slow
WEAK, STRONG = "mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview"
HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def report(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("route-report")
    files = []
    for name, task in (("gsm8k.jsonl", "gsm8k"), ("mmlu.jsonl", HOSTILE)):
        rows = (shared_data / "routellm" / name).read_text().split("\n")[:90]
        files.append(root / f"{task}.jsonl")  # the file's name is the task's
        files[-1].write_text("\n".join(rows) + "\n")
    out = root / "route.html"
    command = [str(Path(sys.executable).parent / "yard"), "route", "eval", *map(str, files)]
    command += ["--leave-out", "file", "--weak", WEAK, "--strong", STRONG, "-r", str(out)]
    env = {**os.environ, "YARD_MODEL_CACHE": str(MODEL_CACHE), "YARD_HOME": str(root)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def test_route_report_in_chromium(browser: object, report: Path) -> None:
    for width in (1280, 390):
        page, watch = watched_page(browser, width, ("file://",))
        page.goto(report.as_uri())  # type: ignore[attr-defined]
        charts = page.evaluate(CHART_CHECK)  # type: ignore[attr-defined]
        titles = [c["title"] for c in charts]
        assert titles == ["Quality versus cost", "The router at the 95% target, per held-out split"]
        for chart in charts:
            assert len(chart["labels"]) == 2 and all(chart["labels"]), chart
            assert chart["xTicks"] >= 2 and chart["yTicks"] >= 2, chart
            assert chart["inside"], f"a tick label of {chart['title']} is cut off"
            assert not chart["sci"], chart
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"report-route-{width}.png"), full_page=True)  # type: ignore[attr-defined]
        watch.clean()
        assert watch.dialogs == []


def test_every_split_has_its_table_and_coloured_verdicts(browser: object, report: Path) -> None:
    page, watch = watched_page(browser, 1280, ("file://",))
    page.goto(report.as_uri())  # type: ignore[attr-defined]
    headings = page.locator("h2").all_inner_texts()  # type: ignore[attr-defined]
    assert "gsm8k (85 prompts)" in headings  # 5 rows marked contaminated are dropped
    assert f"{HOSTILE} (90 prompts)" in headings  # the task's name, shown as text
    assert page.locator("svg.chart >> text=" + HOSTILE).count() == 1  # type: ignore[attr-defined]
    outcomes = page.locator("td span.pass, td span.fail, td span.none").all_inner_texts()  # type: ignore[attr-defined]
    assert outcomes and all(o.split(" ", 1)[1] in {"win", "loss", "trade-off", "tie"}
                            for o in outcomes)  # fmt: skip
    colour = "el => getComputedStyle(el).color"
    if page.locator("td span.fail").count():  # type: ignore[attr-defined]
        assert page.locator("td span.fail").first.evaluate(colour) == "rgb(207, 34, 46)"  # type: ignore[attr-defined]
    watch.clean()
