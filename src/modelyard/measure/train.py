"""`yard measure --train`: train a catalog architecture with random weights and record peak
memory and step time over sequence lengths, micro-batches and gradient checkpointing.

The model is built as users train it: transformers (SDPA attention) from a config made of the
catalog's fields, PEFT LoRA adapters, bitsandbytes NF4 with double quantization for QLoRA
(the non-4-bit weights cast to fp32 as TRL's and Axolotl's prepare_model_for_kbit_training
does), a bf16 autocast around forward and loss as the HF Trainer's bf16 mode, and the
optimizer the plan names. Memory and speed do not depend on the weights' values, so nothing
is downloaded. Each point that runs out of memory is recorded with its error.
"""

from __future__ import annotations

import datetime as dt
import gc
import importlib.metadata
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import Progress

from modelyard.catalog import Catalog, Model
from modelyard.catalog.lora import HF_NAMES, matrices, parse_targets
from modelyard.errors import MeasureError, MissingExtraError
from modelyard.measure.hf_config import hf_config
from modelyard.plan.calibration import measured_architecture
from modelyard.plan.train_calibration import (
    TrainCalibration,
    TrainPoint,
    save_train_calibration,
)

if TYPE_CHECKING:
    import torch

GIB = float(2**30)
METHODS = ("full", "lora", "qlora")
OPTIMIZERS = ("adamw", "adamw-8bit", "paged-adamw-8bit", "sgd")


@dataclass(frozen=True)
class TrainGrid:
    """Sequence lengths × micro-batches × checkpointing settings, and how long to time."""

    seq_lens: tuple[int, ...] = (512, 2048)
    micro_batches: tuple[int, ...] = (1, 4)
    checkpointing: tuple[bool, ...] = (True, False)
    warmup: int = 2
    """Untimed steps first (the optimizer allocates its states in the first one)."""
    repeats: int = 3
    """Timed steps per point."""


@dataclass(frozen=True)
class TrainSetup:
    """What to train: method, adapter shape, optimizer, dtype."""

    method: str = "lora"
    rank: int = 16
    targets: str = "all-linear"
    optimizer: str = "adamw"
    precision: str = "bf16"

    def check(self) -> None:
        if self.method not in METHODS:
            raise MeasureError(f"--train {self.method!r}: choose one of {', '.join(METHODS)}")
        if self.optimizer not in OPTIMIZERS:
            raise MeasureError(
                f"--optimizer {self.optimizer!r}: choose one of {', '.join(OPTIMIZERS)}"
            )
        if self.precision not in ("bf16", "fp16"):
            raise MeasureError(f"--precision {self.precision!r}: choose bf16 or fp16")
        if self.method != "full" and self.rank < 1:
            raise MeasureError(f"--rank {self.rank}: must be at least 1")


def parse_train_grid(
    seq_lens: str, micro_batches: str, checkpointing: str, repeats: int | None = None
) -> TrainGrid:
    """'512,2k', '1,4' and 'on,off' -> TrainGrid; errors name the option."""
    from modelyard.policy import parse_tokens

    try:
        batches = tuple(int(b) for b in micro_batches.split(","))
    except ValueError:
        raise MeasureError(f"--micro-batch {micro_batches!r}: write integers, e.g. 1,4") from None
    lengths = tuple(parse_tokens(s) for s in seq_lens.split(","))
    flags = {"on": True, "off": False}
    modes = [m.strip().lower() for m in checkpointing.split(",")]
    if not set(modes) <= set(flags) or not modes:
        raise MeasureError(f"--grad-ckpt {checkpointing!r}: write on, off or on,off")
    if min(batches) < 1 or min(lengths) < 2:
        raise MeasureError("--micro-batch must be at least 1 and --seq-len at least 2")
    grid = TrainGrid(lengths, batches, tuple(flags[m] for m in dict.fromkeys(modes)))
    return replace(grid, repeats=repeats) if repeats is not None else grid


