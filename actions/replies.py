"""Saying things for a store: templates rendered for the conversation's store, messages with buttons
and cards, the shopper's client hash, and the apology when no store is known."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.metadata import message_metadata
from actions.render import render
from actions.runtime import Runtime
from actions.store_access import StoreContext, resolve_store

HANDOFF_BUTTONS: List[Dict[str, str]] = [
    {"title": "Talk to a person", "payload": "/human_handoff"},
    {"title": "No thanks", "payload": "/deny"},
]
NO_STORE_TEXT = "Sorry, I can't look anything up from this chat right now. Please contact the store directly."


def client_of(tracker: Tracker) -> Optional[str]:
    """The hashed client address the bot service attached (None when absent)."""
    value = message_metadata(tracker).get("client")
    return value[:128] if isinstance(value, str) and value else None


def say(runtime: Runtime, store: StoreContext, name: str, **values: Any) -> str:
    """Template ``name`` rendered for ``store`` (its overrides and locale)."""
    return render(name, widget_id=store.widget_id, locale=store.locale,
                  override_root=runtime.templates_dir, **values)


def send(dispatcher: CollectingDispatcher, message: Dict[str, Any]) -> None:
    """Send a ``{"text", "buttons", "custom"}`` message."""
    dispatcher.utter_message(text=message.get("text"), buttons=message.get("buttons") or [], json_message=message.get("custom"))


async def store_or_apologise(runtime: Runtime, dispatcher: CollectingDispatcher, tracker: Tracker) -> Optional[StoreContext]:
    """The conversation's store; None (after telling the shopper) when the metadata names none."""
    store = await resolve_store(runtime, tracker)
    if store is None:
        dispatcher.utter_message(text=NO_STORE_TEXT)
    return store
