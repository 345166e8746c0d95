"""Eval and bench reports, made by real `yard eval` and `yard bench` runs through a gateway, opened
in Chromium: every chart has titled axes with tick numbers that sit inside the chart, pass and
fail are coloured, nothing is fetched and nothing logs an error; screenshots beside the
dashboard's."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serve.dashboard_gateway import ADMIN_KEY, Board, dashboard_gateway
from tests.ui.conftest import SHOTS, watched_page

pytestmark = pytest.mark.slow

CHART_CHECK = """
() => [...document.querySelectorAll('svg.chart')].map(svg => {
  const view = svg.viewBox.baseVal;
  const ticks = [...svg.querySelectorAll('text.tick')];
  const inside = ticks.every(t => {
    const b = t.getBBox();
    return b.x >= 0 && b.y >= 0 && b.x + b.width <= view.width + 0.5
      && b.y + b.height <= view.height + 0.5;
  });
  return {
    title: svg.getAttribute('aria-label'),
    labels: [...svg.querySelectorAll('text.axis-label')].map(t => t.textContent),
    xTicks: svg.querySelectorAll('.axis-x text.tick').length,
    yTicks: svg.querySelectorAll('.axis-y text.tick').length,
    inside,
    sci: ticks.some(t => /e[+-]/.test(t.textContent)),
  };
})
"""


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """An eval of two models and a bench sweep, both through one gateway."""
    root = tmp_path_factory.mktemp("reports")
    with dashboard_gateway(root / "home") as board:
        yield {"eval": run_eval(board, root), "bench": run_bench(board, root)}


def yard(*args: str, home: Path, **env: str) -> None:
    """Run the real `yard` command (in its own process: Playwright holds this one's event loop)."""
    command = [str(Path(sys.executable).parent / "yard"), *args]
    environment = {**os.environ, "YARD_HOME": str(home), **env}
    done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def run_eval(board: Board, root: Path) -> Path:
    board.home_up.plan(*["say:The answer is 42."] * 4)  # big: right on add-1 only
    folder = root / "eval"
    yard(
        "eval",
        "arithmetic",
        "-m",
        "big,cheap",
        "-n",
        "4",
        "-c",
        "1",
        "--base-url",
        f"{board.url}/v1",
        "-o",
        str(folder),
        home=root,
        YARD_API_KEY=ADMIN_KEY,
    )
    return folder / "report.html"


def run_bench(board: Board, root: Path) -> Path:
    out = root / "bench.html"
    board.remote_up.plan("ok", "503", "503", "503")  # the warm-up, then a request that fails
    sweep = ["--sweep", "-n", "30", "--max-concurrency", "4", "--slo", "ttft=500ms"]
    yard(
        "bench",
        f"{board.url}/v1",
        "-m",
        "cheap",
        *sweep,
        "--api-key",
        ADMIN_KEY,
        "-o",
        str(out),
        home=root,
    )
    return out


@pytest.mark.parametrize(("name", "charts"), [("eval", 1), ("bench", 4)])
def test_report_charts_have_labelled_axes(
    browser: object, reports: dict[str, Path], name: str, charts: int
) -> None:
    for width in (1280, 390):
        page, watch = watched_page(browser, width, ("file://",))
        page.goto(reports[name].as_uri())  # type: ignore[attr-defined]
        found = page.evaluate(CHART_CHECK)  # type: ignore[attr-defined]
        assert len(found) == charts, found
        for chart in found:
            assert len(chart["labels"]) == 2 and all(chart["labels"]), chart
            assert chart["xTicks"] >= 2 and chart["yTicks"] >= 2, chart
            assert chart["inside"], f"a tick label of {chart['title']} is cut off"
            assert not chart["sci"], chart
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"report-{name}-{width}.png"), full_page=True)  # type: ignore[attr-defined]
        watch.clean()


def test_eval_report_colours_pass_and_fail(browser: object, reports: dict[str, Path]) -> None:
    page, watch = watched_page(browser, 1280, ("file://",))
    page.goto(reports["eval"].as_uri())  # type: ignore[attr-defined]
    colour = "el => getComputedStyle(el).color"
    passed = page.locator(".pass").first.evaluate(colour)  # type: ignore[attr-defined]
    failed = page.locator(".fail").first.evaluate(colour)  # type: ignore[attr-defined]
    assert passed == "rgb(26, 127, 55)" and failed == "rgb(207, 34, 46)"
    page.check("#disagree")  # type: ignore[attr-defined]
    shown = page.locator("tr.item:visible").count()  # type: ignore[attr-defined]
    assert 0 < shown < 4  # only add-1 has big right and cheap wrong
    watch.clean()


def test_bench_report_draws_failures_as_red_crosses(
    browser: object, reports: dict[str, Path]
) -> None:
    page, watch = watched_page(browser, 1280, ("file://",))
    page.goto(reports["bench"].as_uri())  # type: ignore[attr-defined]
    legend = page.locator("svg.chart >> text=failed (time to failure)")  # type: ignore[attr-defined]
    assert legend.count() == 1
    crosses = page.locator("svg.chart path[stroke='#cf222e']")  # type: ignore[attr-defined]
    assert crosses.count() >= 1
    greens = "svg.chart [fill='#1a7f37'], svg.chart [stroke='#1a7f37'], svg.chart [fill='#009e73']"
    assert page.locator(greens).count() == 0  # green means pass: nothing in a chart is green
    watch.clean()
