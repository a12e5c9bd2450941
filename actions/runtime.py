"""Process-wide resources of the action server, created once on first use.

Settings, the app database, the credential key ring (decryption happens only here, in the action
server, only for the store of the current conversation), the shared store HTTP client and the
verification-attempt counter with its limits.
"""
from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Awaitable, Callable, Optional

from sqlalchemy.orm import Session, sessionmaker

from actions.attempts import AttemptCounter, Limits, make_attempt_counter
from actions.timing import FailureTiming
from bot.core.crypto import KeyRing, load_key_ring
from bot.core.db import make_engine, make_sessionmaker
from bot.core.settings import Settings, load_settings
from plugins.http import StoreHttpClient
from plugins.netguard import AddressPolicy


@dataclass
class Runtime:
    """What every action needs to reach the database and the stores."""

    settings: Settings
    sessions: "sessionmaker[Session]"
    ring: KeyRing
    http: StoreHttpClient
    attempts: AttemptCounter
    limits: Limits = field(default_factory=Limits)
    #: seconds a lookup may spend with the store: the shopper gets an answer within 5 s
    lookup_budget_seconds: float = 4.5
    #: fetch durations of failed lookups, to pad them to the same time
    failure_timing: FailureTiming = field(default_factory=FailureTiming)
    #: how padding waits (tests record it instead)
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    @property
    def templates_dir(self) -> Path:
        """Where stores' template overrides live (``<data dir>/templates/<widget id>/[<locale>/]``)."""
        return self.settings.data_dir / "templates"


_runtime: Optional[Runtime] = None
_lock = threading.Lock()


def get_runtime() -> Runtime:
    """The action server's runtime (built from the environment on first call)."""
    global _runtime
    with _lock:
        if _runtime is None:
            settings = load_settings()
            sessions = make_sessionmaker(make_engine(settings.database_url))
            _runtime = Runtime(
                settings=settings,
                sessions=sessions,
                ring=load_key_ring(settings.encryption_keys, settings.key_file, settings.demo),
                http=StoreHttpClient(policy=AddressPolicy.with_loopback_ports(settings.store_loopback_ports)),
                attempts=make_attempt_counter(settings, sessions),
            )
        return _runtime


def set_runtime(runtime: Optional[Runtime]) -> None:
    """Replace the runtime (tests)."""
    global _runtime
    with _lock:
        _runtime = runtime
