"""What a key's checks answer when they refuse, in OpenAI's error schema: 403 for a model the
key may not use (or, for a private key, one that is not self-hosted), 429 for a spent budget or
a full rate window."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelyard.serve.errors import GatewayError

if TYPE_CHECKING:
    from modelyard.serve.keys import KeyInfo
    from modelyard.serve.limits import Refusal


def forbidden(info: KeyInfo, model: str) -> GatewayError:
    """The 403 for a key naming a model its allow-list does not hold."""
    allowed = ", ".join(info.models or ())
    return GatewayError(
        403,
        f"Key {info.name!r} may not use model {model!r}; it may use: {allowed}.",
        type="permission_error",
        param="model",
        code="model_not_allowed",
    )


def private_refusal(key_name: str, model: str, remote: list[str]) -> GatewayError:
    """The 403 for a private key naming a model that is not self-hosted (``remote`` backends)."""
    return GatewayError(
        403,
        f"Key {key_name!r} is private: model {model!r} is not self-hosted (remote backend "
        f"{', '.join(remote)}); ask for a self-hosted model or for 'auto'.",
        type="permission_error",
        param="model",
        code="model_not_self_hosted",
    )


def over_budget(info: KeyInfo, spent: float) -> GatewayError:
    """The 429 for a key whose budget is spent (or held by requests in flight)."""
    # OpenAI answers an exhausted quota with 429 insufficient_quota; its SDKs retry 429s
    # unless told not to, and no retry can help here
    per = {"daily": " per day (UTC)", "monthly": " per month (UTC)"}.get(
        info.budget_period or "", ""
    )
    held = "" if spent >= (info.budget_usd or 0) else " (with what requests in flight hold)"
    return GatewayError(
        429,
        f"Key {info.name!r} has spent ${spent:.4f} of its ${info.budget_usd:g}{per} budget"
        f"{held}; ask the operator for a new budget.",
        type="insufficient_quota",
        code="insufficient_quota",
        headers={"x-should-retry": "false"},
    )


def rate_limited(info: KeyInfo, refusal: Refusal) -> GatewayError:
    """The 429 for a key over its RPM or TPM, with when to retry."""
    return GatewayError(
        429,
        f"Rate limit reached for key {info.name!r}: {refusal.limit} {refusal.kind} per minute; "
        f"retry in {refusal.retry_after_header}s.",
        type=refusal.kind,
        code="rate_limit_exceeded",
        headers={
            "Retry-After": refusal.retry_after_header,
            "retry-after-ms": str(max(1, round(refusal.retry_after_s * 1000))),
        },
    )
