"""`yard measure --train` on CPU: the transformers + PEFT build, the grid, the calibration file
and the planner reading it; and the activation coefficients finetune.yaml takes from autograd."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("peft")

from modelyard.catalog import Model, Param, Ref, find_gpu  # noqa: E402
from modelyard.catalog.loader import load_catalog  # noqa: E402
from modelyard.catalog.lora import lora_params, parse_targets  # noqa: E402
from modelyard.catalog.params import count_params  # noqa: E402
from modelyard.catalog.schema import Architecture  # noqa: E402
from modelyard.cli import app  # noqa: E402
from modelyard.errors import MeasureError  # noqa: E402
from modelyard.measure.hf_config import BUILDERS, hf_config  # noqa: E402
from modelyard.measure.train import (  # noqa: E402
    TrainGrid,
    TrainSetup,
    build_trainable,
    measure_training,
    parse_train_grid,
)
from modelyard.plan.cluster import Cluster  # noqa: E402
from modelyard.plan.finetune import FinetuneSpec, layer_activation_bytes  # noqa: E402
from modelyard.plan.finetune_plan import measured_training  # noqa: E402
from modelyard.plan.train_calibration import (  # noqa: E402
    load_train_calibration,
    save_train_calibration,
)

CATALOG = load_catalog()
REF = Ref(source="test:tiny")


def _tiny(**changes: object) -> Model:
    fields = {
        "ref": REF,
        "model_type": "llama",
        "num_hidden_layers": 2,
        "hidden_size": 128,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 32,
        "intermediate_size": 256,
        "vocab_size": 256,
        "max_position_embeddings": 1024,
        **changes,
    }
    arch = Architecture(**fields)  # type: ignore[arg-type]
    return Model(
        id="tiny-llama",
        name="tiny",
        family="test",
        vendor="test",
        license="apache-2.0",
        context_window=1024,
        architecture=arch,
        params_total=Param(value=count_params(arch).total, ref=REF),
    )


def test_hf_configs_rebuild_every_mapped_catalog_model() -> None:
    checked = 0
    for model in CATALOG.models.values():
        arch = model.architecture
        if arch is None or arch.model_type not in BUILDERS:
            continue
        with torch.device("meta"):
            built = transformers.AutoModelForCausalLM.from_config(hf_config(arch))
        assert sum(p.numel() for p in built.parameters()) == count_params(arch).decoder, model.id
        checked += 1
    assert checked >= 25


def test_unmapped_model_type_is_named() -> None:
    arch = _tiny(model_type="gemma3_text").architecture
    assert arch is not None
    with pytest.raises(MeasureError, match=r"'gemma3_text' is not mapped.*llama"):
        hf_config(arch)


def _saved_bytes_per_token_layer(model: Model, method: str) -> float:
    """Bytes autograd saves per token per layer: 4 layers minus 2, bf16 autocast, as trained."""
    sizes = []
    for layers in (2, 4):
        arch = model.architecture.model_copy(update={"num_hidden_layers": layers})  # type: ignore[union-attr]
        built = build_trainable(model.model_copy(update={"architecture": arch}),
                                TrainSetup(method, rank=8), "cpu", None)  # fmt: skip
        params = {p.data_ptr() for p in built.parameters()}
        seen: dict[int, int] = {}

        def pack(t: Any, params: set[int] = params, seen: dict[int, int] = seen) -> Any:
            storage = t.untyped_storage()
            if t.data_ptr() not in params:
                seen.setdefault(storage.data_ptr(), storage.nbytes())
            return t

        tokens = torch.randint(256, (2, 64))
        with (
            torch.autocast("cpu", dtype=torch.bfloat16),
            torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t),
        ):
            built(input_ids=tokens, labels=tokens)
        sizes.append(sum(seen.values()))
    return (sizes[1] - sizes[0]) / 2 / 128


@pytest.mark.parametrize("method", ["full", "lora"])
def test_activation_coefficients_match_autograd(method: str) -> None:
    model = _tiny(hidden_size=192, intermediate_size=512, num_attention_heads=6, head_dim=32)
    arch = model.architecture
    assert arch is not None
    measured = _saved_bytes_per_token_layer(model, method)
    spec = FinetuneSpec(method, rank=8, targets=parse_targets("all-linear"))  # type: ignore[arg-type]
    planned = layer_activation_bytes(arch, spec)
    assert planned == pytest.approx(measured, rel=0.10)


GRID = TrainGrid(
    seq_lens=(32,), micro_batches=(1,), checkpointing=(True, False), warmup=1, repeats=1
)


@pytest.mark.parametrize("method", ["lora", "full"])
def test_measure_training_writes_a_calibration(method: str, tmp_path: Path) -> None:
    model = _tiny()
    setup = TrainSetup(method, rank=4, targets="q,v")
    cal, path = measure_training(model, CATALOG, setup, GRID, "cpu", out=tmp_path / "c.json")
    assert [p.grad_ckpt for p in cal.points] == [True, False]
    assert all(p.step_ms and p.tokens_per_s and p.peak_allocated_gib for p in cal.points)
    arch = model.architecture
    assert arch is not None
    expected = lora_params(arch, ("q", "v"), 4) if method == "lora" else count_params(arch).decoder
    assert cal.trainable == expected
    assert load_train_calibration(path) == cal


def test_qlora_needs_cuda_and_bad_settings_are_refused() -> None:
    model = _tiny()
    with pytest.raises(MeasureError, match="needs a CUDA GPU"):
        measure_training(model, CATALOG, TrainSetup("qlora"), GRID, "cpu")
    with pytest.raises(MeasureError, match="--train 'dora'"):
        measure_training(model, CATALOG, TrainSetup("dora"), GRID, "cpu")
    with pytest.raises(MeasureError, match="--grad-ckpt"):
        parse_train_grid("512", "1", "maybe")
    with pytest.raises(MeasureError, match="--micro-batch"):
        parse_train_grid("512", "one", "on")
    assert parse_train_grid("512,2k", "1,4", "on,off", 2).seq_lens == (512, 2048)


def test_broken_calibration_names_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "x.train.json"
    bad.write_text(json.dumps({"model_id": "x"}))
    with pytest.raises(MeasureError, match=r"x\.train\.json"):
        load_train_calibration(bad)
    bad.write_text("{not json")
    with pytest.raises(MeasureError, match="cannot read calibration"):
        load_train_calibration(bad)


def test_planner_shows_measured_beside_estimate(tmp_path: Path) -> None:
    # a real CPU run, filed under the H100's id only to exercise the planner's reading path
    model = _tiny()
    cal, _ = measure_training(model, CATALOG, TrainSetup("lora", 4, "q,v"), GRID, "cpu",
                              out=tmp_path / "cpu.json")  # fmt: skip
    save_train_calibration(cal.model_copy(update={"gpu_id": "h100-sxm"}), tmp_path / "h.train.json")
    spec = FinetuneSpec("lora", rank=4, targets=("q", "v"))
    found = measured_training(model, spec, Cluster(find_gpu(CATALOG, "h100-sxm")), tmp_path)
    assert len(found) == 1 and len(found[0].points) == 2
    check = found[0].points[0]
    assert check.memory_error == pytest.approx(check.estimated_gib / check.measured_gib - 1)


def test_cli_measure_train_json(tmp_path: Path) -> None:
    out = tmp_path / "smol.json"
    args = ["measure", "smollm2-135m-instruct", "--train", "lora", "--device", "cpu"]
    args += ["--layers", "1", "--seq-len", "16", "--micro-batch", "1", "--grad-ckpt", "on"]
    args += ["--repeats", "1", "--rank", "2", "--out", str(out), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["method"] == "lora" and data["layers"] == 1 and out.exists()
