"""`yard models import`: read a Hugging Face config.json or a GGUF header into a catalog Model.

Imported models are written to the user's catalog directory (``models/imported.yaml``, family
``imported``) with a Source naming the file they were read from, so the planner and
``yard models show`` treat them like shipped entries.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from modelyard.catalog._gguf_fields import (
    file_type,
    gguf_architecture,
    gguf_value,
    local_layers,
    open_gguf,
)
from modelyard.catalog.loader import cached_catalog, data_dir
from modelyard.catalog.params import count_params
from modelyard.catalog.schema import (
    Architecture,
    License,
    Model,
    Param,
    Quantized,
    Ref,
    Source,
)
from modelyard.config import user_catalog_dir
from modelyard.errors import CatalogError
from modelyard.yamlfile import format_validation, read_yaml

M = TypeVar("M", bound=BaseModel)
FAMILY = "imported"
UNKNOWN_LICENSE = "unknown"

# Values transformers' config classes default to, which the shipped config.json may then omit.
CONFIG_DEFAULTS: dict[str, dict[str, Any]] = {
    "gemma2": {"sliding_window_pattern": 2, "tie_word_embeddings": True},
    "gemma3_text": {
        "vocab_size": 262208,
        "max_position_embeddings": 131072,
        "sliding_window_pattern": 6,
        "tie_word_embeddings": True,
    },
}
# Facts that some architectures hard-code in their modelling code instead of config.json.
IMPLIED_ARCH: dict[str, dict[str, Any]] = {
    "qwen2": {"attention_bias": True},
    "qwen2_moe": {"attention_bias": True},
    "qwen3": {"qk_norm": True},
    "qwen3_moe": {"qk_norm": True},
    "gemma2": {"norms_per_layer": 4},
    "gemma3": {"norms_per_layer": 4, "qk_norm": True},
    "gemma3_text": {"norms_per_layer": 4, "qk_norm": True},
}
IMPLIED_MOE: dict[str, dict[str, Any]] = {
    "gpt_oss": {"expert_bias": True, "router_bias": True},
    "llama4_text": {"n_shared_experts": 1},
}


class _Fields:
    """Typed lookups in one config mapping, with errors that name the file and field."""

    def __init__(self, data: Mapping[str, Any], where: str) -> None:
        self.data, self.where = data, where

    def first(self, *names: str) -> Any:
        """Value of the first of ``names`` present and not null, else None."""
        return next((self.data[n] for n in names if self.data.get(n) is not None), None)

    def integer(self, *names: str, default: int | None = None) -> int | None:
        value = self.first(*names)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise CatalogError(f"{self.where}: {names[0]}: expected an integer, got {value!r}")
        return value

    def need(self, *names: str) -> int:
        value = self.integer(*names)
        if value is None:
            also = f" (also looked for {', '.join(names[1:])})" if len(names) > 1 else ""
            raise CatalogError(f"{self.where}: {names[0]}: missing{also}")
        return value


# ---------------------------------------------------------------- Hugging Face config.json


def from_hf_config(
    path_or_dict: Path | str | Mapping[str, Any], id: str | None = None, license: str | None = None
) -> Model:
    """Read a Hugging Face ``config.json`` (a path or the parsed dict) into a verified Model.

    Field aliases are normalised (num_local_experts / n_routed_experts / num_experts, text_config of
    multimodal configs, layer_types / sliding_window_pattern, MLA ranks, ...). ``params_total`` is
    computed with ``count_params`` because config.json does not state it.

    Raises:
        CatalogError: the file is unreadable, or a field is missing or mistyped (named).
    """
    where, config = _read_config(path_or_dict)
    text = config.get("text_config")
    merged = {**config, **(text if isinstance(text, dict) else {})}
    fields = _Fields({**CONFIG_DEFAULTS.get(str(merged.get("model_type")), {}), **merged}, where)
    model_id = _slug(id or _config_name(config, path_or_dict))
    ref = Ref(source=f"import:{model_id}", note=f"read from {where}")
    arch = _build(Architecture, _hf_architecture(fields, ref), where)
    name = str(config.get("_name_or_path") or model_id)
    return _model(
        model_id,
        where,
        arch,
        name=name.rstrip("/").split("/")[-1],
        license=license,
        context=arch.max_position_embeddings,
        params=(count_params(arch).total, "computed by modelyard.catalog.count_params"),
        quantized=_hf_quantized(config.get("quantization_config")),
        hf_repo=name if name.count("/") == 1 and not Path(name).exists() else None,
        notes=_TEXT_ONLY if text else None,
    )


_TEXT_ONLY = (
    "Text decoder only: the vision or audio tower of this multimodal config is not counted."
)


def _read_config(path_or_dict: Path | str | Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    if isinstance(path_or_dict, Mapping):
        return "config.json (given as a mapping)", dict(path_or_dict)
    path = Path(path_or_dict)
    path = path / "config.json" if path.is_dir() else path
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read: {exc.strerror}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CatalogError(f"{path}: not a JSON config.json ({exc})") from exc
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: expected a JSON object at the top, got {type(data).__name__}")
    return str(path), data


def _config_name(config: Mapping[str, Any], origin: object) -> str:
    if config.get("_name_or_path"):
        return str(config["_name_or_path"]).rstrip("/").split("/")[-1]
    if isinstance(origin, str | Path):
        path = Path(origin)
        return (path if path.is_dir() else path.parent).resolve().name
    return str(config.get("model_type", "imported-model"))


def _hf_architecture(f: _Fields, ref: Ref) -> dict[str, Any]:
    model_type = str(f.first("model_type") or "unknown")
    hidden = f.need("hidden_size", "n_embd", "d_model")
    heads = f.need("num_attention_heads", "n_head")
    mla = _hf_mla(f)
    head_dim = mla["qk_nope_head_dim"] + mla["qk_rope_head_dim"] if mla else hidden // heads
    arch: dict[str, Any] = {
        "ref": ref,
        "model_type": model_type,
        "num_hidden_layers": f.need("num_hidden_layers", "n_layer", "num_layers"),
        "hidden_size": hidden,
        "num_attention_heads": heads,
        "num_key_value_heads": f.integer(
            "num_key_value_heads", "num_kv_heads", "multi_query_group_num", default=heads
        ),
        "head_dim": f.integer("head_dim", default=head_dim),
        "intermediate_size": f.need("intermediate_size_mlp", "intermediate_size", "n_inner"),
        "vocab_size": f.need("vocab_size"),
        "tie_word_embeddings": bool(f.first("tie_word_embeddings")),
        "max_position_embeddings": f.need("max_position_embeddings", "n_positions", "seq_length"),
        "model_max_length": _longer(
            f.first("model_max_length"), f.first("max_position_embeddings")
        ),
        "rope_theta": float(theta)
        if isinstance(theta := f.first("rope_theta"), int | float)
        else None,
        "attention_bias": bool(f.first("attention_bias")),
        "moe": _hf_moe(f, model_type),
        "mla": mla,
        **IMPLIED_ARCH.get(model_type, {}),
        **_hf_local_attention(f),
    }
    return arch


def _longer(length: object, positions: object) -> int | None:
    """config.json model_max_length where it exceeds max_position_embeddings (Cohere)."""
    if isinstance(length, int) and isinstance(positions, int) and length > positions:
        return length
    return None


def _hf_moe(f: _Fields, model_type: str) -> dict[str, Any] | None:
    experts = f.integer("num_experts", "moe_num_experts", "n_routed_experts", "num_local_experts")
    if not experts:
        return None
    shared_width = f.integer("shared_expert_intermediate_size")
    return {
        "n_routed_experts": experts,
        "num_experts_per_tok": f.need("num_experts_per_tok", "num_experts_per_token"),
        "moe_intermediate_size": f.need("moe_intermediate_size", "intermediate_size"),
        "n_shared_experts": f.integer("n_shared_experts", default=1 if shared_width else 0),
        "shared_expert_intermediate_size": shared_width,
        "first_k_dense_replace": _leading_dense(f),
        "moe_layer_interval": f.integer(
            "interleave_moe_layer_step", "decoder_sparse_step", "moe_layer_freq", default=1
        ),
        **IMPLIED_MOE.get(model_type, {}),
    }


def _leading_dense(f: _Fields) -> int:
    """first_k_dense_replace, or Qwen's mlp_only_layers when they are the leading layers."""
    dense = f.first("mlp_only_layers") or []
    if dense and sorted(dense) != list(range(len(dense))):
        raise CatalogError(
            f"{f.where}: mlp_only_layers: {dense} are not the leading layers; the catalog schema "
            f"can only describe leading dense layers (first_k_dense_replace)"
        )
    return f.integer("first_k_dense_replace", default=len(dense)) or 0


