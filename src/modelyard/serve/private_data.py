"""The gateway's privacy step: scan each request once, on the body it will send, and decide.

``PrivateData.check`` scans the request (in a worker thread when it is large, so the event
loop keeps serving), picks the mode (the strictest of the key's, the model's and the
gateway's ``private_data``; ``local`` when none is set) and, for a private request:

- ``local``: only self-hosted backends may see it (a 400 naming the kinds when the model has
  none);
- ``redact``: remote backends get a copy with typed placeholders (``<EMAIL_1>``), and the values
  are put back into the answer, streamed or not;
- ``block``: a 400 naming the kinds, unless every backend it could reach is self-hosted.

Nothing here keeps a detected value: the verdict holds kinds and the reason, and the ledger
gets those (request bodies only when prompt logging is on).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from modelyard.privacy import STRICTNESS, Budget, Mode, Redacted, Restorer, Scan, Scanner, redact
from modelyard.privacy.ner import Detector, detector
from modelyard.serve.backends import Backend
from modelyard.serve.config import PrivacyConfig
from modelyard.serve.errors import GatewayError
from modelyard.serve.sse import SEP

DEFAULT_MODE: Mode = "local"
log = logging.getLogger("modelyard.serve")


@dataclass(frozen=True)
class Verdict:
    """What the scan found in one request and what the gateway does about it."""

    scan: Scan
    mode: Mode
    redacted: Redacted | None = None
    """The body remote backends get (``redact`` mode, private request), else None."""

    @property
    def private(self) -> bool:
        return self.scan.private

    @property
    def kinds(self) -> list[str]:
        return self.scan.kinds

    def routing_kinds(self) -> tuple[str, ...]:
        """The kinds that keep a request on self-hosted backends (none once redacted)."""
        return tuple(self.kinds) if self.private and self.redacted is None else ()

    def summary(self) -> dict[str, Any]:
        """For the ledger: mode, kinds and why; never a value."""
        return {
            "mode": self.mode,
            "kinds": self.kinds,
            "reason": self.scan.reason(),
            "scan_ms": self.scan.elapsed_ms,
        }

    def note(self) -> str:
        """One line for a named model's route reason ('' when the request is not private)."""
        if not self.private:
            return ""
        return f"{self.scan.reason()}; private_data: {self.mode}"

    def chain(self, chain: Sequence[Backend], model: str) -> list[Backend]:
        """The backends a private request to ``model`` may reach, or a 400 naming the kinds."""
        if not self.private or self.redacted is not None:
            return list(chain)
        local = [b for b in chain if b.config.local]
        if self.mode == "block" and len(local) < len(chain):
            raise refusal(self, f"model {model!r} has remote backends")
        if not local:
            raise refusal(self, f"model {model!r} has no self-hosted backend")
        return local

    def check_auto(self, any_local: bool, all_local: bool, model: str) -> None:
        """A 400 naming the kinds when `auto` cannot take this private request at all."""
        if not self.private or self.redacted is not None:
            return
        if self.mode == "block" and not all_local:
            raise refusal(self, f"{model!r} routes to remote models")
        if not any_local:
            raise refusal(self, f"{model!r} has no self-hosted candidate")

    def restorer(self, backend: Backend) -> Restorer | None:
        """Puts the values back into the answer of ``backend`` when it got placeholders."""
        if self.redacted is None or backend.config.local:
            return None
        return self.redacted.restorer()


NOT_SCANNED = Verdict(Scan(), DEFAULT_MODE)
"""The verdict of a gateway without a privacy step (nothing found, nothing changed)."""


