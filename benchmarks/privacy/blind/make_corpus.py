"""Write the blind privacy corpus: fill each item's placeholders with valid numbers, place
it in the request field it names, and split the result at random into dev and test halves.

    .venv/bin/python benchmarks/privacy/blind/make_corpus.py

The output is deterministic for a given seed; the files are committed, so re-running is
only needed to check that they still match.
"""

from __future__ import annotations

import argparse
import inspect
import json
import random
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import ids  # noqa: E402
from items import Item  # noqa: E402
from items_lookalike import ITEMS as LOOKALIKES  # noqa: E402
from items_private import ITEMS as PRIVATE  # noqa: E402

PLACEHOLDER = re.compile(r"<<([^<>]+)>>")
SEED = 20261207


def _cast(fn: Any, args: list[str]) -> list[object]:
    params = list(inspect.signature(fn).parameters.values())[1:]
    return [int(a) if p.annotation == "int" else a for p, a in zip(params, args, strict=False)]


def _cut(value: str) -> int:
    """Where a person splitting the value in two would cut: the separator nearest the middle."""
    seps = [i for i, c in enumerate(value) if not c.isalnum()]
    mid = len(value) // 2
    return min(seps, key=lambda i: abs(i - mid)) if seps else mid


def _filter(value: str, name: str) -> str:
    compact = re.sub(r"[\s./-]", "", value)
    if name.startswith("grp:"):
        return ids.group(compact, [int(n) for n in name[4:].split(",")])
    table = {
        "nosep": compact,
        "space": value.replace("-", " "),
        "nbsp": value.replace(" ", "\u00a0"),
        "g4": ids.group(compact, [4] * 5),
        "dash4": ids.group(compact, [4] * 5, "-"),
        "amex": ids.group(compact, [4, 6, 5]),
        "lower": value.lower(),
        "head": value[: _cut(value)],
        "tail": value[_cut(value) + (not value[_cut(value)].isalnum()) :],
        "first3": compact[:3],
        "after3": compact[3:],
        "nie_dash": f"{compact[0]}-{compact[1:-1]}-{compact[-1]}",
        "nocc": value[2:],
    }
    return table[name]


class Filler:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.named: dict[str, str] = {}

    def fill(self, text: str) -> str:
        return PLACEHOLDER.sub(self._one, text)

    def _one(self, match: re.Match[str]) -> str:
        spec, _, filt = match.group(1).partition("|")
        if spec.startswith("="):
            value = self.named[spec[1:]]
        else:
            call, _, name = spec.partition("=")
            fn_name, *args = call.split(":")
            fn = getattr(ids, fn_name)
            value = fn(self.rng, *_cast(fn, args))
            if name:
                self.named[name] = value
        return _filter(value, filt) if filt else value


def _tool_call(name: str, arguments: str) -> dict[str, object]:
    return {"id": "call_1", "type": "function", "function": {"name": name, "arguments": arguments}}


def _tool_def(name: str) -> dict[str, object]:
    schema = {"type": "object", "properties": {}, "additionalProperties": True}
    return {"type": "function", "function": {"name": name, "parameters": schema}}


Message = dict[str, object]


def build_body(item: Item, fill: Filler) -> dict[str, object]:
    text = fill.fill(item.text) if item.text else ""
    user: Message = {"role": "user", "content": text}
    body: dict[str, object] = {"model": "auto"}
    messages: list[Message]
    if item.field == "user":
        messages = [user]
    elif item.field == "system_then_user":
        messages = [{"role": "system", "content": fill.fill(item.system or "")}, user]
    elif item.field == "parts":
        parts = [{"type": "text", "text": fill.fill(p)} for p in item.parts]
        messages = [{"role": "user", "content": [*parts, {"type": "text", "text": text}]}]
    elif item.field == "tool_args":
        call = _tool_call(item.tool or "", fill.fill(item.args or "{}"))
        messages = [
            user,
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": '{"status": "ok"}'},
        ]
        body["tools"] = [_tool_def(item.tool or "")]
    elif item.field == "tool_result":
        call = _tool_call("lookup", '{"id": 88123}')
        messages = [
            user,
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": fill.fill(item.result or "")},
        ]
        body["tools"] = [_tool_def("lookup")]
    elif item.field == "user_field":
        messages = [user]
        body["user"] = fill.fill(item.user or "")
    elif item.field == "metadata":
        messages = [user]
        body["metadata"] = json.loads(fill.fill(item.metadata or "{}"))
    elif item.field == "split":
        messages = []
        for i, turn in enumerate(item.turns):
            if i:
                messages.append({"role": "assistant", "content": "OK."})
            messages.append({"role": "user", "content": fill.fill(turn)})
    elif item.field == "history":
        first, reply = (fill.fill(t) for t in item.history)
        messages = [{"role": "user", "content": first}, {"role": "assistant", "content": reply}]
        messages.append(user)
    else:
        raise ValueError(f"unknown field {item.field!r}")
    body["messages"] = messages
    return body


def build(seed: int) -> list[dict[str, object]]:
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    for i, item in enumerate([*PRIVATE, *LOOKALIKES], start=1):
        row_id = f"{'p' if item.label == 'private' else 'l'}{i:03d}"
        body = build_body(item, Filler(rng))
        rows.append(
            {
                "id": row_id,
                "label": item.label,
                "kind": item.kind,
                "lang": item.lang,
                "field": item.field,
                "body": body,
            }
        )
    return rows


def split(rows: list[dict[str, object]], seed: int) -> tuple[list[dict[str, object]], ...]:
    order = list(range(len(rows)))
    random.Random(seed + 1).shuffle(order)
    dev_ids = set(order[: len(rows) // 2])
    dev = [r for i, r in enumerate(rows) if i in dev_ids]
    test = [r for i, r in enumerate(rows) if i not in dev_ids]
    return dev, test


def write(path: Path, rows: list[dict[str, object]]) -> None:
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--out", type=Path, default=HERE)
    ns = ap.parse_args()
    rows = build(ns.seed)
    dev, test = split(rows, ns.seed)
    write(ns.out / "dev.jsonl", dev)
    write(ns.out / "test.jsonl", test)
    n_priv = sum(r["label"] == "private" for r in rows)
    langs = len({r["lang"] for r in rows})
    print(f"{len(rows)} items ({n_priv} private, {len(rows) - n_priv} look-alikes, {langs} langs)")
    print(f"dev {len(dev)}, test {len(test)}")


if __name__ == "__main__":
    main()
