"""Conversation history from Rasa tracker events, as the widget and the inbox show it.

Kept apart from :mod:`bot.rasa.channel` (which imports Rasa) so the bot service can build
transcripts without loading Rasa.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from bot.rasa.history_privacy import bot_item, requested_slot_after, scrub_text, sensitive_values, user_text


def reply_to_dict(message: Dict[Text, Any]) -> Dict[str, Any]:
    """One collected Rasa output as the bot service expects it."""
    out: Dict[str, Any] = {"text": message.get("text") or ""}
    if message.get("buttons"):
        out["buttons"] = [
            {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
            for b in message["buttons"]
            if isinstance(b, dict)
        ]
    if message.get("custom") is not None:
        out["custom"] = message["custom"]
    if message.get("image"):
        out["image"] = message["image"]
    return out


def history_from_events(events: List[Dict[str, Any]], limit: int, private: bool = True) -> List[Dict[str, Any]]:
    """The user and bot messages among tracker events, oldest first, at most ``limit``; with
    ``private`` (resumed widget sessions) personal data is left out (see :mod:`bot.rasa.history_privacy`)."""
    values = sensitive_values(events) if private else set()
    asked_for: Optional[str] = None
    history: List[Dict[str, Any]] = []
    for event in events:
        kind = event.get("event")
        if kind == "user":
            text = event.get("text") or ""
            if text.startswith("/"):  # a pressed button: show its title, as the shopper saw it
                shown = (event.get("metadata") or {}).get("display_text")
                if not isinstance(shown, str) or not shown:
                    continue
                text = scrub_text(shown, values) if private else shown
            elif private:
                text = user_text(event, text, values, asked_for)
            history.append({"role": "user", "text": text, "timestamp": event.get("timestamp")})
        elif kind == "bot":
            data = event.get("data") or {}
            item = reply_to_dict({"text": event.get("text"), **data})
            if private:
                item = bot_item(item, values)
            item.update({"role": "bot", "timestamp": event.get("timestamp")})
            agent = (event.get("metadata") or {}).get("agent")
            if isinstance(agent, dict):  # a person's reply during a handoff
                item.update(role="agent", agent={"name": str(agent.get("name") or "")})
            history.append(item)
        asked_for = requested_slot_after(event, asked_for)
    return history[-limit:]
