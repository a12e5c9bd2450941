"""Store facts a merchant fills in on the widget page: ``action_store_info`` (opening hours, contact
details, payment methods, where the store ships, cancellation terms and fees) and ``action_invoice``.

A fact the merchant has not filled in gets an honest "I don't know" with the way to reach the team,
never an invented answer.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.cues import latest_text, remembered_lookup_values, store_fact_topic
from actions.replies import HANDOFF_BUTTONS, say, store_or_apologise, tell_policy, tell_unknown
from actions.runtime import get_runtime

# topic → (what it is called in a sentence, the policy key holding the merchant's text)
TOPICS: Dict[str, str] = {
    "hours": "the store's opening hours",
    "contact": "how to contact the store",
    "payment": "which payment methods the store accepts",
    "shipping": "where the store ships",
    "cancellation": "the store's cancellation terms (including any fee for cancelling)",
}
FACT_KEYS = ("hours", "contact", "payment")
# topics answered from a policy text (the same keys as the policies), and the answer's intro
POLICY_INTROS: Dict[str, str] = {"shipping": "About delivery:", "cancellation": "About cancellations:"}


class ActionStoreInfo(Action):
    """Answer a question about the store from the merchant's texts."""

    def name(self) -> Text:
        return "action_store_info"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        runtime = get_runtime()
        store = await store_or_apologise(runtime, dispatcher, tracker)
        if store is None:
            return []
        kept = remembered_lookup_values(tracker)
        topic = store_fact_topic(latest_text(tracker))
        if topic in POLICY_INTROS:
            tell_policy(runtime, store, dispatcher, topic, POLICY_INTROS[topic], topic=TOPICS[topic])
            return kept
        if topic is None:
            known = {key: store.fact(key) for key in FACT_KEYS if store.fact(key)}
            if known:
                dispatcher.utter_message(text=say(runtime, store, "store_facts", facts=known))
                return kept
            topic = "contact"
        text = store.fact(topic)
        if text:
            dispatcher.utter_message(text=say(runtime, store, f"store_{topic}", fact=text))
        else:
            tell_unknown(runtime, store, dispatcher, TOPICS[topic])
        return kept


class ActionInvoice(Action):
    """Invoices: the merchant's text (or a plain default), and a person on offer."""

    def name(self) -> Text:
        return "action_invoice"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        runtime = get_runtime()
        store = await store_or_apologise(runtime, dispatcher, tracker)
        if store is None:
            return []
        dispatcher.utter_message(text=say(runtime, store, "invoice", fact=store.fact("invoice")), buttons=HANDOFF_BUTTONS)
        return remembered_lookup_values(tracker)
