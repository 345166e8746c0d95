"""The catalog's data model: models, GPUs, API offers, licenses and sources.

Every field has a one-line docstring; these docstrings are the schema documentation
(docs/catalog.md). All models forbid unknown keys so a typo in a data file is an error.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from modelyard.strict import Strict

_EXPONENT = re.compile(r"[-+]?\d+(\.\d*)?[eE][-+]?\d+")


Modality = Literal["text", "image", "audio", "video"]
_TEXT_ONLY: list[Modality] = ["text"]
SourceKind = Literal["config", "model_card", "article", "vendor_page", "measurement", "derived"]


class Source(Strict):
    """Where facts come from. Referenced by id from every fact."""

    id: str
    """Short stable key, e.g. ``hf:meta-llama/Llama-3.1-8B-Instruct``."""
    kind: SourceKind
    """config (a vendor config.json), model_card, article, vendor_page, measurement or derived."""
    title: str
    """Human title: the article headline, the file path, the page name."""
    url: str | None = None
    """Where it can be read, when it has an address."""
    publisher: str | None = None
    """Site or organisation that published it."""
    date: dt.date | None = None
    """Publication or snapshot date."""
    note: str | None = None
    """Caveats about this source (known errors, what it covers)."""


class Ref(Strict):
    """A fact's provenance: a source id plus how sure we are."""

    source: str
    """Id of a Source in sources.yaml."""
    confidence: Literal["high", "medium", "low"] = "high"
    """high: vendor file; medium: consistent secondary source; low: an article's claim."""
    note: str | None = None
    """Anything the reader needs to judge this fact."""


# ---------------------------------------------------------------- architecture

LayerKind = Literal["G", "L"]


class MoE(Strict):
    """Mixture-of-experts fields, named as in config.json."""

    n_routed_experts: int
    """Routed experts per MoE layer (num_local_experts / num_experts / n_routed_experts)."""
    num_experts_per_tok: int
    """Routed experts each token activates (top-k)."""
    moe_intermediate_size: int
    """Hidden width of one routed expert's gated MLP."""
    n_shared_experts: int = 0
    """Always-active shared experts per MoE layer."""
    shared_expert_intermediate_size: int | None = None
    """Width of one shared expert; defaults to moe_intermediate_size."""
    first_k_dense_replace: int = 0
    """Leading layers that use a dense MLP instead of experts (DeepSeek)."""
    moe_layer_interval: int = 1
    """Every n-th layer is MoE, the rest dense (Maverick: 2; interleave_moe_layer_step)."""
    expert_bias: bool = False
    """Experts carry bias vectors (gpt-oss)."""
    router_bias: bool = False
    """The router linear layer has a bias (gpt-oss)."""


class MLA(Strict):
    """Multi-head latent attention fields (DeepSeek-V2/V3, Kimi K2)."""

    kv_lora_rank: int
    """Width of the compressed KV latent that the cache stores."""
    q_lora_rank: int | None
    """Width of the compressed query; null means queries are projected directly."""
    qk_rope_head_dim: int
    """Decoupled rotary key dims, stored once per token beside the latent."""
    qk_nope_head_dim: int
    """Per-head query/key dims without rotary embedding."""
    v_head_dim: int
    """Per-head value dims."""


class RopeScaling(Strict):
    """RoPE scaling a vendor documents for contexts beyond max_position_embeddings."""

    rope_type: Literal["yarn", "linear", "dynamic"]
    """Scaling method engines must be told to apply."""
    factor: float
    """Largest documented factor (original positions × factor = the longest context)."""
    original_max_position_embeddings: int
    """Positions the model was trained at before scaling."""
    ref: Ref
    """Where the vendor documents it (model card)."""