def restore_body(restorer: Restorer, body: bytes) -> bytes:
    """A JSON answer with the values back in place of the placeholders (as is when not JSON)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return restorer.text(body.decode("utf-8", "replace")).encode()
    return orjson.dumps(restorer.restore_json(data))


def refusal(verdict: Verdict, why: str) -> GatewayError:
    """The 400 for a private request the mode forbids sending; kinds, never values."""
    return GatewayError(
        400,
        f"request holds private data ({', '.join(verdict.kinds)}) and private_data is "
        f"{verdict.mode}: {why}",
        code="private_data",
    )


class PrivateData:
    """The privacy step of one gateway: settings and scanner."""

    def __init__(self, config: PrivacyConfig) -> None:
        self.config = config
        budget = Budget(config.scan_budget_ms, config.scan_budget_ms_per_mb)
        self.scanner = Scanner(budget)
        self._naming: Scanner | None = None
        self._named = threading.Lock()

    def mode(self, model: str, key_mode: Mode | None) -> Mode:
        """The strictest mode set for this key, model and gateway (``local`` if none)."""
        modes = [
            m
            for m in (key_mode, self.config.models.get(model), self.config.private_data)
            if m is not None
        ]
        return max(modes, key=STRICTNESS.__getitem__) if modes else DEFAULT_MODE

    async def check(
        self, payload: dict[str, Any], model: str, key_mode: Mode | None, size: int
    ) -> Verdict:
        """Scan ``payload`` (as it will be sent) and decide; a body of more than
        ``offload_chars`` (``size``: its length as received) is scanned off the event loop."""
        scan = (
            await asyncio.to_thread(self.scanner.scan_body, payload)
            if size > self.config.offload_chars
            else self.scanner.scan_body(payload)
        )
        mode = self.mode(model, key_mode)
        if mode != "redact" or not scan.private:
            return Verdict(scan, mode)
        if scan.findings and self.config.ner:
            scan = await asyncio.to_thread(self._with_names, payload, scan)
        if scan.unread is not None:
            return Verdict(scan, "local")  # what could not be read cannot be redacted
        return Verdict(scan, mode, redact(payload, scan))

    def _with_names(self, payload: dict[str, Any], scan: Scan) -> Scan:
        """The scan again with the NER model (names around what the rules found, for
        redaction only: it never changes whether a request is private); the model loads on
        the first redacted request, in this worker thread. Without the model: ``scan``."""
        with self._named:
            if self._naming is None:
                ner = _ner()
                self._naming = Scanner(self.scanner.budget, extra=ner) if ner else self.scanner
        return scan if self._naming is self.scanner else self._naming.scan_body(payload)


def _ner() -> Detector | None:
    found = detector()
    if found is None:
        log.warning(
            "privacy: no NER model installed (pip install 'modelyard[ner]'): in redact mode, "
            "names are found by rules only"
        )
    return found


class StreamRestorer:
    """Restores values in an SSE stream of chat or completion chunks, event by event; a
    placeholder cut between two chunks is held back until it is whole."""

    def __init__(self, restorer: Restorer) -> None:
        self.restorer = restorer

    def feed(self, events: bytes) -> bytes:
        """Whole SSE events in (``SseRelay`` output), the same events with values restored."""
        if not events:
            return events
        out = []
        for event in events.split(SEP)[:-1]:
            out.append(self._event(event) + SEP)
        return b"".join(out)

    def _event(self, event: bytes) -> bytes:
        head, sep, data = event.partition(b"data:")
        if not sep:
            return event
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            return event
        if not isinstance(chunk, dict) or not isinstance(chunk.get("choices"), list):
            return head + sep + b" " + orjson.dumps(self.restorer.restore_json(chunk))
        choices = [self._choice(c) for c in chunk["choices"]]
        return head + sep + b" " + orjson.dumps({**chunk, "choices": choices})

    def _choice(self, choice: Any) -> Any:
        if not isinstance(choice, dict):
            return choice
        index = choice.get("index", 0)
        if isinstance(choice.get("text"), str):
            return {**choice, "text": self._text((index, "text"), choice["text"], choice)}
        delta = choice.get("delta")
        if not isinstance(delta, dict):
            return choice
        new = dict(delta)
        for field in ("content", "reasoning_content", "refusal"):
            if isinstance(delta.get(field), str):
                new[field] = self._text((index, field), delta[field], choice)
        if isinstance(delta.get("tool_calls"), list):
            new["tool_calls"] = [self._call(index, c, choice) for c in delta["tool_calls"]]
        return {**choice, "delta": new}

    def _call(self, index: int, call: Any, choice: dict[str, Any]) -> Any:
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("arguments"), str):
            return call
        where = (index, "tool", call.get("index", 0))
        return {**call, "function": {**fn, "arguments": self._text(where, fn["arguments"], choice)}}

    def _text(self, where: tuple[Any, ...], text: str, choice: dict[str, Any]) -> str:
        """Restored text that can go out now; all of it once the choice has finished."""
        out = self.restorer.stream(where, text)
        if choice.get("finish_reason"):
            out += self.restorer.flush().get(where, "")
        return out

    def tail(self) -> bytes:
        """An event with whatever is still held back (a stream that ended without a finishing
        chunk), or nothing."""
        held = self.restorer.flush()
        if not held:
            return b""
        choices: dict[int, dict[str, Any]] = {}
        for where, text in held.items():
            index, field = where[0], where[1]
            choice = choices.setdefault(index, {"index": index, "delta": {}})
            if field == "text":
                choice["text"] = text
            elif field == "tool":
                call = {"index": where[2], "function": {"arguments": text}}
                choice["delta"].setdefault("tool_calls", []).append(call)
            else:
                choice["delta"][field] = text
        chunk = {"object": "chat.completion.chunk", "choices": list(choices.values())}
        return b"data: " + orjson.dumps(chunk) + SEP
