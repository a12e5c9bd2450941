"""Greeting that names the store the shopper is on."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.metadata import store_display_name

QUICK_START_BUTTONS = [
    {"title": "Track my order", "payload": "/track_order"},
    {"title": "Delivery times", "payload": "/delivery_info"},
    {"title": "Returns", "payload": "/return_refund"},
]


class ActionGreet(Action):
    """Say hello as the assistant of the current store and offer the main tasks."""

    def name(self) -> Text:
        return "action_greet"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        store = store_display_name(tracker)
        who = f"the {store} order assistant" if store else "the order assistant"
        dispatcher.utter_message(
            text=f"Hi! I'm {who}. I can track an order, or answer questions about delivery and returns.",
            buttons=QUICK_START_BUTTONS,
        )
        return []
