"""Build the privacy corpus: hand-written prompts (templates/*.yaml) with valid generated values,
placed in every field of an OpenAI request body and in obfuscated forms.

    python benchmarks/privacy/corpus.py          # writes corpus/dev.jsonl and corpus/heldout.jsonl

Each line: ``{"id", "split", "private", "kind", "lang", "field", "form", "values", "body"}``.
``values`` are the strings that must never reach a remote backend (for an obfuscated form, the
encoded text as it stands in the body). The build is seeded: running it again gives the same
files.
"""

from __future__ import annotations

import base64
import json
import random
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from values import (
    NBSP,
    amex,
    api_key,
    card,
    group,
    iban_value,
    national,
    phone,
    phone_text,
    spell,
)

HERE = Path(__file__).parent
Body = dict[str, Any]

# the canonical grouping of each identifier as it is printed on its documents
GROUPS: dict[str, tuple[list[int], str]] = {
    "us_ssn": ([3, 2], "-"),
    "us_itin": ([3, 2], "-"),
    "gb_nino": ([2, 2, 2, 2], " "),
    "gb_nhs": ([3, 3], " "),
    "es_dni": ([8], "-"),
    "es_nie": ([1, 7], "-"),
    "it_codicefiscale": ([6, 5, 4], " "),
    "cn_ric": ([6, 8], " "),
    "kr_rrn": ([6], "-"),
    "nl_bsn": ([4, 2], "."),
    "in_aadhaar": ([4, 4], " "),
    "de_idnr": ([2, 3, 3], " "),
    "fr_nir": ([1, 2, 2, 2, 3, 3], " "),
    "pl_pesel": ([11], ""),
    "se_personnummer": ([6], "-"),
    "dk_cpr": ([6], "-"),
    "fi_hetu": ([6], "-"),
    "pt_nif": ([3, 3], " "),
    "ch_ssn": ([3, 4, 4], "."),
    "ro_cnp": ([13], ""),
    "no_fodselsnummer": ([6], " "),
    "be_nn": ([2, 2, 2, 3], "."),
    "in_pan": ([10], ""),
}


def id_text(kind: str, compact: str, fmt: str) -> str:
    """An identifier written in format ``fmt``: canon, plain, spaces, dashes, dots or nbsp."""
    compact = compact.replace("-", "")
    if kind == "br_cpf" and fmt == "canon":
        return f"{compact[:3]}.{compact[3:6]}.{compact[6:9]}-{compact[9:]}"
    sizes, sep = GROUPS.get(kind, ([3, 3, 3], " "))
    if fmt == "plain":
        return compact
    if fmt == "canon":
        return group(compact, sizes, sep)
    return group(compact, sizes, {"spaces": " ", "dashes": "-", "dots": ".", "nbsp": NBSP}[fmt])


NAMES = [
    "maria.keller",
    "j.nakamura",
    "leon.dubois",
    "sofia_rossi",
    "tkowalski",
    "ana.souza84",
    "minji.park",
    "oliver.grant",
    "chen.wei",
    "ivan.petrov",
    "lotte.bakker",
    "erik.holm",
]
DOMAINS = [
    "gmail.com",
    "web.de",
    "orange.fr",
    "yahoo.co.jp",
    "naver.com",
    "qq.com",
    "outlook.com",
    "libero.it",
    "uol.com.br",
    "ziggo.nl",
    "mail.ru",
    "proton.me",
]


def email(rng: random.Random, fmt: str) -> str:
    name, domain = rng.choice(NAMES), rng.choice(DOMAINS)
    if fmt == "obfuscated":
        return f"{name.replace('.', ' dot ')} [at] {domain.replace('.', ' dot ')}"
    return f"{name}@{domain}"


def grouped(value: str, fmt: str, sizes: list[int]) -> str:
    sep = {"spaces": " ", "dashes": "-", "dots": ".", "nbsp": NBSP, "plain": "", "amex": " "}[fmt]
    return group(value, sizes, sep)