class Architecture(Strict):
    """Shape of the network as its config.json states it."""

    ref: Ref
    """The config.json (or equivalent) these numbers were read from."""
    model_type: str
    """config.json model_type (llama, qwen3_moe, deepseek_v3, gemma3_text, gpt_oss, ...)."""
    num_hidden_layers: int
    """Transformer blocks."""
    hidden_size: int
    """Residual stream width."""
    num_attention_heads: int
    """Query heads."""
    num_key_value_heads: int
    """KV heads (= heads for MHA, 1 for MQA; 1 latent for MLA)."""
    head_dim: int
    """Per-head dims (explicit in config where it differs from hidden/heads)."""
    intermediate_size: int
    """Dense MLP hidden width (dense layers of MoE models included)."""
    vocab_size: int
    """Embedding rows."""
    tie_word_embeddings: bool = False
    """The LM head reuses the input embedding matrix."""
    max_position_embeddings: int
    """Positions the config allows (may exceed the advertised context)."""
    model_max_length: int | None = None
    """config.json model_max_length where it exceeds max_position_embeddings (Cohere)."""
    rope_theta: float | None = None
    """RoPE base frequency (config rope_theta); needed when a recipe overrides RoPE settings."""
    long_context: RopeScaling | None = None
    """Scaling the vendor documents to reach the advertised context; off in config.json."""
    attention_bias: bool = False
    """q/k/v projections carry biases (Qwen2, gpt-oss)."""
    qk_norm: bool = False
    """Per-head RMSNorm on q and k (Qwen3, Gemma 3)."""
    mlp_gated: bool = True
    """Gated MLP (SwiGLU/GeGLU: three matrices); false means two matrices."""
    norms_per_layer: int = 2
    """RMSNorm/LayerNorm vectors per block (Gemma 2/3 use 4)."""
    moe: MoE | None = None
    """Present for mixture-of-experts models."""
    mla: MLA | None = None
    """Present for multi-head latent attention models."""
    sliding_window: int | None = None
    """Window (tokens) of local-attention layers; null if every layer attends globally."""
    local_attention: Literal["sliding", "chunked"] | None = None
    """How the local layers restrict attention: a sliding window or fixed chunks (Llama 4)."""
    layer_pattern: str | None = None
    """Repeating pattern of G (global) and L (local) layers from layer 0, e.g. 'LLLLLG'."""
    extra_params: int = 0
    """Parameters outside the formula (vision tower, MTP head, indexer), counted in totals."""
    extra_params_note: str | None = None
    """What extra_params holds."""

    @model_validator(mode="after")
    def _local_layers_consistent(self) -> Architecture:
        has_window = self.sliding_window is not None
        if has_window != (self.layer_pattern is not None) or has_window != (
            self.local_attention is not None
        ):
            raise ValueError("sliding_window, local_attention and layer_pattern go together")
        if self.layer_pattern and set(self.layer_pattern) - {"G", "L"}:
            raise ValueError("layer_pattern may hold only G and L")
        return self

    def layer_kinds(self) -> list[LayerKind]:
        """Kind of each layer: G attends to the whole context, L to the local window."""
        if not self.layer_pattern:
            return ["G"] * self.num_hidden_layers
        p = self.layer_pattern
        return [p[i % len(p)] for i in range(self.num_hidden_layers)]  # type: ignore[misc]

    def is_moe_layer(self, index: int) -> bool:
        """Whether layer ``index`` (0-based) uses experts."""
        if self.moe is None or index < self.moe.first_k_dense_replace:
            return False
        return (index + 1) % self.moe.moe_layer_interval == 0


# ---------------------------------------------------------------- claims

Metric = Literal[
    "mmlu",
    "mmlu_pro",
    "mmlu_multilingual",
    "gsm8k",
    "math",
    "math_500",
    "humaneval",
    "humaneval_plus",
    "mbpp",
    "gpqa_diamond",
    "livecodebench",
    "aime_2024",
    "aime_2025",
    "swe_bench_verified",
    "lmarena_elo",
    "tokens_per_s",
    "vram_gb",
    "context_window",
    "params_total",
    "params_active",
    "license",
    "monthly_cost_usd",
]


