"""Training recipes for a fine-tune plan: Axolotl YAML, Unsloth and TRL scripts, torchtune.

Each recipe carries exactly the settings the plan assumed (method, rank, targets, sequence
length, micro-batch, accumulation, checkpointing, optimizer, precision, sharding), so what
runs is what was sized. Dataset paths are placeholders the user fills in.
"""

from __future__ import annotations

import json

from modelyard.catalog.lora import HF_NAMES, matrices
from modelyard.catalog.schema import Model
from modelyard.plan.finetune import FinetuneSpec
from modelyard.plan.recipes import Recipe

_HF_OPTIM = {
    "adamw": "adamw_torch_fused",
    "adamw-8bit": "adamw_bnb_8bit",
    "paged-adamw-8bit": "paged_adamw_8bit",
    "sgd": "sgd",
}
_TORCHTUNE_OPTIM = {
    "adamw": "torch.optim.AdamW",
    "adamw-8bit": "bitsandbytes.optim.AdamW8bit",
    "paged-adamw-8bit": "bitsandbytes.optim.PagedAdamW8bit",
    "sgd": "torch.optim.SGD",
}
_DEEPSPEED = {
    "zero2": "deepspeed_configs/zero2.json",
    "zero3": "deepspeed_configs/zero3_bf16.json",
}


def _repo(model: Model) -> str:
    return model.hf_repo or model.id


def target_modules(model: Model, spec: FinetuneSpec) -> list[str]:
    """Hugging Face module names for the plan's targets that the model has."""
    present = {m.target for m in matrices(model.architecture)} if model.architecture else set()
    return [name for t in spec.targets if t in present for name in HF_NAMES[t]]


def _alpha(spec: FinetuneSpec) -> int:
    return 2 * spec.rank


def axolotl(model: Model, spec: FinetuneSpec, gpus: int) -> Recipe:
    """An Axolotl config; `axolotl train config.yaml` (with accelerate for several GPUs)."""
    lines = [f"base_model: {_repo(model)}"]
    if spec.method == "qlora":
        lines += ["load_in_4bit: true", "adapter: qlora"]
    elif spec.method == "lora":
        lines.append("adapter: lora")
    if spec.method != "full":
        lines += [
            f"lora_r: {spec.rank}",
            f"lora_alpha: {_alpha(spec)}",
            "lora_dropout: 0.0",
            f"lora_target_modules: {json.dumps(target_modules(model, spec))}",
        ]
    ckpt = {"none": "false", "full": "true", "offload": "offload"}[spec.grad_ckpt]
    lines += [
        "datasets:",
        "  - path: ./data/train.jsonl  # your data",
        "    type: chat_template",
        f"sequence_len: {spec.seq_len}",
        "sample_packing: true",
        f"micro_batch_size: {spec.micro_batch}",
        f"gradient_accumulation_steps: {spec.grad_accum}",
        f"num_epochs: {spec.epochs:g}",
        f"optimizer: {_HF_OPTIM[spec.optimizer]}",
        f"learning_rate: {2e-5 if spec.method == 'full' else 2e-4}",
        f"{spec.precision}: true",
        f"gradient_checkpointing: {ckpt}",
        "flash_attention: true",
        "output_dir: ./outputs/" + model.id,
    ]
    lines += _axolotl_sharding(spec, gpus)
    command = "axolotl train config.yaml"
    if gpus > 1:
        command = f"accelerate launch --num_processes {gpus} -m axolotl.cli.train config.yaml"
    text = "\n".join(lines) + f"\n# then: {command}\n"
    return Recipe("axolotl", "Axolotl", text, "config.yaml")


def _axolotl_sharding(spec: FinetuneSpec, gpus: int) -> list[str]:
    if gpus == 1 or spec.sharding == "ddp":
        return []
    if spec.sharding == "fsdp":
        lines = [
            "fsdp: [full_shard, auto_wrap]",
            "fsdp_config:",
            "  fsdp_auto_wrap_policy: TRANSFORMER_BASED_WRAP",
            "  fsdp_state_dict_type: FULL_STATE_DICT",
        ]
        if spec.cpu_offload:
            lines.append("  fsdp_offload_params: true")
        return lines
    if spec.cpu_offload:
        return ["deepspeed: deepspeed_configs/zero3_bf16_cpuoffload_all.json"]
    return [f"deepspeed: {_DEEPSPEED[spec.sharding]}"]


def _sft_config(spec: FinetuneSpec, indent: str) -> str:
    args = [
        f"max_length={spec.seq_len}",
        "packing=True",
        f"per_device_train_batch_size={spec.micro_batch}",
        f"gradient_accumulation_steps={spec.grad_accum}",
        f"num_train_epochs={spec.epochs:g}",
        f"optim={_HF_OPTIM[spec.optimizer]!r}",
        f"learning_rate={2e-5 if spec.method == 'full' else 2e-4}",
        f"{spec.precision}=True",
        f"gradient_checkpointing={spec.grad_ckpt != 'none'}",
        "output_dir='outputs'",
    ]
    return ",\n".join(indent + a for a in args)


