"""Which file of a GGUF repository `yard pull` takes: labels, defaults, split parts."""

from __future__ import annotations

import pytest

from modelyard.errors import YardError
from modelyard.gguf_choice import choose, quant_of


@pytest.mark.parametrize(
    ("path", "quant"),
    [
        ("Qwen3-8B-Q4_K_M.gguf", "Q4_K_M"),
        ("qwen2.5-7b-instruct-q4_k_m-00001-of-00002.gguf", "Q4_K_M"),
        ("Q8_0/DeepSeek-V3-Q8_0-00001-of-00016.gguf", "Q8_0"),
        ("BF16/model-00001-of-00002.gguf", "BF16"),
        ("phi-4-bf16.gguf", "BF16"),
        ("gemma-3-27b-it-q4_0.gguf", "Q4_0"),
        ("Llama-3.3-70B-Instruct-IQ2_XXS.gguf", "IQ2_XXS"),
        ("DeepSeek-R1-UD-IQ1_S-00001-of-00003.gguf", "IQ1_S"),
        ("Model.Q5_K_S.GGUF", "Q5_K_S"),
        ("model.gguf", None),
    ],
)
def test_quant_label_from_file_or_folder_name(path: str, quant: str | None) -> None:
    assert quant_of(path) == quant


def test_default_prefers_q4_k_m_then_smaller_k_quants_then_q8_then_full() -> None:
    files = ["m-Q8_0.gguf", "m-Q4_K_S.gguf", "m-Q4_K_M.gguf", "m-F16.gguf"]
    assert choose("o/r", files).files == ("m-Q4_K_M.gguf",)
    assert choose("o/r", ["m-Q8_0.gguf", "m-F16.gguf"]).quant == "Q8_0"
    assert choose("o/r", ["m-F16.gguf", "m-BF16.gguf"]).quant == "BF16"
    assert choose("o/r", ["m-IQ3_XS.gguf", "m-IQ2_M.gguf"]).quant == "IQ2_M"


def test_projectors_and_other_files_are_not_models() -> None:
    files = ["README.md", "mmproj-model-F16.gguf", "config.json", "m-Q6_K.gguf"]
    assert choose("o/r", files).files == ("m-Q6_K.gguf",)
    with pytest.raises(YardError, match=r"holds no \.gguf model file"):
        choose("o/r", ["README.md", "mmproj-F16.gguf", "model.safetensors"])


def test_split_parts_come_in_order() -> None:
    parts = [f"Q4_K_M/m-Q4_K_M-0000{i}-of-00003.gguf" for i in (3, 1, 2)]
    assert choose("o/r", parts).files == tuple(sorted(parts))
    with pytest.raises(YardError, match="split model is incomplete"):
        choose("o/r", parts[:2])


def test_same_quant_in_two_files_asks_for_one() -> None:
    with pytest.raises(YardError, match=r"several files carry that quantization.*yard pull o/r/"):
        choose("o/r", ["base-Q4_K_M.gguf", "instruct-Q4_K_M.gguf"])


def test_missing_quant_lists_what_there_is() -> None:
    with pytest.raises(YardError, match=r"o/r has no Q3_K_L file; it has Q4_K_M, Q8_0"):
        choose("o/r", ["m-Q8_0.gguf", "m-Q4_K_M.gguf"], "Q3_K_L")