def generate(rng: random.Random, spec: str) -> str:
    """A private value for ``spec`` (``kind[:arg][:format]``), written as people write it."""
    kind, *args = spec.split(":")
    if kind == "email":
        return email(rng, args[0] if args else "plain")
    if kind == "card":
        return grouped(card(rng), args[0], [4, 4, 4])
    if kind == "amex":
        return grouped(amex(rng), args[0], [4, 6])
    if kind == "iban":
        return grouped(iban_value(rng, args[0]), args[1], [4] * 8)
    if kind == "phone":
        return phone_text(phone(rng, args[0]), args[1])
    if kind == "id":
        return id_text(args[0], national(rng, args[0]), args[1])
    if kind == "key":
        return api_key(rng, args[0])
    raise ValueError(f"unknown generator {spec!r}")


def kind_of(template: dict[str, Any]) -> str:
    """The corpus kind of a template: its ``kind``, else from its generator."""
    if "kind" in template:
        return template["kind"]
    spec = template["gen"].split(":")
    if spec[0] == "id":
        return spec[1]
    return {"amex": "card", "key": "api_key"}.get(spec[0], spec[0])


# ---- placements: where in the request the private text goes --------------------------------


def _chat(*messages: Any, **extra: Any) -> Body:
    return {"model": "auto", "messages": list(messages), **extra}


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


ASK = _user("Please help with the above.")

PLACEMENTS: dict[str, Callable[[str], Body]] = {
    "user_content": lambda t: _chat(_user(t)),
    "system": lambda t: _chat({"role": "system", "content": t}, ASK),
    "content_parts": lambda t: _chat({"role": "user", "content": [{"type": "text", "text": t}]}),
    "tool_call_arguments": lambda t: _chat(
        _user("Look this up."),
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": json.dumps({"query": t})},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "no result"},
    ),
    "function_call_legacy": lambda t: _chat(
        _user("Save this."),
        {
            "role": "assistant",
            "content": None,
            "function_call": {"name": "save_note", "arguments": json.dumps({"note": t})},
        },
    ),
    "tool_description": lambda t: _chat(
        _user("Use the tool if needed."),
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "notify",
                    "description": t,
                    "parameters": {"type": "object", "properties": {}},
                },
            }
        ],
    ),
    "tool_parameters": lambda t: _chat(
        _user("Fill in the form."),
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "fill",
                    "parameters": {
                        "type": "object",
                        "properties": {"note": {"type": "string", "default": t}},
                    },
                },
            }
        ],
    ),
    "response_format": lambda t: _chat(
        _user("Answer in JSON."),
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "out", "schema": {"type": "object", "description": t}},
        },
    ),
    "user_field": lambda t: _chat(ASK, user=t),
    "metadata": lambda t: _chat(ASK, metadata={"note": t}),
    "stop": lambda t: _chat(ASK, stop=[t, "END"]),
    "prediction": lambda t: _chat(ASK, prediction={"type": "content", "content": t}),
    "message_name": lambda t: _chat({"role": "user", "name": t, "content": "Hello."}),
    "reasoning_content": lambda t: _chat(
        _user("Continue."), {"role": "assistant", "content": "Done.", "reasoning_content": t}
    ),
    "refusal_part": lambda t: _chat(
        _user("Why not?"),
        {"role": "assistant", "content": [{"type": "refusal", "refusal": t}]},
    ),
    "bare_string_message": lambda t: _chat(t),
    "content_object": lambda t: _chat({"role": "user", "content": {"text": t}}),
    "tool_result": lambda t: _chat(
        _user("Summarise the tool output."),
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c2", "type": "function", "function": {"name": "crm", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c2", "content": t},
    ),
    "completions_prompt": lambda t: {"model": "auto", "prompt": t},
    "completions_prompt_list": lambda t: {"model": "auto", "prompt": ["Note:", t]},
}


# ---- obfuscated forms -----------------------------------------------------------------------


def _split(text: str, value: str) -> tuple[Body, list[str]]:
    """The value cut in two halves at a separator, each half in its own user message."""
    cut = len(value) // 2
    while 0 < cut < len(value) and value[cut].isalnum():
        cut += 1
    head, tail = value[:cut].rstrip(), value[cut:].lstrip()
    before, _, after = text.partition(value)
    body = _chat(_user(before + head), _user(tail + after))
    return body, [head, tail]


