"""What the bench sends: prompts from a file (JSONL or an eval suite) or synthetic ones.

Token counts prefer the server's ``usage``; before a request is sent (synthetic sizing, servers
that report no usage) they come from a local ``tokenizer.json`` when given, else from an estimate
of four characters per token, and every result says which was used.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from modelyard.errors import MissingExtraError, YardError

CHARS_PER_TOKEN = 4.0
"""The estimate when no tokenizer is at hand (English text; code and CJK differ)."""
_VOCABULARY = (
    "time year people way day man thing woman life child world school state family student group "
    "country problem hand part place case week company system program question work government "
    "number night point home water room mother area money story fact month lot right study book "
    "eye job word business issue side kind head house service friend father power hour game line"
)
_WORDS = _VOCABULARY.split()


@dataclass(frozen=True)
class Prompt:
    """One request body's varying part."""

    messages: list[dict[str, str]]
    max_tokens: int
    input_tokens: int
    """Local count of the prompt's tokens (see ``TokenCounter.source``)."""


@dataclass(frozen=True)
class TokenCounter:
    """Counts tokens of text, with ``source`` saying how: ``tokenizer`` or ``estimate``."""

    count: Callable[[str], int]
    source: str


def token_counter(tokenizer: Path | None = None) -> TokenCounter:
    """A local Hugging Face ``tokenizer.json`` when given, else the chars/4 estimate.

    Raises:
        YardError: the tokenizer file is missing or unreadable.
        MissingExtraError: the ``tokenizers`` package is not installed.
    """
    if tokenizer is None:
        return TokenCounter(lambda text: max(1, round(len(text) / CHARS_PER_TOKEN)), "estimate")
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise MissingExtraError("tokenizers", "bench", "--tokenizer") from None
    try:
        tok = Tokenizer.from_file(str(tokenizer))
    except Exception as exc:  # tokenizers raises a bare Exception on bad files
        raise YardError(
            f"{tokenizer}: not a tokenizer.json ({exc}); give the file from the model repo"
        ) from None
    return TokenCounter(
        lambda text: len(tok.encode(text, add_special_tokens=False).ids), "tokenizer"
    )


def synthetic_prompts(
    n: int, input_tokens: int, output_tokens: int, counter: TokenCounter, seed: int = 0
) -> list[Prompt]:
    """``n`` prompts of about ``input_tokens`` tokens each, each starting differently.

    The unique start keeps a prefix cache from serving one prompt's work to the next.
    """
    rng = random.Random(seed)
    prompts = []
    for i in range(n):
        text = _sized_text(f"Request {i}: write a long story using these words:", rng, input_tokens)
        messages = [{"role": "user", "content": text}]
        prompts.append(Prompt(messages, output_tokens, counter.count(text)))
    return prompts


def _sized_text(head: str, rng: random.Random, tokens: int) -> str:
    """``head`` plus random words up to about ``tokens`` tokens (a word ≈ 1.3 tokens)."""
    words = [rng.choice(_WORDS) for _ in range(max(0, round(tokens / 1.3) - 10))]
    return " ".join([head, *words])


def load_prompts(path: Path, output_tokens: int, counter: TokenCounter) -> list[Prompt]:
    """Prompts from a JSONL file or an eval suite (YAML/JSON with ``items``).

    Each line or item gives ``prompt``, ``messages`` (OpenAI chat turns) or ``text``, and may
    give its own ``max_tokens``.

    Raises:
        YardError: the file is missing, unreadable, or holds no usable prompt.
    """
    if not path.is_file():
        raise YardError(f"--prompts {path}: file not found")
    entries = _read_entries(path)
    prompts = [_prompt(where, e, output_tokens, counter) for where, e in entries]
    if not prompts:
        raise YardError(f"{path}: no prompts in it; write one JSON object per line with 'prompt'")
    return prompts


def _read_entries(path: Path) -> list[tuple[str, Any]]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        lines = enumerate(text.splitlines(), 1)
        return [(f"{path}:{i}", _json_line(path, i, line)) for i, line in lines if line.strip()]
    try:
        data = yaml.safe_load(text)  # YAML is a superset of JSON
    except yaml.YAMLError as exc:
        raise YardError(f"{path}: not YAML/JSON ({exc}); give a .jsonl or a suite file") from None
    items = data.get("items") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise YardError(f"{path}: expected a list of items (or a suite with 'items:')")
    return [(f"{path}: items[{i}]", item) for i, item in enumerate(items)]


def _json_line(path: Path, number: int, line: str) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise YardError(f"{path}:{number}: not JSON ({exc.msg})") from None


def _prompt(where: str, entry: Any, output_tokens: int, counter: TokenCounter) -> Prompt:
    if not isinstance(entry, dict):
        raise YardError(f"{where}: expected an object with 'prompt' or 'messages'")
    messages = entry.get("messages")
    text = entry.get("prompt", entry.get("text"))
    if messages is None and isinstance(text, str):
        messages = [{"role": "user", "content": text}]
    if not isinstance(messages, list) or not messages:
        raise YardError(f"{where}: no 'prompt', 'text' or 'messages'; add one of them")
    joined = "\n".join(str(m.get("content", "")) for m in messages if isinstance(m, dict))
    max_tokens = int(entry.get("max_tokens") or output_tokens)
    return Prompt(messages, max_tokens, counter.count(joined))
