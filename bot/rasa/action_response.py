"""Validation of an action server's response, with Rasa's schema, at a fraction of the cost.

Rasa checks every custom action's response against ``RemoteAction.action_response_format_spec()``.
Each event in it must match exactly one of 23 event schemas (``oneOf``), so jsonschema tries all 23
for every event: about 1.5 ms of the Rasa process's CPU per action call (docs/benchmarks.md). Every
one of those schemas pins ``event`` to a different constant, so at most the one named by the event's
``event`` field can match, and the ``oneOf`` holds exactly when that one does.
:class:`ActionResponseValidator` therefore checks the response without the ``oneOf`` and each event
against its own schema only. Whenever that finds a problem (or an event name no schema has), the
full schema is run, so an invalid response raises jsonschema's own ``ValidationError`` for Rasa's
schema.
"""
from __future__ import annotations

import copy
from typing import Any, Dict

from jsonschema import validators


class ActionResponseValidator:
    """``validate(result)`` accepts and rejects exactly what Rasa's full schema does."""

    def __init__(self, schema: Dict[str, Any]) -> None:
        cls = validators.validator_for(schema)
        cls.check_schema(schema)
        self.full = cls(schema)
        event_schema = schema["properties"]["events"]["items"]
        shallow = copy.deepcopy(schema)
        alternatives = shallow["properties"]["events"]["items"].pop("oneOf")
        self.without_alternatives = cls(shallow)
        base = {key: value for key, value in event_schema.items() if key != "oneOf"}
        self.by_event: Dict[str, Any] = {}
        for alternative in alternatives:
            name = alternative["properties"]["event"]["const"]
            self.by_event[name] = cls({"allOf": [base, alternative]})

    def is_valid(self, result: Any) -> bool:
        """Whether Rasa's schema accepts ``result``."""
        if not self.without_alternatives.is_valid(result):
            return False
        for event in (result.get("events") or []):
            validator = self.by_event.get(event["event"])
            if validator is None or not validator.is_valid(event):
                return False
        return True

    def validate(self, result: Any) -> None:
        """Raise jsonschema's ``ValidationError`` for Rasa's schema when ``result`` does not match it."""
        if not self.is_valid(result):
            self.full.validate(result)
