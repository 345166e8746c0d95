"""The client's address: the TCP peer, or behind a trusted load balancer its X-Forwarded-For.

A request from a peer listed in ``server.trusted_proxies`` is answered for the address that
proxy saw: X-Forwarded-For is read right to left, skipping trusted hops, and the first address
that is not a trusted proxy is the client (the standard *rightmost untrusted* rule). Everything
left of it was written by the client itself and is never believed, so a client cannot choose an
address. A header that is absent, or malformed where it is read, leaves the peer. With no trusted
proxies (the default) the header is not looked at.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Address, IPv6Network, ip_address

from modelyard.serve.types import Scope

UNKNOWN = "unknown"
"""The address of a request whose transport gives no peer (a Unix socket)."""
HEADER = b"x-forwarded-for"


class ClientAddress:
    """Resolves the client address of an HTTP scope.

    Args:
        trusted: Proxies whose X-Forwarded-For is believed; empty: always the TCP peer.
    """

    def __init__(self, trusted: Sequence[IPv4Network | IPv6Network] = ()) -> None:
        self.trusted = tuple(trusted)
        # parsing and matching cost microseconds; peers and hops repeat across requests
        self._hop = lru_cache(maxsize=4096)(self._classify)

    def __call__(self, scope: Scope) -> str:
        """The client address of ``scope``, as text."""
        peer = (scope.get("client") or (UNKNOWN,))[0]
        hop = self._hop(peer) if self.trusted else None
        if hop is None or not hop[1]:  # an untrusted peer is the client, whatever it forwards
            return peer
        return self._forwarded(scope["headers"]) or peer

    def _forwarded(self, headers: Iterable[tuple[bytes, bytes]]) -> str | None:
        """The rightmost untrusted hop; the leftmost when all are trusted; None if malformed."""
        hops = b",".join(value for name, value in headers if name == HEADER)
        address = None
        for text in reversed(hops.split(b",") if hops else ()):
            hop = self._hop(text.strip().decode("latin-1"))
            if hop is None:
                return None
            address, trusted = hop
            if not trusted:
                break
        return address

    def _classify(self, text: str) -> tuple[str, bool] | None:
        """``text`` as a normalized address and whether it is a trusted proxy; None if it is
        not an address (an IPv4-mapped IPv6 one counts as IPv4)."""
        try:
            ip = ip_address(text)
        except ValueError:
            return None
        ip = ip.ipv4_mapped or ip if isinstance(ip, IPv6Address) else ip
        return str(ip), any(ip in network for network in self.trusted)
