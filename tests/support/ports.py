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
