"""The shopper's address: ``X-Forwarded-For`` only when the direct peer is a trusted proxy."""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import time
from typing import Optional, Sequence

from aiohttp import web

from bot.core.settings import IPNetwork

logger = logging.getLogger(__name__)


def _ip(text: str) -> Optional[ipaddress._BaseAddress]:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def _trusted(address: Optional[ipaddress._BaseAddress], proxies: Sequence[IPNetwork]) -> bool:
    return address is not None and any(address.version == net.version and address in net for net in proxies)


def client_address(request: web.Request, trusted_proxies: Sequence[IPNetwork]) -> str:
    """The client address of ``request``.

    The socket peer, unless the peer is a trusted proxy: then the right-most ``X-Forwarded-For``
    entry that is not itself a trusted proxy (entries left of it could be forged by the client).
    """
    peername = request.transport.get_extra_info("peername") if request.transport is not None else None
    peer = peername[0] if isinstance(peername, (tuple, list)) and peername else (request.remote or "unknown")
    if not trusted_proxies or not _trusted(_ip(peer), trusted_proxies):
        return peer
    hops = [h for part in request.headers.getall("X-Forwarded-For", []) for h in part.split(",")]
    for hop in reversed(hops):
        address = _ip(hop)
        if address is None:
            break  # garbage: do not look further left
        if not _trusted(address, trusted_proxies):
            return str(address)
    return peer


def address_group(address: str) -> str:
    """The unit address limits count: an IPv4 address, or the /64 network of an IPv6 address (one
    subscriber usually holds a whole /64); anything unreadable as itself."""
    ip = _ip(address)
    if ip is None:
        return address
    if ip.version == 6:
        mapped = ip.ipv4_mapped  # type: ignore[union-attr]
        if mapped is not None:
            return str(mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def client_hash(session_secret: str, address: str) -> str:
    """Hex HMAC-SHA256 of the client address keyed with the session secret (metadata ``client``)."""
    return hmac.new(session_secret.encode("utf-8"), address.encode("utf-8"), hashlib.sha256).hexdigest()


class ForwardingWatch:
    """Notices requests that carry ``X-Forwarded-For`` from a peer that is not a trusted proxy.

    Behind a proxy with no ``TRULYBOT_TRUSTED_PROXIES`` every shopper seems to come from the proxy's
    address, so per-address limits would treat them as one. The first such request is logged as an
    error; ``/health`` reports :attr:`warning` (without failing) from then on.
    """

    def __init__(self) -> None:
        self.first_seen: Optional[float] = None
        self.requests = 0

    def note(self, request: web.Request, trusted_proxies: Sequence[IPNetwork]) -> None:
        """Look at one request's headers."""
        if "X-Forwarded-For" not in request.headers:
            return
        peername = request.transport.get_extra_info("peername") if request.transport is not None else None
        peer = peername[0] if isinstance(peername, (tuple, list)) and peername else (request.remote or "")
        if trusted_proxies and _trusted(_ip(peer), trusted_proxies):
            return
        self.requests += 1
        if self.first_seen is None:
            self.first_seen = time.time()
            logger.error(
                "requests carry X-Forwarded-For but their peer is not a trusted proxy: every shopper behind "
                "that proxy shares one address for rate limits and lookup lockouts. Set TRULYBOT_TRUSTED_PROXIES "
                "to the proxy's address (docs/deployment.md)."
            )

    @property
    def warning(self) -> Optional[str]:
        """The text ``/health`` shows, once such a request was seen."""
        if self.first_seen is None:
            return None
        return (f"{self.requests} request(s) carried X-Forwarded-For from an untrusted peer: "
                "set TRULYBOT_TRUSTED_PROXIES to the proxy's address")


def startup_warning(host: str, trusted_proxies: Sequence[IPNetwork]) -> Optional[str]:
    """A warning for start-up when the service listens publicly and trusts no proxy."""
    if trusted_proxies:
        return None
    ip = _ip(host)
    if ip is not None and ip.is_loopback:
        return None
    return (f"TRULYBOT_TRUSTED_PROXIES is not set while listening on {host}: behind a load balancer or proxy, "
            "every shopper would share the proxy's address for rate limits and lookup lockouts")


#: the application's :class:`ForwardingWatch`
FORWARDING = web.AppKey("forwarding_watch", ForwardingWatch)