def _hf_mla(f: _Fields) -> dict[str, Any] | None:
    if f.first("kv_lora_rank") is None:
        return None
    return {
        "kv_lora_rank": f.need("kv_lora_rank"),
        "q_lora_rank": f.integer("q_lora_rank"),
        "qk_rope_head_dim": f.need("qk_rope_head_dim"),
        "qk_nope_head_dim": f.need("qk_nope_head_dim"),
        "v_head_dim": f.need("v_head_dim"),
    }


def _hf_local_attention(f: _Fields) -> dict[str, Any]:
    """sliding_window / local_attention / layer_pattern from the config's several spellings."""
    layers = f.need("num_hidden_layers", "n_layer", "num_layers")
    chunk = f.integer("attention_chunk_size")
    if chunk:  # Llama 4: chunked attention on RoPE layers, global attention on NoPE layers
        flags = f.first("no_rope_layers") or [int((i + 1) % 4 != 0) for i in range(layers)]
        return local_layers("chunked", chunk, ["L" if x else "G" for x in flags])
    window = f.integer("sliding_window")
    if not window or f.first("use_sliding_window") is False:
        return {}
    types = f.first("layer_types")
    every = f.integer("sliding_window_pattern")
    if types:
        kinds = ["L" if "sliding" in str(t) else "G" for t in types]
    elif every:
        kinds = ["G" if (i + 1) % every == 0 else "L" for i in range(layers)]
    else:
        kinds = ["L"]
    return local_layers("sliding", window, kinds)


