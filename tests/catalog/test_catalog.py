"""The shipped catalog validates, its architectures match published counts, and lookups help."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.catalog import count_params, find_model, load_catalog
from modelyard.catalog.queries import check_params
from modelyard.errors import CatalogError

CATALOG = load_catalog()
VERIFIED = sorted(m.id for m in CATALOG.models.values() if m.verified)


def test_every_entry_has_a_known_source() -> None:
    # load_catalog raises on any unknown source, license or model reference
    assert CATALOG.sources and CATALOG.models


@pytest.mark.parametrize("model_id", VERIFIED)
def test_computed_total_params_match_published(model_id: str) -> None:
    check = check_params(CATALOG.models[model_id])
    assert check is not None and check.total_error is not None
    assert abs(check.total_error) <= 0.02, (
        f"{model_id}: computed {check.computed_total:,} vs published {check.published_total:,.0f}"
    )


@pytest.mark.parametrize(
    "model_id", [m for m in VERIFIED if CATALOG.models[m].params_active is not None]
)
def test_computed_active_params_match_published(model_id: str) -> None:
    check = check_params(CATALOG.models[model_id])
    assert check is not None and check.active_error is not None
    assert abs(check.active_error) <= 0.02, (
        f"{model_id}: computed active {check.computed_active:,} "
        f"vs published {check.published_active:,.0f}"
    )


def test_llama_3_1_8b_facts() -> None:
    model = find_model(CATALOG, "llama-3.1-8b-instruct")
    arch = model.architecture
    assert arch is not None
    assert (arch.num_hidden_layers, arch.num_key_value_heads) == (32, 8)
    assert model.context_window == 131072
    assert count_params(arch).total == 8_030_261_248


def test_lookup_accepts_hf_repo_and_suggests() -> None:
    assert find_model(CATALOG, "meta-llama/Llama-3.1-8B-Instruct").id == "llama-3.1-8b-instruct"
    with pytest.raises(CatalogError, match=r"did you mean llama-3\.1-8b-instruct"):
        find_model(CATALOG, "llama-3.1-8x-instruct")


def test_malformed_file_names_file_line_and_field(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "bad.yaml").write_text(
        "family: bad\nmodels:\n  - id: bad-1\n    name: Bad\n    vendor: X\n"
        "    verified: false\n    context_window: 128k\n"
    )
    with pytest.raises(CatalogError) as err:
        load_catalog(tmp_path)
    message = str(err.value)
    assert "bad.yaml:7: models.0.context_window" in message


def test_unknown_source_is_reported(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "x.yaml").write_text(
        "models:\n  - id: x-1\n    name: X\n    vendor: X\n    verified: false\n"
        "    claims:\n      - {metric: mmlu, value: 50, ref: {source: nowhere}}\n"
    )
    with pytest.raises(
        CatalogError,
        match=r"x\.yaml: models 'x-1': claims\.0\.ref\.source: "
        r"unknown source 'nowhere'",
    ):
        load_catalog(tmp_path)


def test_a_misspelt_field_gets_a_suggestion_at_any_depth(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "typo.yaml").write_text(
        "models:\n  - id: t-1\n    name: T\n    vendor: X\n    verified: false\n"
        "    contxt_window: 8192\n"
        "    claims:\n      - {metric: mmlu, value: 50, ref: {source: s, confidense: high}}\n"
    )
    with pytest.raises(CatalogError) as err:
        load_catalog(tmp_path)
    message = str(err.value)
    assert (
        "typo.yaml:6: models.0.contxt_window: unknown field 'contxt_window'; did you mean "
        "context_window?"
    ) in message
    assert (
        "typo.yaml:8: models.0.claims.0.ref.confidense: unknown field 'confidense'; did you "
        "mean confidence?"
    ) in message
