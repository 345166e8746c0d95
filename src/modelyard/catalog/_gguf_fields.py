"""Reading a GGUF header into catalog Architecture fields (helpers of catalog.importers).

Every error names the file and the header key. The local-attention pattern helpers are shared
with the config.json importer.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from modelyard.catalog.schema import Ref
from modelyard.errors import CatalogError


def open_gguf(path: Path) -> Any:
    """A gguf.GGUFReader over ``path``; CatalogError naming the file if it is not GGUF."""
    from gguf import GGUFReader

    if not path.is_file():
        raise CatalogError(f"{path}: no such file")
    try:
        return GGUFReader(path)
    except (ValueError, OSError, IndexError, KeyError) as exc:
        raise CatalogError(f"{path}: not a readable GGUF file ({exc})") from exc


def gguf_value(header: Mapping[str, Any], key: str, path: Path) -> Any:
    """The decoded value of header ``key``, or None when the file lacks it."""
    field = header.get(key)
    if field is None:
        return None
    try:
        return field.contents()
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path}: {key}: unreadable value ({exc})") from exc


def gguf_int(header: Mapping[str, Any], key: str, path: Path, required: bool = False) -> int | None:
    """An integer header value (the largest, for per-layer arrays)."""
    value = gguf_value(header, key, path)
    if isinstance(value, list):  # per-layer values (variable head counts or FFN widths)
        value = max((v for v in value if isinstance(v, int)), default=None)
    if value is None and required:
        raise CatalogError(f"{path}: {key}: missing from the GGUF header")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise CatalogError(f"{path}: {key}: expected an integer, got {value!r}")
    return value


def gguf_architecture(
    header: Mapping[str, Any], tensors: Mapping[str, Any], arch: str, path: Path, ref: Ref
) -> dict[str, Any]:
    """Architecture fields from the ``{arch}.*`` keys, the tokenizer and the tensor names."""

    def num(key: str, required: bool = False) -> int | None:
        return gguf_int(header, f"{arch}.{key}", path, required)

    hidden = num("embedding_length", True)
    heads = num("attention.head_count", True)
    mla = _mla(num)
    expert_width = num("expert_feed_forward_length")
    intermediate = num("feed_forward_length") or expert_width
    if intermediate is None:
        raise CatalogError(f"{path}: {arch}.feed_forward_length: missing from the GGUF header")
    names = set(tensors)
    return {
        "ref": ref,
        "model_type": arch,
        "num_hidden_layers": num("block_count", True),
        "hidden_size": hidden,
        "num_attention_heads": heads,
        "num_key_value_heads": num("attention.head_count_kv") or heads,
        "head_dim": _head_dim(num, mla, hidden, heads),  # type: ignore[arg-type]
        "intermediate_size": intermediate,
        "vocab_size": _vocab(header, tensors, arch, path),
        "tie_word_embeddings": "output.weight" not in names,
        "max_position_embeddings": num("context_length", True),
        "attention_bias": any(n.endswith(("attn_q.bias", "attn_qkv.bias")) for n in names),
        "qk_norm": any(n.endswith("attn_q_norm.weight") for n in names),
        "mlp_gated": any(re.search(r"\.ffn_gate(_exps|_shexp)?\.weight$", n) for n in names),
        "norms_per_layer": _norms(names),
        "moe": _moe(num, names, intermediate),
        "mla": mla,
        **_local_attention(header, arch, path),
    }


def _head_dim(num: Any, mla: dict[str, Any] | None, hidden: int, heads: int) -> int:
    if mla:
        return int(mla["qk_nope_head_dim"] + mla["qk_rope_head_dim"])
    return int(num("attention.key_length") or hidden // heads)


def _vocab(header: Mapping[str, Any], tensors: Mapping[str, Any], arch: str, path: Path) -> int:
    tokens = header.get("tokenizer.ggml.tokens")
    if tokens is not None:
        return len(tokens.data)
    size = gguf_int(header, f"{arch}.vocab_size", path)
    if size:
        return size
    if "token_embd.weight" in tensors:
        return int(tensors["token_embd.weight"].shape[-1])
    raise CatalogError(f"{path}: tokenizer.ggml.tokens: missing, and no {arch}.vocab_size either")


def _norms(names: set[str]) -> int:
    """Norm vectors per block, as llama.cpp names them in block 0 (q/k and MLA norms excluded)."""
    skip = ("attn_q_norm", "attn_k_norm", "attn_q_a_norm", "attn_kv_a_norm")
    found = [n for n in names if re.fullmatch(r"blk\.0\.\w+_norm\.weight", n)]
    return len([n for n in found if not n.startswith(tuple(f"blk.0.{s}" for s in skip))]) or 2


def _mla(num: Any) -> dict[str, Any] | None:
    rank = num("attention.kv_lora_rank")
    if not rank:
        return None
    rope = num("rope.dimension_count") or 0
    qk = num("attention.key_length_mla") or num("attention.key_length")
    return {
        "kv_lora_rank": rank,
        "q_lora_rank": num("attention.q_lora_rank") or None,
        "qk_rope_head_dim": rope,
        "qk_nope_head_dim": (qk or rope) - rope,
        "v_head_dim": num("attention.value_length_mla") or num("attention.value_length"),
    }


def _moe(num: Any, names: set[str], intermediate: int) -> dict[str, Any] | None:
    experts = num("expert_count")
    if not experts:
        return None
    shared_width = num("expert_shared_feed_forward_length")
    return {
        "n_routed_experts": experts,
        "num_experts_per_tok": num("expert_used_count", True),
        "moe_intermediate_size": num("expert_feed_forward_length") or intermediate,
        "n_shared_experts": num("expert_shared_count") or (1 if shared_width else 0),
        "shared_expert_intermediate_size": shared_width,
        "first_k_dense_replace": num("leading_dense_block_count") or 0,
        "moe_layer_interval": num("interleave_moe_layer_step") or 1,
        "expert_bias": any(n.endswith("ffn_up_exps.bias") for n in names),
        "router_bias": any(n.endswith("ffn_gate_inp.bias") for n in names),
    }


def _local_attention(header: Mapping[str, Any], arch: str, path: Path) -> dict[str, Any]:
    window = gguf_int(header, f"{arch}.attention.sliding_window", path)
    if not window:
        return {}
    pattern = gguf_value(header, f"{arch}.attention.sliding_window_pattern", path)
    if isinstance(pattern, list):  # one flag per layer: true where the layer is local
        kinds = ["L" if flag else "G" for flag in pattern]
    elif isinstance(pattern, int) and pattern > 0:
        kinds = ["L"] * (pattern - 1) + ["G"]
    else:
        kinds = ["L"]
    return local_layers("sliding", window, kinds)


def file_type(header: Mapping[str, Any], types: Counter[str], path: Path) -> str:
    """The quantization as a short key (q4_1, q4_k_m, f16) from general.file_type or the tensors."""
    from gguf import LlamaFileType

    code = gguf_value(header, "general.file_type", path)
    try:
        return LlamaFileType(code).name.removeprefix("MOSTLY_").lower()
    except ValueError:
        return types.most_common(1)[0][0].lower() if types else "unknown"


def local_layers(kind: str, window: int, kinds: list[str]) -> dict[str, Any]:
    """Architecture fields for local attention over the layers marked L, or {} if none are."""
    if "L" not in kinds:
        return {}
    return {"sliding_window": window, "local_attention": kind, "layer_pattern": period(kinds)}


def period(kinds: list[str]) -> str:
    """Shortest repeating pattern that reproduces the per-layer kinds from layer 0."""
    for size in range(1, len(kinds) + 1):
        if all(k == kinds[i % size] for i, k in enumerate(kinds)):
            return "".join(kinds[:size])
    return "".join(kinds)
