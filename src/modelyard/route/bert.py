"""The BERT encoder of all-MiniLM-L6-v2 in float32 numpy, BLAS held to one thread.

Everything stays float32: under NumPy 2 a ``np.float64`` scalar (``np.sqrt(2.0)``) promotes a
float32 array to float64, which silently doubles the cost of every matrix product after it.
BLAS runs on one thread: these matrices are small, and with more threads OpenBLAS spends more
time synchronising than multiplying (measured in docs/PERFORMANCE.md).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

DIM = 384
HEADS = 12
LAYERS = 6
SCALE = np.float32(1.0 / np.sqrt(DIM // HEADS))
HALF, ROOT_HALF = np.float32(0.5), np.float32(np.sqrt(0.5))
# Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): numpy has no erf and BERT's GELU is exact
ERF_P = np.float32(0.3275911)
ERF_A = tuple(np.float32(a) for a in (1.061405429, -1.453152027, 1.421413741, -0.284496736))
ERF_A0 = np.float32(0.254829592)
EPS = np.float32(1e-12)


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


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    x = x - x.mean(-1, keepdims=True)
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + EPS) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    z = x * ROOT_HALF
    a = np.abs(z)
    t = np.float32(1.0) / (np.float32(1.0) + ERF_P * a)
    poly = np.full_like(t, ERF_A[0])
    for coef in ERF_A[1:]:
        poly = poly * t + coef
    erf = np.float32(1.0) - (poly * t + ERF_A0) * t * np.exp(-a * a)
    return HALF * x * (np.float32(1.0) + np.sign(z) * erf)


class Bert:
    """all-MiniLM-L6-v2's encoder: weights re-laid out once for fast float32 products."""

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.word = weights["embeddings.word_embeddings.weight"]
        self.position = weights["embeddings.position_embeddings.weight"]
        self.token_type = weights["embeddings.token_type_embeddings.weight"][0]
        self.norm = _norm_pair(weights, "embeddings.LayerNorm")
        self.layers = [_layer_weights(weights, f"encoder.layer.{i}.") for i in range(LAYERS)]

    @classmethod
    def load(cls, path: Path) -> Bert:
        """Read the encoder from a ``model.safetensors`` file."""
        return cls(read_safetensors(path))

    def hidden(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Last hidden states (B, T, 384) of a padded batch ``ids`` (B, T) with ``mask`` 1/0."""
        with threadpool_limits(1, user_api="blas"):
            x = self.word[ids] + self.position[: ids.shape[1]] + self.token_type
            x = _layer_norm(x, *self.norm)
            bias = np.where(mask[:, None, None, :] > 0, 0.0, -1e9).astype(np.float32)
            for layer in self.layers:
                x = _layer(x, bias, layer)
            return x

    def encode(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Mean-pooled, L2-normalised sentence vectors (B, 384): sentence-transformers' recipe."""
        mask = mask.astype(np.float32)
        pooled = (self.hidden(ids, mask) * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


def _norm_pair(w: dict[str, np.ndarray], prefix: str) -> tuple[np.ndarray, np.ndarray]:
    return w[prefix + ".weight"], w[prefix + ".bias"]


def _dense(w: dict[str, np.ndarray], name: str) -> tuple[np.ndarray, np.ndarray]:
    return np.ascontiguousarray(w[name + ".weight"].T), w[name + ".bias"]


def _layer_weights(w: dict[str, np.ndarray], p: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    qkv = [_dense(w, f"{p}attention.self.{n}") for n in ("query", "key", "value")]
    return {
        "qkv": (np.hstack([m for m, _ in qkv]), np.concatenate([b for _, b in qkv])),
        "out": _dense(w, p + "attention.output.dense"),
        "norm1": _norm_pair(w, p + "attention.output.LayerNorm"),
        "up": _dense(w, p + "intermediate.dense"),
        "down": _dense(w, p + "output.dense"),
        "norm2": _norm_pair(w, p + "output.LayerNorm"),
    }


def _linear(x: np.ndarray, weight_bias: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    weight, bias = weight_bias
    # one 2-D product: a 3-D operand makes numpy call BLAS once per batch row
    flat = x.reshape(-1, x.shape[-1]) @ weight + bias
    return flat.reshape(*x.shape[:-1], -1)


def _layer(x: np.ndarray, bias: np.ndarray, w: dict) -> np.ndarray:
    b, t, _ = x.shape
    qkv = _linear(x, w["qkv"]).reshape(b, t, 3, HEADS, DIM // HEADS).transpose(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    scores = (q * SCALE) @ k.swapaxes(-1, -2) + bias
    scores = np.exp(scores - scores.max(-1, keepdims=True))
    scores /= scores.sum(-1, keepdims=True)
    att = (scores @ v).transpose(0, 2, 1, 3).reshape(b, t, DIM)
    x = _layer_norm(x + _linear(att, w["out"]), *w["norm1"])
    return _layer_norm(x + _linear(_gelu(_linear(x, w["up"])), w["down"]), *w["norm2"])
