"""The lazily built static embedder: per-token store on disk, and sentence vectors that agree."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from modelyard.route.embed import StaticEmbedder, model_files
from modelyard.route.static import RECORD, TokenStore

MODEL_CACHE = Path(__file__).resolve().parents[2] / ".cache" / "models"


def _store(path: Path) -> TokenStore:
    return TokenStore(path, model_files(MODEL_CACHE), 30522, 101, 102)


def test_token_store_computes_once_and_appends(tmp_path: Path) -> None:
    path = tmp_path / "tokens.bin"
    store = _store(path)
    assert list(store.ensure([2054, 2003, 2054])) == [2003, 2054]
    assert path.stat().st_size == 2 * RECORD.itemsize
    assert len(store.ensure([2003, 2054])) == 0
    store.ensure([7592])
    with path.open("ab") as out:
        out.write(b"torn")  # a crash mid-append leaves a partial record
    again = _store(path)
    assert again.known[[2003, 2054, 7592]].all() and again.known.sum() == 3
    assert np.allclose(again.vectors[2054], store.vectors[2054])
    assert again._encoder is None  # nothing was recomputed


def test_static_vectors_keep_similar_prompts_close(featurizer: object) -> None:
    embedder = StaticEmbedder(model_files(MODEL_CACHE))
    food, bread, market = embedder.embed(
        ["A man is eating food.", "A man is eating a piece of bread.", "Stocks fell sharply today."]
    )
    assert float(food @ bread) > float(food @ market) + 0.1
    assert np.allclose(np.linalg.norm(food), 1.0, atol=1e-5)
    assert embedder.embed_ids([]).shape == (embedder.dim,)


def test_sif_weights_fall_with_frequency() -> None:
    from modelyard.route.static import zipf_sif

    w = zipf_sif(1000)
    assert w.shape == (1000,) and (np.diff(w) >= 0).all()  # rarer (higher rank) weighs more
    assert 0 < w[0] < w[-1] <= 1


def test_pca_keeps_the_main_directions() -> None:
    from modelyard.route.static import pca

    rng = np.random.default_rng(0)
    data = rng.normal(size=(500, 6)) * [10, 5, 1, 0.1, 0.1, 0.1]
    mean, projection = pca(data, 2)
    assert projection.shape == (6, 2)
    main = np.abs(projection).argmax(0)
    assert sorted(main.tolist()) == [0, 1]
    np.testing.assert_allclose(mean, data.mean(0))


def test_the_table_fills_only_what_it_is_asked(tmp_path: Path) -> None:
    from modelyard.route.static import StaticTable

    table = StaticTable(_store(tmp_path / "tokens.bin"))
    before = int(table.ready.sum())
    rows = table.rows([2054, 2003])
    assert rows.shape == (2, 256) and int(table.ready.sum()) == before + 2
    again = table.rows([2054])
    np.testing.assert_allclose(again[0], rows[0])
