"""The cached pluggy plugin manager and the registries built from its hooks.

Modelled on datasette and simonw/llm: built-in platforms are listed in :data:`DEFAULT_PLUGINS`
and registered exactly like third-party packages that declare an entry point in the
``trulybot`` group::

    [project.entry-points.trulybot]
    csvstore = "trulybot_csvstore"

Environment:

``TRULYBOT_PLUGINS``
    comma-separated allow-list of plugin names (entry-point names; ``woocommerce`` and
    ``shopify`` for the built-ins). Unset: every plugin. Set but empty: none.
``TRULYBOT_DISABLED_PLUGINS``
    comma-separated block-list, applied after the allow-list.

A plugin that is not selected is not even imported.
"""
from __future__ import annotations

import functools
import importlib
import importlib.metadata
import logging
import os
from typing import TYPE_CHECKING, Callable, Dict, Iterable, List, Mapping, Optional, Set, Type

import pluggy

from plugins import hookspecs
from plugins.base import Platform

if TYPE_CHECKING:  # pragma: no cover
    from plugins.carrier_table import Carrier
    from plugins.emulation.spec import EmulatorSpec

logger = logging.getLogger(__name__)

DEFAULT_PLUGINS = ("plugins.woocommerce", "plugins.shopify")
ENTRY_POINT_GROUP = hookspecs.PROJECT_NAME
ALLOW_ENV = "TRULYBOT_PLUGINS"
BLOCK_ENV = "TRULYBOT_DISABLED_PLUGINS"


class UnknownPlatform(KeyError):
    """No installed (and enabled) plugin registers a platform with this name."""

    def __init__(self, name: str, available: Iterable[str]) -> None:
        super().__init__(name)
        self.name = name
        self.available = sorted(available)

    def __str__(self) -> str:
        known = ", ".join(self.available) or "none"
        return f"unknown platform {self.name!r} (available: {known})"


def _names(value: Optional[str]) -> Optional[Set[str]]:
    if value is None:
        return None
    return {part.strip().lower() for part in value.split(",") if part.strip()}


def builtin_plugin_name(module: str) -> str:
    """``"plugins.woocommerce"`` → ``"woocommerce"`` (the name used in the env lists)."""
    return module.rsplit(".", 1)[-1]


def _selected(name: str, allow: Optional[Set[str]], block: Set[str]) -> bool:
    key = name.lower()
    if allow is not None and key not in allow:
        return False
    return key not in block


def _entry_points() -> List[importlib.metadata.EntryPoint]:
    return list(importlib.metadata.entry_points().select(group=ENTRY_POINT_GROUP))


def build_plugin_manager(
    env: Optional[Mapping[str, str]] = None,
    entry_points: Optional[Iterable[importlib.metadata.EntryPoint]] = None,
) -> pluggy.PluginManager:
    """A new plugin manager: built-ins first, then entry points, then ``check_pending()``.

    Hooks run in pluggy's order (last registered first), so third-party plugins are called
    before the built-ins and win when they register the same platform name.
    """
    env = os.environ if env is None else env
    allow, block = _names(env.get(ALLOW_ENV)), _names(env.get(BLOCK_ENV)) or set()
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for module_name in DEFAULT_PLUGINS:
        name = builtin_plugin_name(module_name)
        if _selected(name, allow, block):
            pm.register(importlib.import_module(module_name), name=name)
    for entry_point in _entry_points() if entry_points is None else entry_points:
        if not _selected(entry_point.name, allow, block):
            continue
        if pm.has_plugin(entry_point.name):
            logger.warning("plugin %r is already registered; entry point %s ignored", entry_point.name, entry_point.value)
            continue
        plugin = entry_point.load()
        pm.register(plugin, name=entry_point.name)
    pm.check_pending()
    return pm


@functools.lru_cache(maxsize=None)
def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager (built once; see :func:`reset_plugin_manager`)."""
    return build_plugin_manager()


def reset_plugin_manager() -> None:
    """Forget the cached manager so the next call re-reads env vars and entry points (tests)."""
    get_plugin_manager.cache_clear()


def plugin_names(pm: Optional[pluggy.PluginManager] = None) -> List[str]:
    """Names of the registered plugins, in registration order."""
    pm = pm or get_plugin_manager()
    return [name for name, _ in pm.list_name_plugin()]


def _collect(call: Callable[..., object]) -> List[object]:
    items: List[object] = []
    call(register=items.append)
    return items


def get_platforms(pm: Optional[pluggy.PluginManager] = None) -> Dict[str, Type[Platform]]:
    """``{name: Platform subclass}`` from every ``register_platforms`` implementation.

    When two plugins register the same name the first call wins (third-party before built-in).
    """
    pm = pm or get_plugin_manager()
    platforms: Dict[str, Type[Platform]] = {}
    for cls in _collect(pm.hook.register_platforms):
        if not (isinstance(cls, type) and issubclass(cls, Platform) and cls.name):
            raise TypeError(f"register_platforms expects Platform subclasses with a name, got {cls!r}")
        platforms.setdefault(cls.name, cls)
    return platforms


def get_platform(name: str, pm: Optional[pluggy.PluginManager] = None) -> Type[Platform]:
    """The platform class registered as ``name``; raises :class:`UnknownPlatform` otherwise."""
    platforms = get_platforms(pm)
    try:
        return platforms[name]
    except KeyError:
        raise UnknownPlatform(name, platforms) from None


def get_emulators(pm: Optional[pluggy.PluginManager] = None) -> Dict[str, "EmulatorSpec"]:
    """``{platform name: EmulatorSpec}`` from every ``register_emulators`` implementation.

    Names are in plugin registration order (built-in platforms first, in :data:`DEFAULT_PLUGINS`
    order); for a name registered twice the first call wins (third-party before built-in).
    """
    from plugins.emulation.spec import EmulatorSpec

    pm = pm or get_plugin_manager()
    specs = _collect(pm.hook.register_emulators)  # pluggy calls the latest registered plugin first
    emulators: Dict[str, EmulatorSpec] = {}
    for spec in specs:
        if not isinstance(spec, EmulatorSpec):
            raise TypeError(f"register_emulators expects EmulatorSpec objects, got {spec!r}")
        emulators.setdefault(spec.name, spec)
    order = list(dict.fromkeys(spec.name for spec in reversed(specs)))  # type: ignore[attr-defined]
    return {name: emulators[name] for name in order}


def get_carriers(pm: Optional[pluggy.PluginManager] = None) -> Dict[str, "Carrier"]:
    """Built-in carriers overridden/extended by every ``register_carriers`` implementation."""
    from plugins.carrier_table import BUILTIN_CARRIERS, Carrier

    pm = pm or get_plugin_manager()
    carriers: Dict[str, Carrier] = {}
    for carrier in _collect(pm.hook.register_carriers):
        if not isinstance(carrier, Carrier):
            raise TypeError(f"register_carriers expects Carrier objects, got {carrier!r}")
        carriers.setdefault(carrier.code, carrier)
    for carrier in BUILTIN_CARRIERS:
        carriers.setdefault(carrier.code, carrier)
    return carriers
