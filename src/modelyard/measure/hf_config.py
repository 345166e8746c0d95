"""A Hugging Face transformers config built from a catalog Architecture, for training runs.

`yard measure --train` trains the model as users do (transformers + PEFT, the stack TRL,
Axolotl and LLaMA-Factory run), with random weights. The catalog names its fields as
config.json does; this module maps them onto each model type's config class. A test builds
every supported catalog model on the meta device and checks its parameter count.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from modelyard.catalog.schema import Architecture
from modelyard.errors import MeasureError


def _common(arch: Architecture) -> dict[str, Any]:
    return {
        "num_hidden_layers": arch.num_hidden_layers,
        "hidden_size": arch.hidden_size,
        "num_attention_heads": arch.num_attention_heads,
        "num_key_value_heads": arch.num_key_value_heads,
        "head_dim": arch.head_dim,
        "intermediate_size": arch.intermediate_size,
        "vocab_size": arch.vocab_size,
        "tie_word_embeddings": arch.tie_word_embeddings,
        "max_position_embeddings": arch.max_position_embeddings,
    }


def _llama(arch: Architecture) -> dict[str, Any]:
    return {**_common(arch), "attention_bias": arch.attention_bias}


def _plain(arch: Architecture) -> dict[str, Any]:
    return _common(arch)


def _qwen3_moe(arch: Architecture) -> dict[str, Any]:
    moe = arch.moe
    assert moe is not None
    return {
        **_common(arch),
        "num_experts": moe.n_routed_experts,
        "num_experts_per_tok": moe.num_experts_per_tok,
        "moe_intermediate_size": moe.moe_intermediate_size,
        "decoder_sparse_step": moe.moe_layer_interval,
        "mlp_only_layers": list(range(moe.first_k_dense_replace)),
    }


def _mixtral(arch: Architecture) -> dict[str, Any]:
    moe = arch.moe
    assert moe is not None
    fields = _common(arch)
    fields["intermediate_size"] = moe.moe_intermediate_size
    return {
        **fields,
        "num_local_experts": moe.n_routed_experts,
        "num_experts_per_tok": moe.num_experts_per_tok,
    }


def _deepseek_v3(arch: Architecture) -> dict[str, Any]:
    moe, mla = arch.moe, arch.mla
    assert moe is not None and mla is not None
    fields = _common(arch)
    fields.pop("head_dim")
    return {
        **fields,
        "n_routed_experts": moe.n_routed_experts,
        "n_shared_experts": moe.n_shared_experts,
        "num_experts_per_tok": moe.num_experts_per_tok,
        "moe_intermediate_size": moe.moe_intermediate_size,
        "first_k_dense_replace": moe.first_k_dense_replace,
        "n_group": 1,
        "topk_group": 1,
        "q_lora_rank": mla.q_lora_rank,
        "kv_lora_rank": mla.kv_lora_rank,
        "qk_rope_head_dim": mla.qk_rope_head_dim,
        "qk_nope_head_dim": mla.qk_nope_head_dim,
        "v_head_dim": mla.v_head_dim,
    }


BUILDERS: dict[str, tuple[str, Callable[[Architecture], dict[str, Any]]]] = {
    "llama": ("llama", _llama),
    "mistral": ("mistral", _plain),
    "qwen2": ("qwen2", _plain),
    "qwen3": ("qwen3", _plain),
    "qwen3_moe": ("qwen3_moe", _qwen3_moe),
    "mixtral": ("mixtral", _mixtral),
    "deepseek_v3": ("deepseek_v3", _deepseek_v3),
}
"""Catalog model_type -> (transformers model_type, config fields)."""


def hf_config(arch: Architecture) -> Any:
    """The transformers config of ``arch`` (needs transformers installed).

    Raises:
        MeasureError: the model type has no mapping (the message lists those that do).
    """
    if arch.model_type not in BUILDERS:
        raise MeasureError(
            f"yard measure --train: model type {arch.model_type!r} is not mapped to a "
            f"transformers config; supported: {', '.join(sorted(BUILDERS))}"
        )
    from transformers import AutoConfig

    name, fields = BUILDERS[arch.model_type]
    config = AutoConfig.for_model(name, **fields(arch))
    config.use_cache = False
    return config