def _hf_quantized(config: Any) -> list[Quantized]:
    if not isinstance(config, dict) or not config.get("quant_method"):
        return []
    method, bits = str(config["quant_method"]), config.get("bits")
    return [Quantized(format=f"{method}-int{bits}" if bits else method)]


# ---------------------------------------------------------------- GGUF header


def from_gguf(path: Path | str, id: str | None = None, license: str | None = None) -> Model:
    """Read a GGUF file's header (general.*, {arch}.*, tokenizer, tensor list) into a Model.

    ``params_total`` is the number of elements in the file's tensors; the quantization (file type
    and tensor types) is recorded in ``quantized`` and ``notes``.

    Raises:
        CatalogError: the file is not GGUF or lacks a required key (named in the message).
    """
    path = Path(path)
    reader = open_gguf(path)
    header = {name: field for name, field in reader.fields.items()}
    tensors = {t.name: t for t in reader.tensors}
    arch_name = gguf_value(header, "general.architecture", path)
    if not isinstance(arch_name, str):
        raise CatalogError(f"{path}: general.architecture: missing from the GGUF header")
    model_id = _slug(id or path.stem)
    ref = Ref(source=f"import:{model_id}", note=f"read from the GGUF header of {path}")
    arch = _build(Architecture, gguf_architecture(header, tensors, arch_name, path, ref), path)
    types = Counter(t.tensor_type.name for t in tensors.values())
    stated_license = gguf_value(header, "general.license", path)
    return _model(
        model_id,
        str(path),
        arch,
        name=str(gguf_value(header, "general.name", path) or path.stem),
        license=license or (str(stated_license) if stated_license else None),
        context=arch.max_position_embeddings,
        params=(
            sum(int(t.n_elements) for t in tensors.values()),
            "sum of tensor elements in the GGUF file",
        ),
        quantized=[Quantized(format=f"gguf-{file_type(header, types, path)}", repo=str(path))],
        vendor=str(gguf_value(header, "general.organization", path) or FAMILY),
        languages=[str(x) for x in gguf_value(header, "general.languages", path) or []],
        notes=f"GGUF file with {len(tensors)} tensors ("
        + ", ".join(f"{n} {kind}" for kind, n in types.most_common())
        + ")",
        aliases=[path.stem] if path.stem != model_id else [],
    )


# ---------------------------------------------------------------- shared assembly


def _build(kind: type[M], data: dict[str, Any], where: Path | str) -> M:
    try:
        return kind.model_validate(data)
    except ValidationError as exc:
        raise CatalogError("\n".join(format_validation(exc, where, model=kind))) from exc


def _model(model_id: str, where: str, arch: Architecture, **facts: Any) -> Model:
    source = arch.ref.source
    params, how = facts.pop("params")
    data = {
        "id": model_id,
        "family": FAMILY,
        "vendor": facts.pop("vendor", FAMILY),
        "license": facts.pop("license") or UNKNOWN_LICENSE,
        "license_ref": Ref(source=source, confidence="medium", note="as stated in the file"),
        "context_window": facts.pop("context"),
        "context_ref": Ref(source=source, note="maximum positions the file states"),
        "architecture": arch,
        "params_total": Param(value=params, ref=Ref(source=source, note=how)),
        **facts,
    }
    if arch.moe is not None:
        active = count_params(arch).active
        data["params_active"] = Param(value=active, ref=Ref(source=source, note=_COMPUTED))
    return _build(Model, data, where)


