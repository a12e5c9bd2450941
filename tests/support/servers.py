"""Availability of the real PostgreSQL and Redis servers used by some tests.

When a server does not answer, the test is skipped with the reason printed — except under
``CI=true``, where the test fails instead, because CI must exercise them.
"""
from __future__ import annotations

import os
import socket

import pytest

POSTGRES_URL = os.environ.get("TRULYBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TRULYBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def answers(host: str, port: int) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_server(name: str, host: str, port: int) -> None:
    """Skip (or fail under CI=true) unless ``host:port`` accepts connections."""
    if answers(host, port):
        return
    reason = f"{name} is not answering on {host}:{port}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}, and CI=true requires it")
    pytest.skip(reason)


def require_postgres() -> str:
    """The PostgreSQL test URL, once the server answers."""
    require_server("PostgreSQL", "127.0.0.1", 5432)
    return POSTGRES_URL


def require_redis() -> str:
    """The Redis test URL, once the server answers."""
    require_server("Redis", "127.0.0.1", 6379)
    return REDIS_URL