class Claim(Strict):
    """A figure somebody published: never a bare number."""

    metric: Metric
    """What was measured or stated."""
    value: float | str
    """The figure as published (percent for accuracy benchmarks, Elo, tok/s, ...)."""
    ref: Ref
    """Who said it, and how sure we are."""
    conditions: str | None = None
    """Setting of the figure: shots, thinking mode, GPU and engine for speeds, etc."""

    @field_validator("value", mode="before")
    @classmethod
    def _yaml_exponent_is_a_number(cls, value: object) -> object:
        # PyYAML reads 72e9 (no dot, unsigned exponent) as a string
        if isinstance(value, str) and _EXPONENT.fullmatch(value.strip()):
            return float(value)
        return value


class Param(Strict):
    """A published parameter count."""

    value: float
    """Parameters, absolute (8.03e9)."""
    ref: Ref
    """Where the figure is published."""
    includes_input_embedding: bool = True
    """Whether the published figure counts the input embedding (gpt-oss active counts do not)."""


# ---------------------------------------------------------------- licenses


class License(Strict):
    """A license's terms, as machine-checkable flags."""

    id: str
    """Short key used by models (mit, apache-2.0, llama3.1, gemma, cc-by-nc-4.0, ...)."""
    name: str
    """Full name."""
    spdx: str | None = None
    """SPDX identifier where one exists."""
    url: str | None = None
    """Where the text lives."""
    commercial_use: bool
    """Commercial use is allowed at all."""
    mau_cap: int | None = None
    """Monthly active users above which a separate license is required (Llama: 700M)."""
    attribution: str | None = None
    """Required attribution text or rule ("Built with Llama")."""
    restricts_training_other_models: bool = False
    """Outputs may not be used to improve other (non-family) models."""
    acceptable_use_policy: bool = False
    """Use is bound by a separate acceptable-use / prohibited-use policy."""
    osi_approved: bool = False
    """An OSI-approved open-source license."""
    ref: Ref
    """Where these terms were read."""


# ---------------------------------------------------------------- models


class Quantized(Strict):
    """A known quantized release of the model."""

    format: str
    """Quant format key (fp8, awq-int4, gptq-int4, mxfp4, gguf-q4_k_m, ...)."""
    repo: str | None = None
    """Where it is published (Hugging Face repo id or Ollama tag)."""
    official: bool = False
    """Released by the model vendor itself."""


class Capabilities(Strict):
    """What the model can do through a serving API."""

    tools: bool = False
    """Native tool / function calling."""
    json_mode: bool = False
    """Structured JSON output (through the engine's guided decoding at least)."""
    reasoning: bool = False
    """Produces a chain of thought before answering."""
    reasoning_toggle: bool = False
    """Thinking can be switched on and off per request."""
    vision: bool = False
    """Accepts images."""


