"""The ONNX encoder against an independent torch implementation of the same BERT, and the
published similarity of the model card's pair."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from modelyard.route.embed import TransformerEmbedder, model_files
from modelyard.route.onnx_model import LAYERS, Encoder, read_safetensors

MODEL_CACHE = Path(__file__).resolve().parents[2] / ".cache" / "models"
TEXTS = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "Natalia sold clips to 48 of her friends in April, and then half as many in May.",
    "Which of the following best describes the function of the mitochondria?\nA. energy",
    "Write a Python function that returns the n-th Fibonacci number.",
]


def _torch_encode(path: Path, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """all-MiniLM-L6-v2 written in torch from the safetensors weights (no numpy code shared)."""
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    w = {k: torch.from_numpy(v.copy()) for k, v in read_safetensors(path).items()}
    ids_t, mask_t = torch.from_numpy(ids), torch.from_numpy(mask).float()

    def lin(x: torch.Tensor, name: str) -> torch.Tensor:
        return F.linear(x, w[name + ".weight"], w[name + ".bias"])

    def norm(x: torch.Tensor, name: str) -> torch.Tensor:
        return F.layer_norm(x, (384,), w[name + ".weight"], w[name + ".bias"], 1e-12)

    x = w["embeddings.word_embeddings.weight"][ids_t]
    x = x + w["embeddings.position_embeddings.weight"][: ids.shape[1]]
    x = norm(x + w["embeddings.token_type_embeddings.weight"][0], "embeddings.LayerNorm")
    keep = mask_t[:, None, None, :].bool()
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."

        def heads(name: str, x: torch.Tensor = x, p: str = p) -> torch.Tensor:
            return lin(x, p + "attention.self." + name).unflatten(-1, (12, 32)).transpose(1, 2)

        att = F.scaled_dot_product_attention(heads("query"), heads("key"), heads("value"), keep)
        att = lin(att.transpose(1, 2).flatten(2), p + "attention.output.dense")
        x = norm(x + att, p + "attention.output.LayerNorm")
        up = F.gelu(lin(x, p + "intermediate.dense"))
        x = norm(x + lin(up, p + "output.dense"), p + "output.LayerNorm")
    pooled = (x * mask_t[..., None]).sum(1) / mask_t.sum(1, keepdim=True)
    return F.normalize(pooled, dim=1).numpy()


def test_onnx_encoder_matches_torch() -> None:
    pytest.importorskip("torch")
    folder = model_files(MODEL_CACHE)
    embedder = TransformerEmbedder(folder)
    encodings = embedder.tokenizer.encode_batch(TEXTS)
    width = max(len(e.ids) for e in encodings)
    ids = np.zeros((len(TEXTS), width), dtype=np.int64)
    mask = np.zeros((len(TEXTS), width), dtype=np.int64)
    for row, e in enumerate(encodings):
        ids[row, : len(e.ids)], mask[row, : len(e.ids)] = e.ids, 1
    reference = _torch_encode(folder / "model.safetensors", ids, mask)
    ours = Encoder(folder).encode(ids, mask)
    assert ours.dtype == np.float32
    cosines = (reference * ours).sum(1)
    assert cosines.min() > 0.999, cosines
    # and the embedder's own length-bucketed batching gives the same vectors one by one
    single = np.stack([embedder.embed([t])[0] for t in TEXTS])
    assert (single * embedder.embed(TEXTS)).sum(1).min() > 0.9999


def test_known_similarity() -> None:
    embedder = TransformerEmbedder(model_files(MODEL_CACHE))
    a, b = embedder.embed(TEXTS[:2])
    # the sentence-transformers model card pair; the published model gives about 0.75
    assert 0.7 < float(a @ b) < 0.8


def test_the_graph_is_built_once_and_rebuilt_when_stale(tmp_path: Path) -> None:
    import shutil

    from modelyard.route.onnx_model import GRAPH_FILE, Encoder

    folder = tmp_path / "minilm"
    source = model_files(MODEL_CACHE)
    folder.mkdir()
    shutil.copy(source / "model.safetensors", folder / "model.safetensors")
    Encoder(folder)
    graph = folder / GRAPH_FILE
    built = graph.stat().st_mtime_ns
    Encoder(folder)
    assert graph.stat().st_mtime_ns == built  # cached
    graph.write_bytes(b"an older or broken graph")
    encoder = Encoder(folder)
    assert graph.stat().st_size > 1_000_000
    ids = np.array([[101, 7592, 2088, 102]])
    assert encoder.hidden(ids, np.ones(ids.shape)).shape == (1, 4, 384)


def test_padding_does_not_change_a_sentence() -> None:
    from modelyard.route.onnx_model import Encoder

    encoder = Encoder(model_files(MODEL_CACHE))
    short = np.array([[101, 7592, 2088, 102, 0, 0, 0]])
    mask = np.array([[1, 1, 1, 1, 0, 0, 0]])
    alone = encoder.encode(short[:, :4], mask[:, :4])
    padded = encoder.encode(short, mask)
    np.testing.assert_allclose(alone, padded, atol=1e-5)