def _imports() -> tuple[ModuleType, ModuleType, ModuleType]:
    try:
        import peft
        import torch
        import transformers
    except ImportError:
        raise MissingExtraError(
            "torch, transformers and peft", "train", "yard measure --train"
        ) from None
    transformers.logging.set_verbosity_error()
    return torch, transformers, peft


def _bnb() -> ModuleType:
    try:
        import bitsandbytes
    except ImportError:
        raise MissingExtraError("bitsandbytes", "train", "8-bit optimizers and QLoRA") from None
    return bitsandbytes


def _versions() -> dict[str, str]:
    found = {}
    for name in ("torch", "transformers", "peft", "bitsandbytes"):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def _dtype(torch_: ModuleType, precision: str) -> torch.dtype:
    return torch_.bfloat16 if precision == "bf16" else torch_.float16


def _lora_modules(model: Model, setup: TrainSetup) -> list[str]:
    arch = model.architecture
    assert arch is not None
    present = {m.target for m in matrices(arch)}
    chosen = [t for t in parse_targets(setup.targets) if t in present]
    return [name for t in chosen for name in HF_NAMES[t]]


def _quantize_linears(torch_: ModuleType, module: Any, device: str, dtype: torch.dtype) -> None:
    """Replace every nn.Linear but the LM head with an NF4 (double-quantized) Linear4bit."""
    bnb = _bnb()
    for name, child in list(module.named_children()):
        if isinstance(child, torch_.nn.Linear) and name != "lm_head":
            quant = bnb.nn.Linear4bit(
                child.in_features,
                child.out_features,
                bias=child.bias is not None,
                compute_dtype=dtype,
                compress_statistics=True,
                quant_type="nf4",
                device="meta",
            )
            weight = torch_.empty(child.weight.shape, device=device, dtype=dtype).normal_(0, 0.02)
            quant.weight = bnb.nn.Params4bit(
                weight, requires_grad=False, compress_statistics=True, quant_type="nf4"
            ).to(device)
            if child.bias is not None:
                quant.bias = torch_.nn.Parameter(torch_.zeros(child.out_features, device=device))
            setattr(module, name, quant)
        else:
            _quantize_linears(torch_, child, device, dtype)


def _materialize(torch_: ModuleType, model: Any, device: str) -> None:
    """Give the parameters still on the meta device random values on ``device``."""
    for module in model.modules():
        for name, param in list(module.named_parameters(recurse=False)):
            if param.device.type != "meta":
                continue
            fresh = torch_.empty(param.shape, device=device, dtype=param.dtype).normal_(0, 0.02)
            setattr(module, name, torch_.nn.Parameter(fresh, requires_grad=param.requires_grad))


def build_trainable(model: Model, setup: TrainSetup, device: str, layers: int | None) -> Any:
    """The transformers model of ``model`` with random weights, ready to train as ``setup``."""
    torch_, transformers, peft = _imports()
    if model.architecture is None:
        raise MeasureError(f"model {model.id!r} has no architecture in the catalog; cannot build")
    arch = measured_architecture(model.architecture, layers)
    dtype = _dtype(torch_, setup.precision)
    config = hf_config(arch)
    auto = transformers.AutoModelForCausalLM
    if setup.method == "qlora":
        if device != "cuda":
            raise MeasureError("--train qlora needs a CUDA GPU (bitsandbytes NF4 kernels)")
        with torch_.device("meta"):
            built = auto.from_config(config, dtype=dtype, attn_implementation="sdpa")
        _quantize_linears(torch_, built.model, device, dtype)
        _materialize(torch_, built, device)
        built = peft.prepare_model_for_kbit_training(built, use_gradient_checkpointing=False)
    else:
        with torch_.device(device):
            built = auto.from_config(config, dtype=dtype, attn_implementation="sdpa")
    if setup.method != "full":
        lora = peft.LoraConfig(
            r=setup.rank,
            lora_alpha=2 * setup.rank,
            lora_dropout=0.0,
            target_modules=_lora_modules(model, setup),
        )
        with warnings.catch_warnings():
            # peft 0.21 reads transformers 5's deprecated is_gradient_checkpointing alias
            warnings.simplefilter("ignore", FutureWarning)
            built = peft.get_peft_model(built, lora)
    return built


