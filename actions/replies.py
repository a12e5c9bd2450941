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
# policy key → what it is called in "I don't know ..."
POLICY_TOPICS: Dict[str, str] = {
    "shipping": "the store's delivery times",
    "returns": "the store's returns and refunds policy",
    "cancellation": "the store's cancellation terms",
}
NO_STORE_TEXT = "Sorry, I can't look anything up from this chat right now. Please contact the store directly."


def client_of(tracker: Tracker) -> Optional[str]:
    """The hashed client address the bot service attached (None when absent)."""
    value = message_metadata(tracker).get("client")
    return value[:128] if isinstance(value, str) and value else None


def say(runtime: Runtime, store: StoreContext, name: str, **values: Any) -> str:
    """Template ``name`` rendered for ``store`` (its overrides and locale)."""
    return render(name, widget_id=store.widget_id, locale=store.locale,
                  override_root=runtime.templates_dir, **values)


def tell_policy(runtime: Runtime, store: StoreContext, dispatcher: CollectingDispatcher, key: str, intro: str,
                *, topic: Optional[str] = None, for_request: bool = False) -> None:
    """The merchant's ``key`` policy text after ``intro``.

    A store without that text gets an honest "I don't know" instead of invented terms: with
    ``for_request`` (a cancel, change or return being passed on) the team will confirm what applies;
    otherwise the store's contact details, or a person on offer.
    """
    text = store.fact(key)
    topic = topic or POLICY_TOPICS[key]
    if text:
        dispatcher.utter_message(text=say(runtime, store, "policy", intro=intro, policy=text))
    elif for_request:
        dispatcher.utter_message(text=say(runtime, store, "policy_unknown", topic=topic))
    else:
        tell_unknown(runtime, store, dispatcher, topic)


def tell_unknown(runtime: Runtime, store: StoreContext, dispatcher: CollectingDispatcher, topic: str) -> None:
    """"Sorry, I don't know ``topic``", with the store's contact details or a person on offer."""
    dispatcher.utter_message(text=say(runtime, store, "store_fact_unknown", topic=topic, contact=store.fact("contact")),
                             buttons=HANDOFF_BUTTONS[:1])


def send(dispatcher: CollectingDispatcher, message: Dict[str, Any]) -> None:
    """Send a ``{"text", "buttons", "custom"}`` message."""
    dispatcher.utter_message(text=message.get("text"), buttons=message.get("buttons") or [], json_message=message.get("custom"))


async def store_or_apologise(runtime: Runtime, dispatcher: CollectingDispatcher, tracker: Tracker) -> Optional[StoreContext]:
    """The conversation's store; None (after telling the shopper) when the metadata names none."""
    store = await resolve_store(runtime, tracker)
    if store is None:
        dispatcher.utter_message(text=NO_STORE_TEXT)
    return store
