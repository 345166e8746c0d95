"""What a request must be before it goes upstream: a JSON object naming a model, no upstream of
its own, streaming only where the endpoint streams, ``max_tokens`` within the model's context,
tools only to backends that take them, embeddings only from backends that serve them. The
request schema itself is ``validate.py``'s."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from modelyard.serve.errors import GatewayError

if TYPE_CHECKING:
    from modelyard.serve.backends import Backend
    from modelyard.serve.routes import Endpoint, GatewayState

URL_FIELDS = ("api_base", "base_url", "api_key", "azure_endpoint", "api_version", "upstream_url")
"""Fields some gateways obey to pick an upstream; refused here (SSRF, key theft)."""


def parse_request(body: bytes) -> dict[str, Any]:
    """The body as a JSON object with a model, or a 400 that says why not."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise GatewayError(
            400, f"request body is not valid JSON: {exc}", code="invalid_json"
        ) from None
    if not isinstance(payload, dict):
        raise GatewayError(400, "request body must be a JSON object", code="invalid_json")
    if not isinstance(payload.get("model"), str) or not payload["model"]:
        raise GatewayError(400, "you must provide a model parameter (a string)", param="model")
    for field in URL_FIELDS:
        if field in payload:
            raise GatewayError(
                400, f"'{field}' is not accepted: the gateway's config chooses upstreams and keys",
                param=field, code="forbidden_parameter",
            )  # fmt: skip
    return payload


def check_stream(payload: dict[str, Any], endpoint: Endpoint) -> None:
    if payload.get("stream") and not endpoint.can_stream:
        raise GatewayError(400, f"{endpoint.name} does not stream", param="stream")


def check_max_tokens(payload: dict[str, Any], window: int | None) -> None:
    """``max_tokens`` within the model's context window (when known)."""
    for field in ("max_tokens", "max_completion_tokens"):
        asked = payload.get(field)
        if window and isinstance(asked, int) and asked > window:
            raise GatewayError(400, f"{field} is too large: {asked}. This model's context "
                               f"window is {window} tokens.", param=field)  # fmt: skip


def tool_takers(chain: list[Backend], payload: dict[str, Any], model: str) -> list[Backend]:
    """The backends of ``chain`` that can take the request's tools: a local engine whose chat
    template has none would drop them silently, so it is skipped, or the request refused.

    Raises:
        GatewayError: 400 ``tools_not_supported``: no backend of the chain takes tools.
    """
    if not (payload.get("tools") or payload.get("functions")):
        return chain
    takers = [b for b in chain if b.tools is not False]
    if not takers:
        raise GatewayError(
            400, f"model {model!r} cannot call tools: its local engine's chat template has no "
            "tool support; send the request without tools, or to another model", param="tools",
            code="tools_not_supported",
        )  # fmt: skip
    return takers


def check_embeddings(chain: list[Backend], model: str) -> None:
    """Some backend of the chain serves embeddings (a local engine started without them
    cannot)."""
    if all(b.config.kind == "local" and not b.config.embeddings for b in chain):
        raise GatewayError(
            400, f"model {model!r} does not serve embeddings: its local engine was started "
            "without them (set embeddings: true on its backend)", param="model",
            code="embeddings_not_supported",
        )  # fmt: skip


def unknown_model(model: str, state: GatewayState) -> GatewayError:
    """The 404 OpenAI answers for a model it does not serve, listing ours."""
    served = ", ".join(sorted(state.models.objects))
    return GatewayError(
        404, f"The model '{model}' does not exist on this gateway; it serves: {served}",
        param="model", code="model_not_found",
    )  # fmt: skip
