"""`yard plan` through Typer's CliRunner: JSON and tables, the user's eval report as the quality
basis, traffic from the gateway's ledger, CPU-only hosts, and inputs that must be refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from modelyard.cli import app
from modelyard.errors import YardError
from modelyard.eval.schema import Estimate, ModelSummary, RunReport, RunSpec, Target
from modelyard.plan import cpu
from modelyard.serve.ledger import Ledger, new_entry

runner = CliRunner()


def run(*args: str) -> str:
    result = runner.invoke(app, ["plan", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def run_json(*args: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(run(*args, "--json"))
    return data


def refused(*args: str) -> str:
    result = runner.invoke(app, ["plan", *args])
    assert isinstance(result.exception, YardError), result.output
    return str(result.exception)


def test_breakdown_json() -> None:
    data = run_json("llama-3.3-70b-instruct", "--gpu", "2xA100-80G", "--context", "32k")
    assert data["memory"]["tensor_parallel"] == 2
    assert data["memory"]["engine"] == "vllm@0.19"
    assert {r["engine"] for r in data["recipes"]} >= {"vllm", "sglang", "tgi", "compose"}
    assert data["cost"]["breakeven"] and data["cost"]["comparator"]
    assert data["checkpoint"].startswith(data["memory"]["quant"])


def test_breakdown_table_shows_basis_and_recipes() -> None:
    out = run("qwen3-8b", "--gpu", "1xH100", "--context", "16k")
    for part in ("memory basis", "speed basis", "cost basis", "vllm serve", "formats on"):
        assert part in out, part
    assert "vLLM 0.19" in out


def test_old_engine_profile_by_version() -> None:
    new = run_json("llama-3.1-8b-instruct", "--gpu", "a100-80g-sxm")
    old = run_json("llama-3.1-8b-instruct", "--gpu", "a100-80g-sxm", "--engine", "vllm@0.16")
    assert old["engine"] == "vllm@0.16" and new["engine"] == "vllm@0.19"
    assert old["decode_single"]["step_ms"] > new["decode_single"]["step_ms"] + 3


def test_gpt_oss_120b_plans_one_h100_natively() -> None:
    data = run_json("gpt-oss-120b", "--gpu", "h100")
    assert data["memory"]["quant"] == "mxfp4" and data["memory"]["gpus"] == 1
    vllm = next(r for r in data["recipes"] if r["engine"] == "vllm")
    assert vllm["argv"][0] == "openai/gpt-oss-120b"
    assert "--reasoning-parser" in vllm["argv"]


def test_long_context_plan_prints_the_rope_override() -> None:
    data = run_json("qwen3-8b", "--gpu", "h100", "--context", "128k")
    vllm = next(r for r in data["recipes"] if r["engine"] == "vllm")
    assert "--hf-overrides" in vllm["argv"]
    out = run("qwen3-8b", "--gpu", "h100", "--context", "128k")
    assert vllm["text"] in out  # printed exactly, nothing eaten as markup


def test_ranking_excludes_with_reasons_and_names_its_basis() -> None:
    data = run_json(
        "--gpu", "1xH100", "--workload", "chat", "--tokens-per-day", "20M",
        "--license", "commercial", "--languages", "fr,de",
    )  # fmt: skip
    assert data["ranked"] and data["basis"] == "mmlu_pro (published)"
    reasons = {e["model_id"]: " ".join(e["reasons"]) for e in data["excluded"]}
    assert any("language" in r for r in reasons.values())
    out = run("--gpu", "1xH100", "--workload", "code")
    assert "quality: livecodebench (published)" in " ".join(out.split())


def _report(tmp_path: Path, means: dict[str, float]) -> Path:
    report = RunReport(
        spec=RunSpec(
            suite="support-tickets",
            suite_source="suite.yaml",
            targets=[Target(model=m, base_url="http://x/v1") for m in means],
        ),
        results=[
            ModelSummary(model=m, quality=Estimate(mean=v, low=v - 0.05, high=v + 0.05, n=20))
            for m, v in means.items()
        ],
    )
    path = tmp_path / "run" / "report.json"
    path.parent.mkdir()
    path.write_text(report.model_dump_json(), encoding="utf-8")
    return path


def test_quality_from_your_eval_report(tmp_path: Path) -> None:
    path = _report(tmp_path, {"qwen3-0.6b": 0.9, "vllm:llama-3.1-8b-instruct": 0.6})
    data = run_json("--gpu", "h100", "--quality", str(path.parent))
    assert data["basis"] == "your eval: support-tickets"
    assert [r["model_id"] for r in data["ranked"][:2]] == ["qwen3-0.6b", "llama-3.1-8b-instruct"]
    assert data["ranked"][0]["rank"] == 1 and data["ranked"][2]["rank"] is None
    out = run("--gpu", "h100", "--quality", str(path))
    assert "your eval: support-tickets" in " ".join(out.split())


def test_a_quality_file_that_is_not_a_report_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "report.json"
    junk.write_text("{}", encoding="utf-8")
    assert "not a `yard eval` report" in refused("--gpu", "h100", "--quality", str(junk))
    assert "cannot read" in refused("--gpu", "h100", "--quality", str(tmp_path / "none.json"))
    nothing = _report(tmp_path, {"my-private-model": 0.9})
    assert "none of its targets" in refused("--gpu", "h100", "--quality", str(nothing))


def _ledger(home: Path) -> None:
    """Three busy hours on one day: 2, 7 and 1 requests of 900 in / 100 out tokens."""
    ledger = Ledger.open(None, home)
    for hour, count in (("10", 2), ("12", 7), ("13", 1)):
        for i in range(count):
            ledger.record(
                new_entry(
                    datetime_utc=f"2026-03-01T{hour}:{i:02d}:00.000+00:00",
                    served_model="qwen3-8b",
                    prompt_tokens=900,
                    completion_tokens=100,
                )
            )
    ledger.close()


def test_traffic_from_the_ledger(yard_home: Path) -> None:
    _ledger(yard_home)
    data = run_json("qwen3-8b", "--gpu", "h100", "--from-ledger")
    cost = data["cost"]
    assert cost["peak_rps"] == pytest.approx(7 / 3600)
    assert "busiest hour of 4 h in the ledger" in cost["peak_basis"]
    ranking = run_json("--gpu", "h100", "--from-ledger", "--since", "2026-03-01T12:00")
    assert ranking["ranked"]


def test_an_empty_ledger_says_where_it_looked(yard_home: Path) -> None:
    _ledger(yard_home)
    message = refused("qwen3-8b", "--gpu", "h100", "--from-ledger", "--since", "2030-01-01")
    assert "no requests in" in message and "since 2030-01-01" in message


def test_peak_rps_sizes_replicas() -> None:
    quiet = run_json("qwen3-8b", "--gpu", "h100", "--peak-rps", "0.1")
    busy = run_json("qwen3-8b", "--gpu", "h100", "--peak-rps", "200")
    assert busy["cost"]["replicas"] > quiet["cost"]["replicas"] == 1
    assert busy["cost"]["peak_basis"] == "your --peak-rps"


def test_compare_api_and_low_confidence() -> None:
    data = run_json("qwen3-8b", "--gpu", "h100", "--compare-api", "openai/gpt-4o")
    assert data["cost"]["comparator"] == "openai/gpt-4o"
    loose = run_json("qwen3-8b", "--gpu", "h100", "--low-confidence")
    strict = run_json("qwen3-8b", "--gpu", "h100")
    assert len(loose["cost"]["breakeven"]) > len(strict["cost"]["breakeven"])
    table = run("qwen3-8b", "--gpu", "h100", "--low-confidence")
    assert " !" in table and "!: a low-confidence price" in table
    assert "!: a low-confidence price" not in run("qwen3-8b", "--gpu", "h100")


CPUINFO = "\n".join(
    f"processor\t: {i}\nmodel name\t: AMD EPYC 9654\nphysical id\t: 0\ncore id\t: {i}\n"
    "flags\t: avx2 avx512f\n"
    for i in range(24)
)


@pytest.fixture
def cpu_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "cpuinfo"
    path.write_text(CPUINFO, encoding="utf-8")
    monkeypatch.setattr(cpu, "CPUINFO", path)


@pytest.mark.usefixtures("cpu_machine")
def test_cpu_host_defaults_to_llamacpp_with_its_cores_and_isa() -> None:
    data = run_json("qwen3-8b", "--gpu", "cpu", "--ram-bandwidth", "460")
    assert data["engine"] == "llamacpp@b6400"
    assert data["cluster"] == "AMD EPYC 9654, 24 cores, AVX512, 460 GB/s RAM"
    assert data["memory"]["device"] == "RAM"
    assert "your --ram-bandwidth" in " ".join(data["decode_single"]["basis"])
    llama = next(r for r in data["recipes"] if r["engine"] == "llamacpp")
    assert llama["argv"][llama["argv"].index("-t") + 1] == "24"
    fewer = run_json("qwen3-8b", "--gpu", "cpu", "--cores", "8")
    assert fewer["cluster"].startswith("AMD EPYC 9654, 8 cores")
    assert "measure yours" in " ".join(fewer["decode_single"]["basis"])


@pytest.mark.usefixtures("cpu_machine")
def test_cpu_tables_speak_of_ram() -> None:
    out = run("qwen3-8b", "--gpu", "cpu")
    assert "memory (RAM)" in out and "formats on the same host" in out
    assert "CUDA context" not in out and "layers on GPU" not in out


@pytest.mark.usefixtures("cpu_machine")
def test_cpu_ranking() -> None:
    data = run_json("--gpu", "cpu")
    assert data["engine"] == "llamacpp@b6400" and data["ranked"]
    assert all(r["quant"].startswith(("gguf-", "mxfp4")) for r in data["ranked"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["qwen3-8b", "--gpu", "H1000"], "did you mean"),
        (["qwen3-8b", "--gpu", "0xh100"], "at least 1"),
        (["qwen3-8b", "--gpu", "h100", "--quant", "q9"], "q9"),
        (["qwen3-8b", "--gpu", "h100", "--engine", "exllama"], "unknown engine"),
        (["qwen3-8b", "--gpu", "h100", "--engine", "vllm@next"], "write numbers"),
        (["qwen3-8b", "--gpu", "h100", "--hybrid", "50/50"], "--hybrid"),
        (["qwen3-8b", "--gpu", "h100", "--gpu-util", "1.5"], "--gpu-util"),
        (["qwen3-8b", "--gpu", "2xh100", "--pp", "3"], "--pp 3"),
        (["qwen3-8b", "--gpu", "h100", "--context", "0"], "must be positive"),
        (["qwen3-8b", "--gpu", "h100", "--batch", "0"], "at least 1"),
        (["qwen3-8b", "--gpu", "h100", "--kv-dtype", "q4_0"], "KV cache"),
        (["qwen3-8b", "--gpu", "h100", "--tokens-per-day", "lots"], "amount"),
        (["qwen3-8b", "--gpu", "h100", "--peak-rps", "-2"], "--peak-rps"),
        (["qwen3-8b", "--gpu", "h100", "--utilization", "0"], "utilization"),
        (["qwen3-8b", "--gpu", "h100", "--workload", "banking"], "unknown workload"),
        (["qwen3-8b", "--gpu", "h100", "--compare-api", "acme/none"], "--compare-api"),
        (["qwen3-8b", "--gpu", "cpu", "--engine", "vllm"], "needs a GPU"),
        (["qwen3-8b", "--gpu", "cpu", "--cores", "0"], "--cores"),
        (["--gpu", "h100", "--license", "gpl"], "--license"),
        (["qwen3-8b", "--gpu", "cpu", "--ram-bandwidth", "-5"], "--ram-bandwidth"),
        (["qwen3-8b", "--gpu", "h100", "--context", "1M"], "RoPE scaling"),
        (["nonesuch-model", "--gpu", "h100"], "nonesuch"),
    ],
)
def test_bad_inputs_are_user_errors(args: list[str], message: str) -> None:
    assert message in refused(*args)


def test_hostile_text_is_printed_not_interpreted(tmp_path: Path) -> None:
    path = _report(tmp_path, {"qwen3-0.6b": 0.9})
    data = json.loads(path.read_text(encoding="utf-8"))
    data["spec"]["suite"] = "[bold red]pwn[/] $(rm -rf /)"
    path.write_text(json.dumps(data), encoding="utf-8")
    out = run("--gpu", "h100", "--quality", str(path))
    assert "[bold red]pwn[/] $(rm -rf /)" in " ".join(out.split())
