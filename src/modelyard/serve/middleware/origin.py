"""What a web page in a browser may ask of the gateway: nothing, unless its origin is listed.

- **Host (DNS rebinding).** A request on a loopback connection must name this machine in its
  Host header: ``localhost`` (or a ``*.localhost`` name), ``127.0.0.1`` or ``[::1]``, any port,
  or a name in ``server.allowed_hosts``. A page on ``evil.example`` whose name was rebound to
  127.0.0.1 sends ``Host: evil.example`` and gets 403: the class of Ollama's CVE-2024-28224.
  Connections to other addresses accept any Host (a balancer's name, say).
- **Origin (cross-site requests).** A request carrying an ``Origin`` header (browsers send one
  on every cross-origin request and on every POST), or marked ``Sec-Fetch-Site: cross-site``,
  is refused with 403 unless the origin is the gateway's own or listed in
  ``server.cors_origins``. A cross-site ``text/plain`` POST, which a browser sends without
  asking first, never reaches a handler.
- **CORS** for listed origins only: a preflight (``OPTIONS`` with
  ``Access-Control-Request-Method``) is answered 204, and responses carry
  ``Access-Control-Allow-Origin``.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import ip_address

from modelyard.serve.errors import GatewayError
from modelyard.serve.types import ASGIApp, Headers, Message, Receive, Scope, Send

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]"})
EXPOSED = b"x-request-id, x-yard-backend, x-yard-route, retry-after"
"""Response headers a listed origin's scripts may read."""
METHODS = b"GET, POST, DELETE, OPTIONS"
FOREIGN_HOST = ("this gateway answers only to its own names (localhost); add the name to "
                "server.allowed_hosts to use it")  # fmt: skip
FOREIGN_ORIGIN = ("requests from web pages of other origins are refused; list the origin in "
                  "server.cors_origins to allow it")  # fmt: skip


class OriginMiddleware:
    """Refuses foreign Host names on loopback and unlisted browser origins; CORS for listed ones.

    Args:
        app: The gateway.
        allowed_hosts: Further Host names for loopback connections (``*``: any); None: only
            this machine's names.
        cors_origins: Origins (``https://app.example.com``) that may call the API.
    """

    def __init__(
        self, app: ASGIApp, allowed_hosts: Sequence[str] | None, cors_origins: Sequence[str]
    ) -> None:
        self.app = app
        hosts = [h.lower() for h in allowed_hosts or ()]
        self.any_host = "*" in hosts
        self.hosts = LOOPBACK_NAMES | {_bracketed(h) for h in hosts}
        self.origins = frozenset(o.lower().rstrip("/").encode() for o in cors_origins)
        self._loopback: dict[str, bool] = {}
        self._hosts: dict[bytes, bool] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        host = origin = site = preflight = None
        for name, value in scope["headers"]:
            if name == b"host":
                host = value
            elif name == b"origin":
                origin = value
            elif name == b"sec-fetch-site":
                site = value
            elif name == b"access-control-request-method":
                preflight = value
        if not self.any_host and self._on_loopback(scope) and not self._own_host(host):
            raise _refusal("forbidden_host", FOREIGN_HOST)
        if origin is None and site != b"cross-site":
            return await self.app(scope, receive, send)
        origin = (origin or b"").lower()
        if origin not in self.origins:
            if origin and origin.split(b"//", 1)[-1] == (host or b"").lower():
                return await self.app(scope, receive, send)  # the gateway's own pages
            raise _refusal("forbidden_origin", FOREIGN_ORIGIN)
        if scope["method"] == "OPTIONS" and preflight is not None:
            return await _preflight(scope, origin, send)
        await self.app(scope, receive, _with_cors(send, origin))

    def _on_loopback(self, scope: Scope) -> bool:
        address = (scope.get("server") or ("",))[0] or ""
        found = self._loopback.get(address)
        if found is None:
            try:
                found = ip_address(address).is_loopback
            except ValueError:
                found = False  # a Unix socket: no browser reaches it by name
            if len(self._loopback) < 64:
                self._loopback[address] = found
        return found

    def _own_host(self, host: bytes | None) -> bool:
        if not host:
            return False
        known = self._hosts.get(host)
        if known is None:
            text = host.decode("latin-1").lower()
            name = text[: text.index("]") + 1] if text.startswith("[") and "]" in text else (
                text.rpartition(":")[0] if text.count(":") == 1 else text)  # fmt: skip
            known = name in self.hosts or name.endswith(".localhost")
            if len(self._hosts) < 256:  # clients repeat a few names; a scan of names is not kept
                self._hosts[host] = known
        return known


def _bracketed(host: str) -> str:
    """An IPv6 address as a Host header writes it."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _refusal(code: str, message: str) -> GatewayError:
    return GatewayError(403, message, "permission_error", code=code)


async def _preflight(scope: Scope, origin: bytes, send: Send) -> None:
    asked = next((v for k, v in scope["headers"] if k == b"access-control-request-headers"), b"")
    headers: Headers = [
        (b"access-control-allow-origin", origin),
        (b"access-control-allow-methods", METHODS),
        (b"access-control-allow-headers", asked or b"authorization, content-type"),
        (b"access-control-max-age", b"600"),
        (b"vary", b"origin"),
    ]
    await send({"type": "http.response.start", "status": 204, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


def _with_cors(send: Send, origin: bytes) -> Send:
    cors = [(b"access-control-allow-origin", origin), (b"access-control-expose-headers", EXPOSED),
            (b"vary", b"origin")]  # fmt: skip

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), *cors]
        await send(message)

    return sending
