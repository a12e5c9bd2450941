"""pluggy hook specifications of the ``trulybot`` project.

Hooks are synchronous and called with keyword arguments. They *register* things (classes,
descriptions); the platforms themselves do their I/O in ``async`` methods.

A plugin module implements hooks with :data:`hookimpl`::

    from plugins import hookimpl

    @hookimpl
    def register_platforms(register):
        register(MyPlatform)
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    from typing import Type

    from plugins.base import Platform
    from plugins.carrier_table import Carrier
    from plugins.emulation.spec import EmulatorSpec

PROJECT_NAME = "trulybot"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def register_platforms(register: "Callable[[Type[Platform]], None]") -> None:
    """Register store platforms.

    Call ``register(PlatformClass)`` once per :class:`~plugins.base.Platform` subclass. The class
    ``name`` is the key (``StoreConnection.platform``); a later registration of the same name
    replaces an earlier one, so a plugin can override a built-in platform.

    The class describes the platform's whole integration (connection schema and flows, app
    settings, webhooks, storefront snippet, display name; see ``docs/plugins.md``, "Integration
    contract"), so nothing above the plugins names a platform.
    """


@hookspec
def register_emulators(register: "Callable[[EmulatorSpec], None]") -> None:
    """Register store emulators that demo mode, tests and benchmarks can start generically.

    Call ``register(EmulatorSpec(...))``: platform name, the module run with ``python -m``, the
    default port, and how to build the demo store connection for it.
    """


@hookspec
def register_carriers(register: "Callable[[Carrier], None]") -> None:
    """Register shipping carriers (code, display name, aliases, tracking URL template).

    Used to build a tracking URL when the store gives only a carrier and a number, and to show
    a clean carrier name. Later registrations of the same code replace earlier ones.
    """
