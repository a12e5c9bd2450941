"""Store metadata for messages typed in ``rasa shell``.

The bot service attaches the store (id, name, platform, locale) to every widget message. ``rasa
shell`` sends bare text through Rasa's ``cmdline`` channel; in demo mode those messages are treated
as if they came from the demo WooCommerce widget, so the shell can greet, look up demo orders and
answer policy questions. Outside demo mode shell messages name no store.
"""
from __future__ import annotations

from typing import Any, Dict

SHELL_CHANNEL = "cmdline"
SHELL_DEMO_WIDGET = "demo-woocommerce"


def demo_shell_metadata() -> Dict[str, Any]:
    """Metadata of the demo WooCommerce store, or ``{}`` outside demo mode or before it is seeded."""
    from actions.runtime import get_runtime
    from bot.services.stores import store_by_widget_id

    runtime = get_runtime()
    if not runtime.settings.demo:
        return {}
    with runtime.sessions() as session:
        store = store_by_widget_id(session, SHELL_DEMO_WIDGET)
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
