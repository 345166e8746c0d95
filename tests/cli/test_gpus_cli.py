"""`yard gpus` as a user runs it: tables, JSON with stable fields, helpful errors.

Each invocation loads the catalog afresh (every test has its own YARD_HOME), so checks that
share one invocation share one test.
"""

from __future__ import annotations

import json
import os

import pytest
from typer.testing import CliRunner

from modelyard.catalog import GPU
from modelyard.cli import app
from modelyard.errors import CatalogError

runner = CliRunner()


def run(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_list_json_filters_by_vendor_with_schema_fields() -> None:
    rows = json.loads(run("gpus", "list", "--vendor", "nvidia", "--json"))
    assert set(rows[0]) == set(GPU.model_fields)
    assert {r["vendor"] for r in rows} == {"nvidia"}
    assert {"h100-sxm", "h100-pcie", "rtx-4090", "l4"} <= {r["id"] for r in rows}


def test_list_table_shows_cheapest_price() -> None:
    out = run("gpus", "list")
    assert "h100-pcie" in out and "1.99 (RunPod spot)" in out
    assert "apple-m3-max-128g" in out and "cpu" in out


def test_show_resolves_nvidia_smi_names_and_cites_sources() -> None:
    out = run("gpus", "show", "NVIDIA H100 80GB HBM3")
    assert "h100-sxm" in out and "3350" in out
    assert "nvidia.com/en-us/data-center/h100" in out


def test_show_json() -> None:
    data = json.loads(run("gpus", "show", "NVIDIA H100 PCIe", "--json"))
    assert (data["gpu"]["id"], data["gpu"]["bandwidth_gbps"]) == ("h100-pcie", 2000)
    assert "spec:nvidia-h100" in {s["id"] for s in data["sources"]}


def test_unknown_gpu_suggests() -> None:
    with pytest.raises(CatalogError, match="did you mean h100-sxm"):
        runner.invoke(app, ["gpus", "show", "h100-sxn"], catch_exceptions=False)


def test_detect_json() -> None:
    data = json.loads(run("gpus", "detect", "--json"))
    assert set(data) == {"gpus", "cpu_count", "memory", "gpu_probe"}
    assert data["cpu_count"] == os.cpu_count()
    assert data["gpu_probe"]
