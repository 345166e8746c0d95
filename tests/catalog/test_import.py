"""`yard models import`: real GGUF headers and real-format config.json files into the catalog."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from gguf import GGUFWriter
from typer.testing import CliRunner

from modelyard.catalog import Model, count_params, find_model, load_catalog
from modelyard.catalog.importers import (
    from_gguf,
    from_hf_config,
    imported_file,
    write_user_entry,
)
from modelyard.cli import app
from modelyard.config import user_catalog_dir
from modelyard.errors import CatalogError

QWEN3_30B_A3B = {
    "architectures": ["Qwen3MoeForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "bos_token_id": 151643,
    "decoder_sparse_step": 1,
    "eos_token_id": 151645,
    "head_dim": 128,
    "hidden_act": "silu",
    "hidden_size": 2048,
    "initializer_range": 0.02,
    "intermediate_size": 6144,
    "max_position_embeddings": 40960,
    "max_window_layers": 48,
    "mlp_only_layers": [],
    "model_type": "qwen3_moe",
    "moe_intermediate_size": 768,
    "norm_topk_prob": True,
    "num_attention_heads": 32,
    "num_experts": 128,
    "num_experts_per_tok": 8,
    "num_hidden_layers": 48,
    "num_key_value_heads": 4,
    "output_router_logits": False,
    "rms_norm_eps": 1e-06,
    "rope_scaling": None,
    "rope_theta": 1000000.0,
    "router_aux_loss_coef": 0.001,
    "sliding_window": None,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.51.0",
    "use_cache": True,
    "use_sliding_window": False,
    "vocab_size": 151936,
}

DEEPSEEK_V3 = {
    "architectures": ["DeepseekV3ForCausalLM"],
    "attention_bias": False,
    "first_k_dense_replace": 3,
    "hidden_act": "silu",
    "hidden_size": 7168,
    "intermediate_size": 18432,
    "kv_lora_rank": 512,
    "max_position_embeddings": 163840,
    "model_type": "deepseek_v3",
    "moe_intermediate_size": 2048,
    "moe_layer_freq": 1,
    "n_group": 8,
    "n_routed_experts": 256,
    "n_shared_experts": 1,
    "norm_topk_prob": True,
    "num_attention_heads": 128,
    "num_experts_per_tok": 8,
    "num_hidden_layers": 61,
    "num_key_value_heads": 128,
    "num_nextn_predict_layers": 1,
    "q_lora_rank": 1536,
    "qk_nope_head_dim": 128,
    "qk_rope_head_dim": 64,
    "quantization_config": {
        "activation_scheme": "dynamic",
        "fmt": "e4m3",
        "quant_method": "fp8",
        "weight_block_size": [128, 128],
    },
    "rms_norm_eps": 1e-06,
    "rope_theta": 10000,
    "routed_scaling_factor": 2.5,
    "scoring_func": "sigmoid",
    "tie_word_embeddings": False,
    "topk_group": 4,
    "topk_method": "noaux_tc",
    "torch_dtype": "bfloat16",
    "v_head_dim": 128,
    "vocab_size": 129280,
}

GEMMA3_27B = {  # multimodal: the text fields live in text_config; the rest are class defaults
    "architectures": ["Gemma3ForConditionalGeneration"],
    "boi_token_index": 255999,
    "eoi_token_index": 256000,
    "eos_token_id": [1, 106],
    "image_token_index": 262144,
    "mm_tokens_per_image": 256,
    "model_type": "gemma3",
    "text_config": {
        "head_dim": 128,
        "hidden_size": 5376,
        "intermediate_size": 21504,
        "model_type": "gemma3_text",
        "num_attention_heads": 32,
        "num_hidden_layers": 62,
        "num_key_value_heads": 16,
        "query_pre_attn_scalar": 168,
        "rope_scaling": {"factor": 8.0, "rope_type": "linear"},
        "sliding_window": 1024,
    },
    "torch_dtype": "bfloat16",
    "vision_config": {"hidden_size": 1152, "model_type": "siglip_vision_model"},
}

GPT_OSS_20B = {
    "architectures": ["GptOssForCausalLM"],
    "attention_bias": True,
    "experts_per_token": 4,
    "head_dim": 64,
    "hidden_size": 2880,
    "initial_context_length": 4096,
    "intermediate_size": 2880,
    "layer_types": ["sliding_attention", "full_attention"] * 12,
    "max_position_embeddings": 131072,
    "model_type": "gpt_oss",
    "num_attention_heads": 64,
    "num_experts_per_tok": 4,
    "num_hidden_layers": 24,
    "num_key_value_heads": 8,
    "num_local_experts": 32,
    "quantization_config": {"modules_to_not_convert": ["model.layers.*.self_attn"],
                            "quant_method": "mxfp4"},
    "rope_theta": 150000,
    "sliding_window": 128,
    "tie_word_embeddings": False,
    "vocab_size": 201088,
}  # fmt: skip


def arch_of(model: Model) -> dict[str, Any]:
    assert model.architecture is not None
    # long_context is the model card's advice, not a config.json field
    return model.architecture.model_dump(exclude={"ref", "long_context"}, exclude_defaults=True)


def write_config(folder: Path, config: dict[str, Any]) -> Path:
    folder.mkdir(parents=True)
    path = folder / "config.json"
    path.write_text(json.dumps(config))
    return path


# ---------------------------------------------------------------- the real SmolLM2 GGUF


@pytest.fixture(scope="module")
def smollm2(smollm2_gguf: Path) -> Model:
    return from_gguf(smollm2_gguf)


def test_real_smollm2_gguf_yields_its_architecture(smollm2: Model) -> None:
    assert arch_of(smollm2) == {
        "model_type": "llama",
        "num_hidden_layers": 30,
        "hidden_size": 576,
        "num_attention_heads": 9,
        "num_key_value_heads": 3,
        "head_dim": 64,
        "intermediate_size": 1536,
        "vocab_size": 49152,
        "tie_word_embeddings": True,
        "max_position_embeddings": 8192,
    }
    assert smollm2.context_window == 8192
    assert smollm2.license == "apache-2.0"
    assert smollm2.languages == ["en"]


def test_gguf_parameter_count_and_quantization(smollm2: Model) -> None:
    assert smollm2.params_total is not None and smollm2.architecture is not None
    assert smollm2.params_total.value == 134_515_008  # elements of the file's 272 tensors
    assert count_params(smollm2.architecture).total == smollm2.params_total.value
    assert [q.format for q in smollm2.quantized] == ["gguf-q4_1"]
    assert "272 tensors" in (smollm2.notes or "") and "Q4_1" in (smollm2.notes or "")


def test_imported_gguf_is_listed_shown_and_sourced(smollm2_gguf: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(
        app, ["models", "import", str(smollm2_gguf), "--id", "my-smollm", "--json"]
    )
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["param_check"]["computed_total"] == 134_515_008
    listed = runner.invoke(app, ["models", "list", "--family", "imported", "--json"])
    assert [row["id"] for row in json.loads(listed.stdout)] == ["my-smollm"]
    shown = runner.invoke(app, ["models", "show", "my-smollm"], env={"COLUMNS": "250"})
    assert shown.exit_code == 0, shown.output
    assert str(smollm2_gguf) in shown.stdout and "576" in shown.stdout
    data = yaml.safe_load(imported_file().read_text())
    assert data["family"] == "imported"
    [source] = data["sources"]
    assert source["kind"] == "config" and source["title"] == str(smollm2_gguf.resolve())
    assert source["date"] == dt.date.today().isoformat()
    planned = runner.invoke(app, ["plan", "my-smollm", "--gpu", "rtx-4090", "--json"])
    assert planned.exit_code == 0, planned.output
    assert json.loads(planned.stdout)


# ---------------------------------------------------------------- Hugging Face config.json


def test_qwen3_moe_config_maps_every_field(tmp_path: Path) -> None:
    model = from_hf_config(write_config(tmp_path / "Qwen3-30B-A3B", QWEN3_30B_A3B))
    assert model.id == "qwen3-30b-a3b"
    assert arch_of(model) == {
        "model_type": "qwen3_moe",
        "num_hidden_layers": 48,
        "hidden_size": 2048,
        "num_attention_heads": 32,
        "num_key_value_heads": 4,
        "head_dim": 128,
        "intermediate_size": 6144,
        "vocab_size": 151936,
        "max_position_embeddings": 40960,
        "rope_theta": 1000000.0,
        "qk_norm": True,
        "moe": {"n_routed_experts": 128, "num_experts_per_tok": 8, "moe_intermediate_size": 768},
    }
    assert model.params_total is not None and model.params_active is not None
    assert model.params_total.value == pytest.approx(30.5e9, rel=0.02)  # Qwen's published 30.5B
    assert model.params_active.value == pytest.approx(3.3e9, rel=0.02)  # and 3.3B active
    assert "count_params" in (model.params_total.ref.note or "")


def test_deepseek_v3_config_maps_mla_and_moe() -> None:
    model = from_hf_config(DEEPSEEK_V3, id="DeepSeek-V3 local")
    assert model.id == "deepseek-v3-local"
    arch = arch_of(model)
    assert arch["head_dim"] == 192  # qk_nope + qk_rope
    assert arch["moe"] == {
        "n_routed_experts": 256,
        "num_experts_per_tok": 8,
        "moe_intermediate_size": 2048,
        "n_shared_experts": 1,
        "first_k_dense_replace": 3,
    }
    assert arch["mla"] == {
        "kv_lora_rank": 512,
        "q_lora_rank": 1536,
        "qk_rope_head_dim": 64,
        "qk_nope_head_dim": 128,
        "v_head_dim": 128,
    }
    assert [q.format for q in model.quantized] == ["fp8"]
    assert model.params_total is not None and model.params_active is not None
    assert model.params_total.value == pytest.approx(671e9, rel=0.02)
    assert model.params_active.value == pytest.approx(37e9, rel=0.02)


def test_multimodal_text_config_and_sliding_pattern() -> None:
    model = from_hf_config(GEMMA3_27B, id="gemma-3-27b-local")
    assert arch_of(model) == {
        "model_type": "gemma3_text",
        "num_hidden_layers": 62,
        "hidden_size": 5376,
        "num_attention_heads": 32,
        "num_key_value_heads": 16,
        "head_dim": 128,
        "intermediate_size": 21504,
        "vocab_size": 262208,
        "tie_word_embeddings": True,
        "max_position_embeddings": 131072,
        "qk_norm": True,
        "norms_per_layer": 4,
        "sliding_window": 1024,
        "local_attention": "sliding",
        "layer_pattern": "LLLLLG",
    }
    assert "vision" in (model.notes or "")


def test_layer_types_and_expert_biases() -> None:
    arch = arch_of(from_hf_config(GPT_OSS_20B, id="gpt-oss-20b-local"))
    assert arch["layer_pattern"] == "LG" and arch["sliding_window"] == 128
    assert arch["attention_bias"] is True
    assert arch["moe"] == {
        "n_routed_experts": 32,
        "num_experts_per_tok": 4,
        "moe_intermediate_size": 2880,
        "expert_bias": True,
        "router_bias": True,
    }


def test_imported_configs_agree_with_the_shipped_catalog() -> None:
    shipped = load_catalog().models
    for config, catalog_id in ((QWEN3_30B_A3B, "qwen3-30b-a3b"), (DEEPSEEK_V3, "deepseek-v3")):
        if catalog_id in shipped:
            assert arch_of(from_hf_config(config, id="x")) == arch_of(shipped[catalog_id])


def test_written_configs_load_merge_by_id_and_get_a_license() -> None:
    write_user_entry(from_hf_config(QWEN3_30B_A3B, id="qwen-local"), "/models/qwen/config.json")
    write_user_entry(from_hf_config(DEEPSEEK_V3, id="ds-local", license="mit"))
    changed = from_hf_config({**QWEN3_30B_A3B, "num_hidden_layers": 24}, id="qwen-local")
    write_user_entry(changed)
    catalog = load_catalog(user_catalog_dir())
    qwen = find_model(catalog, "qwen-local")
    assert qwen.architecture is not None and qwen.architecture.num_hidden_layers == 24
    assert qwen.family == "imported" and qwen.license == "unknown"
    assert catalog.licenses["unknown"].commercial_use is False
    assert find_model(catalog, "ds-local").license == "mit"
    data = yaml.safe_load(imported_file().read_text())
    assert sorted(m["id"] for m in data["models"]) == ["ds-local", "qwen-local"]
    assert sorted(s["id"] for s in data["sources"]) == ["import:ds-local", "import:qwen-local"]


def test_unknown_stated_license_is_kept_in_the_notes() -> None:
    write_user_entry(from_hf_config(QWEN3_30B_A3B, id="q", license="acme-eula"))
    [entry] = yaml.safe_load(imported_file().read_text())["models"]
    assert entry["license"] == "unknown" and "'acme-eula'" in entry["notes"]


# ---------------------------------------------------------------- malformed input


def test_missing_field_names_file_and_field(tmp_path: Path) -> None:
    config = {k: v for k, v in QWEN3_30B_A3B.items() if k != "num_hidden_layers"}
    path = write_config(tmp_path / "broken", config)
    with pytest.raises(CatalogError, match=rf"{path}: num_hidden_layers: missing"):
        from_hf_config(path)


def test_mistyped_field_names_file_and_value(tmp_path: Path) -> None:
    path = write_config(tmp_path / "typo", {**QWEN3_30B_A3B, "hidden_size": "2048"})
    with pytest.raises(
        CatalogError, match=rf"{path}: hidden_size: expected an integer, got '2048'"
    ):
        from_hf_config(path)


def test_not_json_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("{not json")
    with pytest.raises(CatalogError, match=rf"{path}: not a JSON config.json"):
        from_hf_config(path)


def test_truncated_gguf_names_the_file(smollm2_gguf: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(smollm2_gguf.read_bytes()[:2000])
    with pytest.raises(CatalogError, match=rf"{cut}: not a readable GGUF file"):
        from_gguf(cut)


def write_gguf(path: Path, arch: str, keys: dict[str, Any], tensors: list[str]) -> Path:
    writer = GGUFWriter(str(path), arch)
    for key, value in keys.items():
        writer.add_uint32(f"{arch}.{key}", value)
    for name in tensors:
        writer.add_tensor(name, np.zeros(4, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_gguf_missing_key_names_file_and_key(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "headless.gguf", "llama", {"embedding_length": 64}, ["x.weight"])
    with pytest.raises(CatalogError, match=rf"{path}: llama.attention.head_count: missing"):
        from_gguf(path)


def test_gguf_moe_and_mla_header(tmp_path: Path) -> None:
    keys = {
        "block_count": 61,
        "context_length": 163840,
        "embedding_length": 7168,
        "feed_forward_length": 18432,
        "attention.head_count": 128,
        "attention.head_count_kv": 128,
        "attention.q_lora_rank": 1536,
        "attention.kv_lora_rank": 512,
        "attention.key_length": 192,
        "attention.value_length": 128,
        "rope.dimension_count": 64,
        "leading_dense_block_count": 3,
        "expert_feed_forward_length": 2048,
        "expert_count": 256,
        "expert_shared_count": 1,
        "expert_used_count": 8,
        "vocab_size": 129280,
    }
    tensors = [
        "token_embd.weight",
        "output.weight",
        "blk.0.attn_norm.weight",
        "blk.0.ffn_norm.weight",
        "blk.0.attn_kv_a_norm.weight",
        "blk.0.attn_q_a_norm.weight",
        "blk.0.ffn_gate.weight",
        "blk.3.ffn_gate_exps.weight",
        "blk.3.ffn_gate_inp.weight",
    ]
    model = from_gguf(write_gguf(tmp_path / "ds.gguf", "deepseek2", keys, tensors), license="mit")
    arch = arch_of(model)
    assert arch["head_dim"] == 192 and arch["vocab_size"] == 129280
    assert arch["mla"] == arch_of(from_hf_config(DEEPSEEK_V3, id="x"))["mla"]
    assert arch["moe"] == arch_of(from_hf_config(DEEPSEEK_V3, id="x"))["moe"]
    assert model.license == "mit" and model.params_active is not None
