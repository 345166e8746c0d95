"""POST /v1/feedback: a caller's verdict on one of its own answers, kept beside the ledger, and
the label rows `yard route train --from-ledger` builds from it.

A body is ``{"request_id": "01J…", "score": 0.8}`` (a number in [0, 1]) or ``"thumbs": "up" |
"down"`` (1 or 0), with an optional ``"comment"`` (at most MAX_COMMENT characters); the request
id is the ``x-request-id`` the gateway answered with. A gateway with keys needs one (the call
counts in the key's rate limits), and feedback counts only for a request made with the same key:
the row records the key, and the labels join on it. The answer never says whether another key's
request exists: ``recorded`` when the caller's own request is already in the ledger, else
``accepted`` (the ledger writes in batches, so a request a moment old may not be there yet).

Label rows need the prompt, so only requests logged with ``server.log_prompts`` become labels.
"""

from __future__ import annotations

import asyncio
import math
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from modelyard.route.features import content_text
from modelyard.serve.errors import GatewayError
from modelyard.serve.ledger import utc_now
from modelyard.serve.middleware.request_id import new_id
from modelyard.serve.responses import send_json
from modelyard.serve.routes import GatewayState, authenticate
from modelyard.serve.types import Receive, Scope, Send

MAX_BODY = 16_384
MAX_COMMENT = 2_000
MAX_ID = 64
THUMBS = {"up": 1.0, "down": 0.0}
WRITERS = 4
"""Feedback rows written at once per worker (event loop); more wait their turn."""
_writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


@runtime_checkable
class HasEngine(Protocol):
    """The ledger as opened by the gateway: its database engine."""

    engine: Engine


@dataclass(frozen=True)
class Feedback:
    """One verdict, as stored."""

    request_id: str
    score: float
    comment: str | None


def parse(body: bytes) -> Feedback:
    """The verdict in a request body.

    Raises:
        GatewayError: 400 naming the field that is missing or wrong.
    """
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise GatewayError(400, f"request body is not valid JSON: {exc}",
                           code="invalid_json") from None  # fmt: skip
    if not isinstance(data, dict):
        raise _bad("the body must be a JSON object", None)
    request_id = data.get("request_id")
    if not isinstance(request_id, str) or not 0 < len(request_id) <= MAX_ID:
        raise _bad("'request_id' must be the x-request-id of an answer", "request_id")
    comment = data.get("comment")
    if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_COMMENT):
        raise _bad(f"'comment' must be text of at most {MAX_COMMENT} characters", "comment")
    return Feedback(request_id, _score(data), comment)


def _score(data: dict[str, Any]) -> float:
    score, thumbs = data.get("score"), data.get("thumbs")
    if (score is None) == (thumbs is None):
        raise _bad("give 'score' (0 to 1) or 'thumbs' ('up' or 'down'), not both", "score")
    if thumbs is not None:
        if thumbs not in THUMBS:
            raise _bad("'thumbs' must be 'up' or 'down'", "thumbs")
        return THUMBS[thumbs]
    number = float(score) if isinstance(score, int | float) and not isinstance(score, bool) else -1
    if not (math.isfinite(number) and 0.0 <= number <= 1.0):
        raise _bad("'score' must be a number from 0 to 1", "score")
    return number


def _bad(message: str, param: str | None) -> GatewayError:
    return GatewayError(400, message, param=param, code="invalid_feedback")


async def read_limited(receive: Receive, limit: int = MAX_BODY) -> bytes:
    """The request body, refused with 413 once it passes ``limit`` bytes."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if len(body) > limit:
            raise GatewayError(413, f"a feedback body holds at most {limit:,} bytes",
                               code="body_too_large")  # fmt: skip
        if not message.get("more_body"):
            return body


async def feedback(state: GatewayState, scope: Scope, receive: Receive, send: Send) -> None:
    """POST /v1/feedback (module docstring)."""
    key = authenticate(state, scope)
    verdict = parse(await read_limited(receive))
    ledger = state.ledger
    if not isinstance(ledger, HasEngine):
        raise GatewayError(503, "feedback is kept in the ledger, and this gateway has none",
                           "server_error", code="no_ledger")  # fmt: skip
    key_id = key.id if key is not None else None
    writers = _writers.setdefault(asyncio.get_running_loop(), asyncio.Semaphore(WRITERS))
    async with writers:
        row_id, known = await asyncio.to_thread(store, ledger.engine, verdict, key_id)
    status = "recorded" if known else "accepted"
    await send_json(send, 201 if known else 202,
                    {"id": row_id, "request_id": verdict.request_id, "score": verdict.score,
                     "status": status})  # fmt: skip


def _requests() -> sa.TableClause:
    return sa.table("requests", *(sa.column(c) for c in (
        "id", "key_id", "requested_model", "served_model", "cost_usd", "prompt_tokens",
        "completion_tokens", "request_json", "status")))  # fmt: skip


def _feedback() -> sa.TableClause:
    return sa.table("feedback", *(sa.column(c) for c in (
        "id", "request_id", "key_id", "score", "comment", "created_utc")))  # fmt: skip


def store(engine: Engine, verdict: Feedback, key_id: str | None) -> tuple[str, bool]:
    """Insert one feedback row; whether the caller's own request is in the ledger already."""
    row_id = new_id()
    requests = _requests()
    same_key = requests.c.key_id.is_(None) if key_id is None else requests.c.key_id == key_id
    with engine.begin() as conn:
        conn.execute(sa.insert(_feedback()).values(
            id=row_id, request_id=verdict.request_id, key_id=key_id, score=verdict.score,
            comment=verdict.comment, created_utc=utc_now()))  # fmt: skip
        found = conn.execute(
            sa.select(requests.c.id).where(requests.c.id == verdict.request_id, same_key)
        ).first()
    return row_id, found is not None


