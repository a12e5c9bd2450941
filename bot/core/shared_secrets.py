"""Shared secrets of a deployment (channel signing, session tokens).

Outside demo mode they must be configured. In demo mode missing ones are generated once into
``<data dir>/secrets.json`` so every process of the stack, and every restart, uses the same values.
"""
from __future__ import annotations

import dataclasses
import json
import os
import secrets as random  # stdlib
from pathlib import Path
from typing import Dict

from bot.core.settings import Settings, SettingsError

_FIELDS = {"channel_secret": "TRULYBOT_CHANNEL_SECRET", "session_secret": "TRULYBOT_SESSION_SECRET"}


def with_secrets(settings: Settings) -> Settings:
    """``settings`` with every shared secret filled in (generated in demo mode only)."""
    missing = [name for name in _FIELDS if not getattr(settings, name)]
    if not missing:
        return settings
    if not settings.demo:
        names = ", ".join(_FIELDS[name] for name in missing)
        raise SettingsError(f"{names} must be set outside demo mode (at least 32 random characters)")
    stored = _load_or_create(settings.data_dir / "secrets.json")
    return dataclasses.replace(settings, **{name: stored[name] for name in missing})


def _load_or_create(path: Path) -> Dict[str, str]:
    stored: Dict[str, str] = {}
    if path.exists():
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SettingsError(f"{path} is unreadable ({exc}); delete it to generate new demo secrets") from exc
    changed = False
    for name in _FIELDS:
        if not isinstance(stored.get(name), str) or len(stored[name]) < 32:
            stored[name] = random.token_urlsafe(32)
            changed = True
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(stored, handle)
        os.replace(tmp, path)
    return stored
