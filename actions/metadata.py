"""Reading the bot service's message metadata from a tracker."""
from __future__ import annotations

from typing import Any, Dict

from rasa_sdk import Tracker

from actions.shell import SHELL_CHANNEL, demo_shell_metadata


def message_metadata(tracker: Tracker) -> Dict[str, Any]:
    """Metadata of the latest user message (store id, store name, locale, client hash...).

    Messages typed in ``rasa shell`` carry none: in demo mode they get a demo store's
    (:mod:`actions.shell`)."""
    latest = tracker.latest_message or {}
    metadata = latest.get("metadata") or {}
    if not metadata and tracker.get_latest_input_channel() == SHELL_CHANNEL:
        return demo_shell_metadata()
    return metadata if isinstance(metadata, dict) else {}


def store_display_name(tracker: Tracker) -> str:
    """The store's display name, cleaned for use in a sentence ('' when unknown)."""
    name = message_metadata(tracker).get("store_name")
    if not isinstance(name, str):
        return ""
    return " ".join(name.split())[:80]