def unsloth(model: Model, spec: FinetuneSpec) -> Recipe:
    """A Python script for Unsloth (single GPU)."""
    ckpt = {"none": "False", "full": "True", "offload": '"unsloth"'}[spec.grad_ckpt]
    peft = ""
    if spec.method != "full":
        peft = (
            "model = FastLanguageModel.get_peft_model(\n"
            f"    model, r={spec.rank}, lora_alpha={_alpha(spec)}, lora_dropout=0,\n"
            f"    target_modules={target_modules(model, spec)!r},\n"
            f"    use_gradient_checkpointing={ckpt},\n)\n"
        )
    text = (
        "from unsloth import FastLanguageModel\n"
        "from datasets import load_dataset\n"
        "from trl import SFTConfig, SFTTrainer\n\n"
        "model, tokenizer = FastLanguageModel.from_pretrained(\n"
        f"    {_repo(model)!r}, max_seq_length={spec.seq_len},\n"
        f"    load_in_4bit={spec.method == 'qlora'}, full_finetuning={spec.method == 'full'},\n"
        ")\n"
        f"{peft}"
        'dataset = load_dataset("json", data_files="data/train.jsonl", split="train")\n'
        "trainer = SFTTrainer(\n"
        "    model=model, processing_class=tokenizer, train_dataset=dataset,\n"
        f"    args=SFTConfig(\n{_sft_config(spec, ' ' * 8)},\n    ),\n)\n"
        "trainer.train()\n"
    )
    return Recipe("unsloth", "Unsloth", text, "train_unsloth.py")


def trl(model: Model, spec: FinetuneSpec, gpus: int) -> Recipe:
    """A TRL SFTTrainer script (PEFT LoRA, bitsandbytes 4-bit for QLoRA)."""
    quant = ""
    if spec.method == "qlora":
        quant = (
            "    quantization_config=BitsAndBytesConfig(\n"
            '        load_in_4bit=True, bnb_4bit_quant_type="nf4",\n'
            "        bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=torch.bfloat16,\n"
            "    ),\n"
        )
    peft = "None"
    if spec.method != "full":
        peft = (
            f"LoraConfig(r={spec.rank}, lora_alpha={_alpha(spec)}, lora_dropout=0.0,\n"
            f"                      target_modules={target_modules(model, spec)!r})"
        )
    dtype = "bfloat16" if spec.precision == "bf16" else "float16"
    text = (
        "import torch\nfrom datasets import load_dataset\nfrom peft import LoraConfig\n"
        "from transformers import AutoModelForCausalLM, BitsAndBytesConfig\n"
        "from trl import SFTConfig, SFTTrainer\n\n"
        "model = AutoModelForCausalLM.from_pretrained(\n"
        f"    {_repo(model)!r}, dtype=torch.{dtype},\n"
        '    attn_implementation="sdpa",\n'
        f"{quant})\n"
        'dataset = load_dataset("json", data_files="data/train.jsonl", split="train")\n'
        "trainer = SFTTrainer(\n"
        "    model=model, train_dataset=dataset,\n"
        f"    peft_config={peft},\n"
        f"    args=SFTConfig(\n{_sft_config(spec, ' ' * 8)},\n    ),\n)\n"
        "trainer.train()\n"
    )
    if gpus > 1:
        text += f"# run: accelerate launch --num_processes {gpus} train_trl.py\n"
    return Recipe("trl", "TRL SFTTrainer", text, "train_trl.py")


def torchtune(model: Model, spec: FinetuneSpec, gpus: int) -> Recipe:
    """`tune run` with overrides of the closest shipped config (check its model component)."""
    kind = {"full": "full", "lora": "lora", "qlora": "qlora"}[spec.method]
    distributed = gpus > 1
    recipe = ("full_finetune" if spec.method == "full" else "lora_finetune") + (
        "_distributed" if distributed else "_single_device"
    )
    config = f"<family>/<size>_{kind}{'' if distributed else '_single_device'}"
    overrides = [
        f"batch_size={spec.micro_batch}",
        f"gradient_accumulation_steps={spec.grad_accum}",
        f"epochs={spec.epochs:g}",
        f"tokenizer.max_seq_len={spec.seq_len}",
        "dataset.packed=True",
        f"optimizer._component_={_TORCHTUNE_OPTIM[spec.optimizer]}",
        f"dtype={spec.precision}",
        f"enable_activation_checkpointing={spec.grad_ckpt != 'none'}",
        f"enable_activation_offloading={spec.grad_ckpt == 'offload'}",
    ]
    if spec.method != "full":
        overrides += [f"model.lora_rank={spec.rank}", f"model.lora_alpha={_alpha(spec)}"]
    if distributed and spec.cpu_offload:
        overrides.append("fsdp_cpu_offload=True")
    launch = f"tune run --nproc_per_node {gpus} " if distributed else "tune run "
    text = (
        f"# pick the config for {model.name} from `tune ls` ({config})\n"
        f"{launch}{recipe} --config {config} \\\n  " + " \\\n  ".join(overrides)
    )
    return Recipe("torchtune", "torchtune", text)


def training_recipes(model: Model, spec: FinetuneSpec, gpus: int) -> list[Recipe]:
    """Every framework's recipe for the plan (Unsloth only on one GPU)."""
    found = [axolotl(model, spec, gpus), trl(model, spec, gpus), torchtune(model, spec, gpus)]
    if gpus == 1:
        found.insert(1, unsloth(model, spec))
    return found
