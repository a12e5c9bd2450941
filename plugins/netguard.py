"""Where store calls may connect: public addresses only, checked on the resolved address.

A store URL names a host; what matters is the address the socket connects to. :class:`GuardedResolver`
filters every DNS answer through an :class:`AddressPolicy` at connect time (so a name that resolves,
or later re-resolves, to a private address is refused), and :func:`check_literal_host` does the same
for IP literals, which aiohttp connects to without asking the resolver.

Refused: loopback, private (RFC 1918, unique-local), link-local, carrier-grade NAT (100.64.0.0/10),
multicast, unspecified, reserved and documentation ranges, and IPv6 forms that embed one of those
IPv4 addresses (IPv4-mapped, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``). The one allowance is a
loopback address at a port the policy lists: the store emulators of demo mode and of tests.
"""
from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, Iterable, List, Optional, Union

from aiohttp.abc import AbstractResolver
from aiohttp.resolver import DefaultResolver

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SIXTOFOUR = ipaddress.ip_network("2002::/16")
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)


#: Name suffixes that only resolve on local networks (mDNS, internal zones).
PRIVATE_SUFFIXES = (".local", ".internal", ".lan", ".home.arpa", ".localdomain")


class AddressRefused(OSError):
    """A store host resolved to an address store calls may not reach."""


def embedded_ipv4(ip: IPAddress) -> Optional[ipaddress.IPv4Address]:
    """The IPv4 address an IPv6 address carries (mapped, NAT64 or 6to4), else None."""
    if ip.version != 6:
        return None
    assert isinstance(ip, ipaddress.IPv6Address)
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _SIXTOFOUR:
        return ip.sixtofour
    return None


def is_public_address(ip: IPAddress) -> bool:
    """True when ``ip`` is a globally routed unicast address (see the module docstring)."""
    inner = embedded_ipv4(ip)
    if inner is not None:
        return is_public_address(inner)
    if ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return False
    if ip.version == 4 and ip in _CGNAT:
        return False
    return ip.is_global


def is_loopback_address(ip: IPAddress) -> bool:
    """True for 127.0.0.0/8, ::1 and IPv4-mapped loopback."""
    inner = embedded_ipv4(ip)
    return (inner or ip).is_loopback


def is_numeric_host(host: str) -> bool:
    """True when ``host`` would be read as an IPv4 address by ``inet_aton`` or a resolver
    (``2130706433``, ``127.1``, ``0x7f000001``, ``0177.0.0.1``...): its last label is a number.
    No real top-level domain is numeric."""
    labels = host.rstrip(".").split(".")
    return bool(labels) and bool(_NUMERIC_LABEL.match(labels[-1]))


def canonical_ip(host: str) -> Optional[IPAddress]:
    """The address when ``host`` is an IP literal in canonical form (dotted quad, or IPv6 with or
    without brackets); None otherwise, including for non-canonical numeric spellings."""
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ip = ipaddress.ip_address(bare)
    except ValueError:
        return None
    if ip.version == 4 and str(ip) != bare:
        return None
    return ip


def private_host_reason(host: str, *, allow_loopback: bool) -> Optional[str]:
    """Why ``host`` (a URL's host name or IP literal) can never be a public address, else None.

    Refused: numeric hosts in unusual forms, IP literals that are not public, names under
    :data:`PRIVATE_SUFFIXES`, and ``localhost`` or loopback literals unless ``allow_loopback``.
    This is the text-level check made when a URL is saved; the address actually connected to is
    checked again by :class:`GuardedResolver` and :func:`check_literal_host`."""
    bare = host.strip("[]").lower()
    if not bare:
        return "has no host"
    loopback = bare == "localhost" or bare.endswith(".localhost")
    ip = canonical_ip(bare)
    if ip is not None:
        loopback = is_loopback_address(ip)
        if not loopback and not is_public_address(ip):
            return "is not a public internet address"
    elif is_numeric_host(bare):
        return "has a numeric host in an unusual form; write an IPv4 address as four decimal numbers"
    elif bare.rstrip(".").endswith(PRIVATE_SUFFIXES):
        return "is not a public internet address"
    if loopback and not allow_loopback:
        return "is not a public internet address"
    return None


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses store calls may connect to: public ones, plus loopback at ``loopback_ports``
    (or at any port with ``any_loopback_port``, for tests that start emulators on free ports)."""

    loopback_ports: FrozenSet[int] = frozenset()
    any_loopback_port: bool = False

    @classmethod
    def for_tests(cls) -> "AddressPolicy":
        """Loopback at any port (emulators on free ports) besides public addresses."""
        return cls(any_loopback_port=True)

    @classmethod
    def with_loopback_ports(cls, ports: Iterable[int]) -> "AddressPolicy":
        return cls(loopback_ports=frozenset(int(p) for p in ports))

    def permits(self, ip: IPAddress, port: Optional[int]) -> bool:
        """True when a store call may connect to ``ip`` at ``port``."""
        if is_public_address(ip):
            return True
        if is_loopback_address(ip):
            return self.any_loopback_port or (port is not None and port in self.loopback_ports)
        return False

    def check(self, ip: IPAddress, port: Optional[int]) -> None:
        """Raise :class:`AddressRefused` unless :meth:`permits`."""
        if not self.permits(ip, port):
            raise AddressRefused("the store address is not a public internet address")


def check_literal_host(policy: AddressPolicy, host: str, port: Optional[int]) -> None:
    """Refuse an IP-literal host the policy does not permit (names are left to the resolver)."""
    ip = canonical_ip(host)
    if ip is not None:
        policy.check(ip, port)


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that drops every answer the policy refuses; refuses the host when none is left.

    ``inner`` does the actual lookup (aiohttp's default resolver unless given; tests pass a stub).
    """

    def __init__(self, policy: AddressPolicy, inner: Optional[AbstractResolver] = None) -> None:
        self.policy = policy
        self.inner = inner if inner is not None else DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> List[Dict[str, Any]]:
        answers = await self.inner.resolve(host, port, family)
        allowed = []
        for answer in answers:
            try:
                ip = ipaddress.ip_address(str(answer.get("host", "")).split("%", 1)[0])
            except ValueError:
                continue
            if self.policy.permits(ip, port):
                allowed.append(answer)
        if not allowed:
            raise AddressRefused("the store address is not a public internet address")
        return allowed

    async def close(self) -> None:
        await self.inner.close()
