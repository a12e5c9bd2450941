"""The lookup form's questions, worded by (overridable) templates rather than fixed responses."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.metadata import message_metadata
from actions.render import render


def render_for(tracker: Tracker, name: str, **values: Any) -> str:
    """Render a template for the conversation's store and locale (from the message metadata)."""
    from actions.runtime import get_runtime

    metadata = message_metadata(tracker)
    widget = metadata.get("widget_id") if isinstance(metadata.get("widget_id"), str) else ""
    locale = metadata.get("locale") if isinstance(metadata.get("locale"), str) else "en"
    return render(name, widget_id=widget, locale=locale, override_root=get_runtime().templates_dir, **values)


class _Ask(Action):
    slot = ""

    def name(self) -> Text:
        return f"action_ask_{self.slot}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        number = tracker.get_slot("order_number")
        dispatcher.utter_message(text=render_for(tracker, f"ask_{self.slot}", number=number,
                                                 no_number=not number and self.slot != "order_number",
                                                 have_postcode=bool(tracker.get_slot("postcode"))))
        return []


class ActionAskOrderNumber(_Ask):
    """Ask for the order number."""

    slot = "order_number"


class ActionAskEmail(_Ask):
    """Ask for the email that verifies the order."""

    slot = "email"


class ActionAskPostcode(_Ask):
    """Ask for the billing postcode."""

    slot = "postcode"


class ActionAskSecondFact(_Ask):
    """Ask for the billing last name or phone digits (stores that hide emails)."""

    slot = "second_fact"