class Model(Strict):
    """One model release (verified) or a model that only articles describe (unverified)."""

    id: str
    """Stable catalog id, lowercase (llama-3.1-8b-instruct)."""
    name: str
    """Display name."""
    family: str
    """Family key; equals the data file name (llama, qwen, deepseek, ...)."""
    vendor: str
    """Who released it."""
    verified: bool = True
    """False for a model no vendor config confirms; such entries hold claims only."""
    aliases: list[str] = Field(default_factory=list)
    """Other names people use (served names, Ollama names, article spellings)."""
    released: dt.date | None = None
    """Release date of the weights."""
    hf_repo: str | None = None
    """Hugging Face repo id."""
    ollama_tag: str | None = None
    """Ollama library tag."""
    license: str | None = None
    """License id (licenses.yaml)."""
    license_ref: Ref | None = None
    """Where the license was read (model card)."""
    languages: list[str] = Field(default_factory=list)
    """ISO 639-1 codes the vendor states as supported."""
    modalities: list[Modality] = Field(default_factory=lambda: _TEXT_ONLY.copy())
    """Input modalities."""
    capabilities: Capabilities = Field(default_factory=Capabilities)
    """Serving capabilities."""
    context_window: int | None = None
    """Advertised context length in tokens (vendor's figure)."""
    context_ref: Ref | None = None
    """Where the context window was stated."""
    architecture: Architecture | None = None
    """Network shape; required for verified models."""
    params_total: Param | None = None
    """Published total parameter count."""
    params_active: Param | None = None
    """Published active parameters per token (MoE)."""
    quantized: list[Quantized] = Field(default_factory=list)
    """Known quantized variants."""
    claims: list[Claim] = Field(default_factory=list)
    """Benchmark, speed and other published figures, each with its source."""
    notes: str | None = None
    """Anything else a user should know (caveats, article errors)."""

    @model_validator(mode="after")
    def _verified_needs_facts(self) -> Model:
        if self.verified:
            missing = [
                name
                for name in ("architecture", "params_total", "license", "context_window")
                if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(f"verified model lacks {', '.join(missing)}")
        elif self.architecture is not None:
            raise ValueError("an unverified model holds claims only, not an architecture")
        return self

    @property
    def is_moe(self) -> bool:
        return self.architecture is not None and self.architecture.moe is not None


# ---------------------------------------------------------------- hardware


class Price(Strict):
    """An hourly rental price for one GPU."""

    usd_per_hour: float
    """Dollars per GPU-hour."""
    provider: str
    """Cloud or marketplace (RunPod, AWS, Lambda, ...)."""
    tier: Literal["on_demand", "spot", "reserved", "community"] = "on_demand"
    """Pricing tier."""
    ref: Ref
    """Where the price was read, with its date."""


class GPU(Strict):
    """An accelerator (or a CPU / unified-memory machine) the planner can size for."""

    id: str
    """Stable id (h100-sxm, a100-80g-pcie, rtx-4090, apple-m3-max-128g, cpu)."""
    name: str
    """Display name."""
    vendor: Literal["nvidia", "amd", "apple", "intel", "generic"]
    """Maker."""
    memory_gib: float
    """Memory available to the device in GiB (usable, as nvidia-smi reports it)."""
    memory_marketing_gb: float | None = None
    """Memory as marketed (80 GB, 141 GB), for display."""
    bandwidth_gbps: float
    """Peak memory bandwidth in GB/s (decimal)."""
    bf16_tflops: float | None = None
    """Dense BF16/FP16 tensor TFLOPS (no sparsity)."""
    fp8_tflops: float | None = None
    """Dense FP8 TFLOPS (no sparsity); null where unsupported."""
    int8_tops: float | None = None
    """Dense INT8 TOPS (no sparsity)."""
    interconnect: str | None = None
    """Multi-GPU link (NVLink 900 GB/s, PCIe Gen5, Infinity Fabric)."""
    unified_memory: bool = False
    """Memory is shared with the CPU (Apple, CPU-only); only part is usable by the model."""
    usable_fraction: float = 1.0
    """Share of memory_gib a model may use (Apple default working set ~0.75)."""
    match: list[str] = Field(default_factory=list)
    """Regular expressions (case-insensitive) matching names tools report (nvidia-smi)."""
    aliases: list[str] = Field(default_factory=list)
    """Short names users type (h100, 4090, a100-80g)."""
    spec_ref: Ref
    """Datasheet the memory/bandwidth/TFLOPS come from."""
    prices: list[Price] = Field(default_factory=list)
    """Rental prices, each dated and sourced."""


class ApiOffer(Strict):
    """A per-token API price for a model (proprietary or a hosted open model)."""

    id: str
    """Stable id (openai/gpt-4o, together/llama-3.3-70b)."""
    provider: str
    """Who sells it (OpenAI, Anthropic, Google, DeepSeek, Together, Groq, Fireworks, DeepInfra)."""
    model_name: str
    """The provider's model name as its API expects it."""
    model_id: str | None = None
    """Catalog model id when it is an open model we also catalog."""
    input_per_mtok: float
    """USD per 1M input tokens."""
    cached_input_per_mtok: float | None = None
    """USD per 1M cached input tokens, where the provider discounts cache hits."""
    output_per_mtok: float
    """USD per 1M output tokens."""
    context_window: int | None = None
    """Context length the API serves."""
    open_weights: bool = False
    """The model's weights are downloadable (hosted open model)."""
    base_url: str | None = None
    """OpenAI-compatible endpoint of the provider, when it has one."""
    ref: Ref
    """Price source with date."""
