"""Free TCP ports on loopback."""
from __future__ import annotations

import socket
from typing import List, Set

_handed_out: Set[int] = set()


def free_port() -> int:
    """A port nothing listens on now and that this test session has not handed out before."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def free_ports(count: int) -> List[int]:
    """``count`` distinct free ports."""
    return [free_port() for _ in range(count)]


def free_port_block(count: int, low: int = 20000, high: int = 30000) -> int:
    """The first port of ``count`` consecutive free ports (for ``TRULYBOT_REPLICA_BASE_PORT``)."""
    import random

    for _ in range(200):
        base = random.randrange(low, high - count)
        block = range(base, base + count)
        if any(port in _handed_out for port in block):
            continue
        free = True
        for port in block:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    free = False
                    break
        if free:
            _handed_out.update(block)
            return base
    raise RuntimeError(f"no {count} consecutive free ports between {low} and {high}")