_COMPUTED = "computed by modelyard.catalog.count_params"


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9._]+", "-", name.lower()).strip("-.")
    if not slug:
        raise CatalogError(f"model id {name!r}: needs at least one letter or digit; pass --id")
    return slug


# ---------------------------------------------------------------- the user's catalog


def import_model(path: Path | str, id: str | None = None, license: str | None = None) -> Model:
    """Read ``path`` (GGUF file, config.json, or a folder holding one) and write it to the catalog.

    Returns:
        The Model as written (its license resolved against the catalog).
    """
    path = Path(path)
    target = path / "config.json" if path.is_dir() else path
    if not target.is_file():
        raise CatalogError(f"{target}: no such file (give a .gguf file or a config.json)")
    with target.open("rb") as handle:
        is_gguf = handle.read(4) == b"GGUF"
    model = resolve_license((from_gguf if is_gguf else from_hf_config)(target, id, license))
    write_user_entry(model, target)
    return model


def imported_file() -> Path:
    """The user catalog file that holds imported models."""
    return user_catalog_dir() / "models" / f"{FAMILY}.yaml"


def write_user_entry(model: Model, origin: Path | str | None = None) -> Path:
    """Merge ``model`` (by id) into the user's ``models/imported.yaml`` with its Source.

    A license the catalog does not know becomes ``unknown`` (no commercial use assumed), and the
    stated name is kept in the notes.

    Args:
        model: an imported Model (from_gguf / from_hf_config).
        origin: the file it was read from; the Source's title.
    """
    model = resolve_license(model)
    source = Source(
        id=model.architecture.ref.source if model.architecture else f"import:{model.id}",
        kind="config",
        title=str(Path(origin).resolve()) if origin else f"{model.name} (imported)",
        date=dt.date.today(),
    )
    path = imported_file()
    data = {"family": FAMILY, **_read_user_file(path, "models")}
    _merge(data, "sources", source)
    _merge(data, "models", model)
    _write_yaml(path, data)
    cached_catalog.cache_clear()
    return path


def resolve_license(model: Model) -> Model:
    """``model`` with a license id the catalog knows: its own, or ``unknown`` (noted)."""
    licenses = _known_licenses()
    if model.license in licenses:
        return model
    if model.license != UNKNOWN_LICENSE:
        note = (
            f"The file states license {model.license!r}, which the catalog does not know; recorded "
            f"as 'unknown'. Re-import with --license ID (see licenses.yaml)."
        )
        notes = f"{model.notes} {note}" if model.notes else note
        model = model.model_copy(update={"license": UNKNOWN_LICENSE, "notes": notes})
    if UNKNOWN_LICENSE not in licenses:
        _write_unknown_license()
    return model


def _known_licenses() -> set[str]:
    """License ids in the shipped and user licenses.yaml (read alone: the full catalog is slow)."""
    ids: set[str] = set()
    for path in (data_dir() / "licenses.yaml", user_catalog_dir() / "licenses.yaml"):
        data = read_yaml(path, CatalogError)[0] if path.exists() else None
        entries = data.get("licenses") if isinstance(data, dict) else None
        ids |= {e["id"] for e in entries or [] if isinstance(e, dict) and "id" in e}
    return ids


def _write_unknown_license() -> None:
    path = user_catalog_dir() / "licenses.yaml"
    data = _read_user_file(path, "licenses")
    source = Source(
        id="import:unknown-license",
        kind="derived",
        title="modelyard import: the imported file states no license the catalog knows",
    )
    license_ = License(
        id=UNKNOWN_LICENSE,
        name="Unknown license (imported model)",
        commercial_use=False,
        ref=Ref(source=source.id, confidence="low", note="assume no rights until checked"),
    )
    _merge(data, "sources", source)
    _merge(data, "licenses", license_)
    _write_yaml(path, data)


def _read_user_file(path: Path, key: str) -> dict[str, Any]:
    if not path.exists():
        return {"sources": [], key: []}
    data, _node = read_yaml(path, CatalogError)
    if not isinstance(data, dict) or not isinstance(data.get(key, []), list):
        raise CatalogError(f"{path}: expected a mapping with a '{key}:' list; fix or delete it")
    data.setdefault("sources", [])
    data.setdefault(key, [])
    return data


def _merge(data: dict[str, Any], key: str, entry: Any) -> None:
    kept = [e for e in data[key] if not (isinstance(e, dict) and e.get("id") == entry.id)]
    data[key] = [*kept, entry.model_dump(mode="json", exclude_defaults=True)]


def _write_yaml(path: Path, data: dict[str, Any]) -> None:
    """Write atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(tmp, path)