def label_rows(engine: Engine) -> list[dict[str, Any]]:
    """One label row per answered, prompt-logged request that got feedback from the key that
    made it (the latest verdict wins), in the format `yard route train` reads."""
    requests, notes = _requests(), _feedback()
    same_key = sa.or_(
        requests.c.key_id == notes.c.key_id,
        sa.and_(requests.c.key_id.is_(None), notes.c.key_id.is_(None)),
    )
    query = (
        sa.select(requests, notes.c.score, notes.c.created_utc)
        .join(notes, sa.and_(notes.c.request_id == requests.c.id, same_key))
        .where(requests.c.request_json.is_not(None), requests.c.status == 200)
        .order_by(notes.c.created_utc)
    )
    latest: dict[str, dict[str, Any]] = {}
    with engine.connect() as conn:
        for row in conn.execute(query).mappings():
            label = _label(row)
            if label is not None:
                latest[row["id"]] = label
    return list(latest.values())


def _label(row: Any) -> dict[str, Any] | None:
    """A label row for one request and its verdict; None when its body holds no messages."""
    messages = _messages(row["request_json"])
    if messages is None:
        return None
    model = row["served_model"] or row["requested_model"]
    out: dict[str, Any] = {"id": row["id"], "messages": messages, "labels": {model: row["score"]},
                           "source": "feedback"}  # fmt: skip
    if row["cost_usd"] is not None:
        out["costs"] = {model: row["cost_usd"]}
    if row["prompt_tokens"] is not None:
        out["input_tokens"] = row["prompt_tokens"]
    if row["completion_tokens"] is not None:
        out["output_tokens"] = {model: row["completion_tokens"]}
    return out


def _logged(engine: Engine, limit: int | None = None) -> list[Any]:
    """Id and body of the prompt-logged, answered requests, newest first."""
    requests = _requests()
    query = (
        sa.select(requests.c.id, requests.c.request_json)
        .where(requests.c.request_json.is_not(None), requests.c.status == 200)
        .order_by(requests.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        return list(conn.execute(query).mappings())


def _messages(request_json: str) -> list[Any] | None:
    """The chat messages of a logged request body (a completions prompt as one user turn)."""
    try:
        body = orjson.loads(request_json)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("messages"), list):
        return body["messages"]
    prompt = body.get("prompt")
    return [{"role": "user", "content": prompt}] if isinstance(prompt, str) else None


def logged_prompts(engine: Engine, limit: int | None = None) -> list[dict[str, Any]]:
    """The prompt-logged, answered chat requests as `yard eval` suite items (id = request id,
    the messages as role and text, graded by the ``judge`` scorer), newest first, so the
    candidates can be scored on the team's own traffic."""
    items = []
    for row in _logged(engine, limit):
        messages = _messages(row["request_json"]) or []
        turns = [{"role": str(m.get("role")), "content": content_text(m.get("content"))}
                 for m in messages if isinstance(m, dict)]  # fmt: skip
        if turns:
            items.append({"id": row["id"], "messages": turns, "scorer": "judge"})
    return items


def ledger_labels(
    engine: Engine, evaluated: Sequence[dict[str, Any]]
) -> tuple[list[dict[str, Any]], int]:
    """Label rows from the gateway's traffic: every prompt-logged request with feedback (the
    model that answered, scored by its caller), merged by request id with `yard eval` label
    rows of logged prompts (every evaluated model's score, ``evaluated``); where both score a
    model, the caller's verdict stands. Also returns how many evaluated rows matched no logged
    request (skipped)."""
    rows = {r["id"]: r for r in label_rows(engine)}
    prompts = {r["id"]: m for r in _logged(engine) if (m := _messages(r["request_json"]))}
    unmatched = 0
    for scored in evaluated:
        request_id = str(scored.get("id"))
        if request_id not in prompts:
            unmatched += 1
            continue
        row = rows.setdefault(request_id, {"id": request_id, "messages": prompts[request_id],
                                           "labels": {}, "source": "eval"})  # fmt: skip
        row["labels"] = {**scored.get("labels", {}), **row["labels"]}
        if scored.get("responses"):
            row["responses"] = {**scored["responses"], **row.get("responses", {})}
    return list(rows.values()), unmatched
