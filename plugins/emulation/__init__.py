"""Shared machinery of the store emulators: fault knobs, hit statistics, admin routes, CLI.

A platform emulator builds its aiohttp app with :func:`make_emulator_app`, adds its own routes
and exposes ``create_app(orders=None, **options)`` and ``main()``.
"""
from __future__ import annotations

from plugins.emulation.faults import ADMIN_PREFIX, Faults, Stats, make_emulator_app
from plugins.emulation.runner import run_emulator_cli
from plugins.emulation.spec import EmulatorSpec

__all__ = ["ADMIN_PREFIX", "Faults", "Stats", "make_emulator_app", "run_emulator_cli", "EmulatorSpec"]
