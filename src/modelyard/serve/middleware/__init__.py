"""Plain ASGI middleware; each passes scopes other than HTTP straight through."""

from modelyard.serve.middleware.body_limit import BodyLimitMiddleware
from modelyard.serve.middleware.client_address import ClientAddress
from modelyard.serve.middleware.errors import ErrorMiddleware
from modelyard.serve.middleware.failed_logins import FailedLoginMiddleware, LoginThrottle
from modelyard.serve.middleware.origin import OriginMiddleware

__all__ = [
    "BodyLimitMiddleware",
    "ClientAddress",
    "ErrorMiddleware",
    "FailedLoginMiddleware",
    "LoginThrottle",
    "OriginMiddleware",
]
