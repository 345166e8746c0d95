"""The grid runs on CPU, writes a calibration, and the planner reads it back."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

torch = pytest.importorskip("torch")

from modelyard.catalog import Model, cached_catalog, find_gpu  # noqa: E402
from modelyard.cli import app  # noqa: E402
from modelyard.errors import MeasureError, MissingExtraError  # noqa: E402
from modelyard.measure import (  # noqa: E402
    Grid,
    calibration_dir,
    load_calibration,
    load_calibrations,
    measure,
    parse_grid,
)
from modelyard.plan import get_engine, measured_checks  # noqa: E402

from .conftest import TINY  # noqa: E402

GRID = Grid(batches=(1, 2), contexts=(8, 16), decode_repeats=2, prefill_repeats=1)


def _model(name: str) -> Model:
    return Model.model_validate(
        {
            "id": f"tiny-{name}",
            "name": f"Tiny {name}",
            "family": "tiny",
            "vendor": "test",
            "license": "mit",
            "context_window": 4096,
            "architecture": TINY[name],
            "params_total": {"value": 1e6, "ref": {"source": "test:tiny"}},
        }
    )


@pytest.mark.parametrize("name", ["dense", "moe", "mla", "sliding"])
def test_grid_writes_a_calibration_the_planner_reads(name: str, yard_home: Path) -> None:
    catalog, model = cached_catalog(), _model(name)
    cal, path = measure(model, catalog, GRID, "bf16", "cpu")
    assert path.parent == calibration_dir() and path.parent.is_relative_to(yard_home)
    assert [(p.batch, p.context) for p in cal.decode] == [(1, 8), (2, 8), (1, 16), (2, 16)]
    assert all(p.step_ms and p.step_ms > 0 and p.error is None for p in cal.decode)
    assert [p.tokens for p in cal.prefill] == [8, 16] and all(p.ms for p in cal.prefill)
    assert load_calibrations() == [cal]
    checks = measured_checks(model, find_gpu(catalog, "cpu"), get_engine("vllm"))
    assert len(checks) == 1
    # on CPU the measured weights are the tensors' bytes: the planner's bf16 formula exactly
    assert checks[0].weights_measured_gib == pytest.approx(checks[0].weights_estimated_gib)
    assert [(d.batch, d.context) for d in checks[0].decode] == [(1, 8), (2, 8), (1, 16), (2, 16)]


def test_scaled_model_is_compared_with_its_built_layers() -> None:
    catalog, model = cached_catalog(), _model("mla")
    cal, path = measure(model, catalog, Grid((1,), (8,), 1, 1), "bf16", "cpu", layers=2)
    assert cal.scaled and path.name == "tiny-mla--cpu--bf16--2L.json"
    check = measured_checks(model, find_gpu(catalog, "cpu"), get_engine("vllm"))[0]
    assert check.weights_measured_gib == pytest.approx(check.weights_estimated_gib)


def _yard(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_measure_then_plan_shows_measured() -> None:
    args = ["qwen3-0.6b", "--device", "cpu", "--layers", "1", "-b", "1", "-c", "16"]
    cal = json.loads(_yard("measure", *args, "--repeats", "1", "--json"))
    assert cal["layers"] == 1 and cal["model_layers"] == 28 and cal["gpu_id"] == "cpu"
    measured = json.loads(_yard("plan", "qwen3-0.6b", "--gpu", "cpu", "--json"))["measured"]
    assert measured[0]["layers"] == 1 and measured[0]["decode"][0]["batch"] == 1
    table = _yard("plan", "qwen3-0.6b", "--gpu", "cpu")
    assert "measured vs estimated" in table and "1 of 28 layers" in table


def test_without_torch_the_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # fault: torch is not installed
    with pytest.raises(MissingExtraError, match=r"pip install 'modelyard\[measure\]'"):
        measure(_model("dense"), cached_catalog(), GRID, "bf16", "cpu")


@pytest.mark.parametrize(
    ("batch", "context", "message"),
    [("1,x", "1k", "--batch '1,x'"), ("0", "1k", "at least 1"), ("1", "huge", "token count")],
)
def test_bad_grid_is_a_user_error(batch: str, context: str, message: str) -> None:
    with pytest.raises(Exception, match=message):
        parse_grid(batch, context)


def test_bad_dtype_and_layers_are_user_errors() -> None:
    with pytest.raises(MeasureError, match="--dtype 'int3'"):
        measure(_model("dense"), cached_catalog(), GRID, "int3", "cpu")
    with pytest.raises(MeasureError, match="--layers 9"):
        measure(_model("dense"), cached_catalog(), GRID, "bf16", "cpu", layers=9)


def test_broken_calibration_file_names_file_and_field(yard_home: Path) -> None:
    path = calibration_dir() / "bad.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"model_id": "x", "layers": "many"}))
    with pytest.raises(MeasureError, match=r"bad\.json.*layers"):
        load_calibration(path)
