"""Store metadata for messages typed in ``rasa shell``.

The bot service attaches the store (id, name, platform, locale) to every widget message. ``rasa
shell`` sends bare text through Rasa's ``cmdline`` channel; in demo mode those messages are treated
as if they came from the first installed platform's demo widget (the first plugin's
``EmulatorSpec.demo_widget_id``), so the shell can greet, look up demo orders and answer policy
questions. Outside demo mode shell messages name no store.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

SHELL_CHANNEL = "cmdline"


def shell_demo_widget() -> Optional[str]:
    """The widget id shell messages use in demo mode: the first installed platform's demo store."""
    from plugins.manager import get_emulators

    return next((spec.demo_widget_id for spec in get_emulators().values() if spec.demo_widget_id), None)


def demo_shell_metadata() -> Dict[str, Any]:
    """Metadata of the shell's demo store, or ``{}`` outside demo mode or before it is seeded."""
    from actions.runtime import get_runtime
    from bot.services.stores import store_by_widget_id

    runtime = get_runtime()
    widget_id = shell_demo_widget()
    if not runtime.settings.demo or widget_id is None:
        return {}
    with runtime.sessions() as session:
        store = store_by_widget_id(session, widget_id)
        if store is None:
            return {}
        return {
            "store_id": store.id,
            "widget_id": store.widget_id,
            "platform": store.platform,
            "store_name": store.display_name or "",
            "locale": "en",
            "client": "rasa-shell",
        }
