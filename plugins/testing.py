"""Public test helpers: run a platform's emulator in-process and talk to it.

::

    async with running_emulator("woocommerce", orders=[...], latency_ms=5) as emu:
        platform = emu.platform(http)          # Platform bound to the emulator's demo store
        emu.set_faults(burst_count=2)
        assert emu.stats.hits == 1

Usable from any test suite (actions, bot, benchmarks); needs no pytest.
"""
from __future__ import annotations

import importlib
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Dict, List, Optional, Union

from aiohttp import web
from aiohttp.test_utils import TestServer

from plugins.base import Platform
from plugins.emulation.faults import FAULTS_KEY, STATS_KEY, Faults, Stats
from plugins.http import StoreHttpClient
from plugins.manager import get_emulators, get_platform
from plugins.model import StoreConnection


class RunningEmulator:
    """An emulator app served on a free loopback port."""

    def __init__(self, name: str, app: web.Application, server: TestServer) -> None:
        self.name = name
        self.app = app
        self.server = server
        self.base_url = str(server.make_url("")).rstrip("/")

    @property
    def faults(self) -> Faults:
        return self.app[FAULTS_KEY]

    @property
    def stats(self) -> Stats:
        return self.app[STATS_KEY]

    def set_faults(self, reset: bool = False, **knobs: Any) -> Faults:
        """Change fault knobs (``reset=True`` first restores the defaults)."""
        if reset:
            self.faults.__init__()  # type: ignore[misc]
        self.faults.update(knobs)
        return self.faults

    def connection(self, store_id: Union[int, str] = "test-store", **changes: Any) -> StoreConnection:
        """The demo store connection for this emulator, with fields replaced by ``changes``."""
        conn = get_emulators()[self.name].demo_connection(self.base_url, store_id)
        for key, value in changes.items():
            setattr(conn, key, value)
        return conn

    def platform(self, http: StoreHttpClient, **changes: Any) -> Platform:
        """A platform instance bound to :meth:`connection`."""
        return get_platform(self.name)(self.connection(**changes), http)


@asynccontextmanager
async def running_emulator(
    name: str, orders: Optional[List[Dict[str, Any]]] = None, **options: Any
) -> AsyncIterator[RunningEmulator]:
    """Start the emulator registered for platform ``name`` (via ``register_emulators``)."""
    spec = get_emulators()[name]
    module = importlib.import_module(spec.module)
    app = module.create_app(orders, **options)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server(access_log=None)  # access logs would show query-string keys
    try:
        yield RunningEmulator(name, app, server)
    finally:
        await server.close()