def _optimizer(torch_: ModuleType, params: list[Any], name: str, device: str) -> Any:
    if name == "adamw":
        return torch_.optim.AdamW(params, lr=1e-5, fused=device == "cuda")
    if name == "sgd":
        return torch_.optim.SGD(params, lr=1e-5)
    bnb = _bnb()
    cls = bnb.optim.PagedAdamW8bit if name == "paged-adamw-8bit" else bnb.optim.AdamW8bit
    return cls(params, lr=1e-5)


def _set_checkpointing(model: Any, on: bool) -> None:
    """Checkpoint every decoder layer (non-reentrant), as the HF Trainer's option does."""
    kwargs = {"use_reentrant": False}
    new = hasattr(model, "activation_checkpointing_enable")  # transformers 5 renamed them
    if on and new:
        model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
    elif on:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
    elif new:
        model.activation_checkpointing_disable()
    else:
        model.gradient_checkpointing_disable()
    if on and hasattr(model, "enable_input_require_grads"):
        model.enable_input_require_grads()


@contextmanager
def _point(torch_: ModuleType, device: str) -> Iterator[dict[str, str]]:
    failure: dict[str, str] = {}
    gc.collect()
    if device == "cuda":
        torch_.cuda.empty_cache()
    try:
        yield failure
    except torch_.OutOfMemoryError as exc:
        failure["error"] = f"out of memory: {str(exc).splitlines()[0]}"
    except RuntimeError as exc:
        failure["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"


def _tensor_bytes(model: Any, optimizer: Any) -> int:
    """Bytes of parameters, gradients and optimizer states (the CPU 'peak': no activations)."""
    total = 0
    for p in model.parameters():
        total += p.numel() * p.element_size()
        if p.grad is not None:
            total += p.grad.numel() * p.grad.element_size()
    for state in optimizer.state.values():
        total += sum(v.numel() * v.element_size() for v in state.values() if hasattr(v, "numel"))
    return total


class _Trainer:
    """One model, one optimizer, stepped over the grid's points."""

    def __init__(self, model: Any, setup: TrainSetup, device: str) -> None:
        self.torch, _, _ = _imports()
        self.model, self.setup, self.device = model, setup, device
        trainable = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = _optimizer(self.torch, trainable, setup.optimizer, device)
        self.vocab = model.config.vocab_size

    def _step(self, tokens: Any) -> None:
        autocast = self.torch.autocast(self.device, dtype=_dtype(self.torch, self.setup.precision))
        with autocast if self.setup.method != "full" else nullcontext():
            loss = self.model(input_ids=tokens, labels=tokens).loss
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

    def _sync(self) -> None:
        if self.device == "cuda":
            self.torch.cuda.synchronize()

    def point(self, seq_len: int, batch: int, ckpt: bool, grid: TrainGrid) -> TrainPoint:
        torch_ = self.torch
        with _point(torch_, self.device) as failure:
            _set_checkpointing(self.model, ckpt)
            self.model.train()
            gen = torch_.Generator(device=self.device).manual_seed(0)
            shape = (batch, seq_len)
            tokens = torch_.randint(self.vocab, shape, device=self.device, generator=gen)
            for _ in range(grid.warmup):
                self._step(tokens)
            self._sync()
            if self.device == "cuda":
                torch_.cuda.reset_peak_memory_stats()
            start = time.perf_counter()
            for _ in range(grid.repeats):
                self._step(tokens)
            self._sync()
            ms = (time.perf_counter() - start) * 1e3 / grid.repeats
            allocated, reserved = self._peaks()
            return TrainPoint(
                seq_len=seq_len,
                micro_batch=batch,
                grad_ckpt=ckpt,
                peak_allocated_gib=allocated,
                peak_reserved_gib=reserved,
                step_ms=ms,
                tokens_per_s=seq_len * batch * 1e3 / ms,
            )
        return TrainPoint(seq_len=seq_len, micro_batch=batch, grad_ckpt=ckpt, **failure)

    def _peaks(self) -> tuple[float, float | None]:
        if self.device == "cuda":
            cuda = self.torch.cuda
            return cuda.max_memory_allocated() / GIB, cuda.max_memory_reserved() / GIB
        return _tensor_bytes(self.model, self.optimizer) / GIB, None


def _device(torch_: ModuleType, device: str | None) -> str:
    cuda = torch_.cuda.is_available()
    if device is None:
        return "cuda" if cuda else "cpu"
    if device not in ("cuda", "cpu"):
        raise MeasureError(f"--device {device!r}: choose cuda or cpu")
    if device == "cuda" and not cuda:
        raise MeasureError("--device cuda: torch sees no CUDA device; use --device cpu")
    return device


def _timing_basis(device: str, grid: TrainGrid) -> str:
    clock = "CUDA-synchronized wall clock" if device == "cuda" else "wall clock"
    memory = (
        "torch.cuda max_memory_allocated / max_memory_reserved"
        if device == "cuda"
        else "tensor bytes of weights, gradients and optimizer states (no activations on CPU)"
    )
    return (
        f"forward + backward + optimizer step, {grid.warmup} untimed then mean of "
        f"{grid.repeats} ({clock}); memory: {memory}"
    )


def measure_training(
    model: Model,
    catalog: Catalog,
    setup: TrainSetup,
    grid: TrainGrid,
    device: str | None = None,
    layers: int | None = None,
    out: Path | None = None,
    console: Console | None = None,
) -> tuple[TrainCalibration, Path]:
    """Train ``model`` (random weights) over ``grid``; save and return the calibration."""
    from modelyard.measure.run import _device_facts

    setup.check()
    torch_, _, _ = _imports()
    where = _device(torch_, device)
    built = build_trainable(model, setup, where, layers)
    trainer = _Trainer(built, setup, where)
    weights = torch_.cuda.memory_allocated() / GIB if where == "cuda" else None
    points = _run(trainer, grid, console or Console(stderr=True))
    arch = model.architecture
    assert arch is not None
    facts = _device_facts(torch_, where, catalog)
    cal = TrainCalibration(
        model_id=model.id,
        method=setup.method,
        versions=_versions(),
        model_layers=arch.num_hidden_layers,
        layers=layers or arch.num_hidden_layers,
        rank=setup.rank if setup.method != "full" else 0,
        targets=list(parse_targets(setup.targets)) if setup.method != "full" else [],
        optimizer=setup.optimizer,
        precision=setup.precision,
        device=where,
        device_name=facts["device_name"] or where,
        gpu_id=facts["gpu_id"],
        date=dt.datetime.now(dt.UTC).replace(microsecond=0),
        params=sum(p.numel() for p in built.parameters()),
        trainable=sum(p.numel() for p in built.parameters() if p.requires_grad),
        weights_gib=weights
        if weights is not None
        else _tensor_bytes(built, trainer.optimizer) / GIB,
        timing_basis=_timing_basis(where, grid),
        points=points,
    )
    return cal, save_train_calibration(cal, out)


def _run(trainer: _Trainer, grid: TrainGrid, console: Console) -> list[TrainPoint]:
    grid_points = [
        (s, b, c) for c in grid.checkpointing for s in grid.seq_lens for b in grid.micro_batches
    ]
    points = []
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("train", total=len(grid_points))
        for seq_len, batch, ckpt in grid_points:
            label = f"{batch}×{seq_len:,}" + (" ckpt" if ckpt else "")
            bar.update(task, description=f"train {label}")
            points.append(trainer.point(seq_len, batch, ckpt, grid))
            bar.advance(task)
    return points