def encode(form: str, text: str) -> str:
    if form == "base64":
        return base64.b64encode(text.encode()).decode()
    if form == "urlencoded":
        return urllib.parse.quote(text)
    if form == "hex":
        return text.encode().hex()
    raise ValueError(form)


FULLWIDTH = {ord(c): ord(c) - 0x30 + 0xFF10 for c in "0123456789"}


def obfuscate(form: str, text: str, value: str) -> tuple[str, list[str]]:
    """``text`` with ``value`` obfuscated; returns the text and what must not leak."""
    if form in ("base64", "hex"):
        blob = encode(form, text)
        lead = {"base64": "Decode this base64 and act on it: ", "hex": "hex payload: "}[form]
        return lead + blob, [blob]
    if form == "urlencoded":
        blob = encode(form, text)
        return f"GET /api/submit?data={blob} returned 500, why?", [blob]
    if form == "spelled":
        spelled = spell("".join(c for c in value if c.isdigit()))
        return text.replace(value, spelled), [spelled]
    if form == "fullwidth":
        wide = value.translate(FULLWIDTH)
        return text.replace(value, wide), [wide]
    if form == "zerowidth":
        hidden = "\u200b".join(value)
        return text.replace(value, hidden), [hidden]
    raise ValueError(form)


FORMS = ["base64", "urlencoded", "hex", "fullwidth", "zerowidth", "spelled"]
"""Obfuscations given to every third second copy of a generated dev prompt."""


def build(split: str, seed: int) -> list[dict[str, Any]]:
    spec = yaml.safe_load((HERE / "templates" / f"{split}.yaml").read_text())
    rng = random.Random(seed)
    fields = list(PLACEMENTS)
    items: list[dict[str, Any]] = []
    n = forms = 0
    for template in spec["private"]:
        copies = 2 if "gen" in template and split == "dev" and "form" not in template else 1
        for copy in range(copies):
            field = fields[n % len(fields)]
            n += 1
            form = None
            if copy == 1 and n % 3 == 0:
                form, forms = FORMS[forms % len(FORMS)], forms + 1
            items.append(_private(template, field, rng, split, len(items), form))
    for i, template in enumerate(spec["lookalike"]):
        field = fields[i % len(fields)] if i % 3 == 0 else "user_content"
        body = PLACEMENTS[field](template["text"])
        items.append(
            {
                "id": f"{split}-{len(items):03d}",
                "split": split,
                "private": False,
                "kind": "lookalike",
                "lang": template["lang"],
                "field": field,
                "form": "plain",
                "values": [],
                "body": body,
            }
        )
    return items


def _private(
    template: dict[str, Any],
    field: str,
    rng: random.Random,
    split: str,
    index: int,
    form: str | None = None,
) -> dict[str, Any]:
    text = template["text"]
    values = list(template.get("values", []))
    value = ""
    if "gen" in template:
        value = generate(rng, template["gen"])
        text = text.replace("{v}", value)
        values = [value]
    form = form or template.get("form", "plain")
    if form == "split":
        body, values = _split(text, value)
        field = "split_messages"
    else:
        if form != "plain":
            text, values = obfuscate(form, text, value)
        body = PLACEMENTS[field](text)
    return {
        "id": f"{split}-{index:03d}",
        "split": split,
        "private": True,
        "kind": kind_of(template),
        "lang": template["lang"],
        "field": field,
        "form": form,
        "values": values,
        "body": body,
    }


def main() -> None:
    out = HERE / "corpus"
    out.mkdir(exist_ok=True)
    for seed, split in enumerate(("dev", "heldout"), start=21):
        items = build(split, seed)
        with (out / f"{split}.jsonl").open("w") as f:
            for item in items:
                f.write(json.dumps(item, ensure_ascii=False) + "\n")
        private = sum(i["private"] for i in items)
        print(f"{split}: {len(items)} items, {private} private, {len(items) - private} look-alikes")


if __name__ == "__main__":
    main()
