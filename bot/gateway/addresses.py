"""The shopper's address: ``X-Forwarded-For`` only when the direct peer is a trusted proxy."""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
from typing import Optional, Sequence

from aiohttp import web

from bot.core.settings import IPNetwork


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
