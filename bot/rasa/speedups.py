"""Measured fixes to per-turn overhead inside the Rasa server (see docs/benchmarks.md).

Applied once, when Rasa imports the TrulyBot channel (:mod:`bot.rasa.channel`):

* **Action-response validation.** ``RemoteAction._validate_action_result`` calls
  ``jsonschema.validate``, which re-checks Rasa's large events schema against the meta-schema on every
  custom-action call (~35 ms of CPU per call, about two thirds of a lookup turn). A validator built
  once does the same check with the same schema and the same errors.
* **Keep-alive to the action server.** ``EndpointConfig.request`` opens a new ``aiohttp`` session —
  a new TCP connection — for every action call; one session per endpoint is reused instead.
* **Event type lookups.** ``Event.resolve_by_type`` scans every ``Event`` subclass for each event it
  deserialises; answers are remembered.

Each patch keeps Rasa's behaviour (tests in ``tests/test_rasa_speedups.py``).
"""
from __future__ import annotations

import threading
from typing import Any, Dict, Optional

_applied = False
_lock = threading.Lock()


def _fast_action_validation() -> None:
    from jsonschema import ValidationError, validators
    from rasa.core.actions.action import RemoteAction

    built: Dict[str, Any] = {}

    def _validate_action_result(self: Any, result: Dict[str, Any]) -> bool:
        validator = built.get("validator")
        if validator is None:
            schema = self.action_response_format_spec()
            cls = validators.validator_for(schema)
            cls.check_schema(schema)
            validator = built["validator"] = cls(schema)
        try:
            validator.validate(result)
        except ValidationError as error:
            error.message += (
                ". Failed to validate Action server response from API, make sure your response from the "
                "Action endpoint is valid."
            )
            raise
        return True

    RemoteAction._validate_action_result = _validate_action_result


class _Reused:
    """Async context manager over a session that must stay open after the ``async with``."""

    def __init__(self, session: Any) -> None:
        self.session = session

    async def __aenter__(self) -> Any:
        return self.session

    async def __aexit__(self, *exc: Any) -> bool:
        return False


def _keep_alive_sessions() -> None:
    from rasa.utils.endpoints import EndpointConfig

    new_session = EndpointConfig.session
    sessions: Dict[int, Any] = {}

    def session(self: EndpointConfig) -> _Reused:
        current: Optional[Any] = sessions.get(id(self))
        if current is None or current.closed:
            current = sessions[id(self)] = new_session(self)
        return _Reused(current)

    EndpointConfig.session = session


def _cached_event_types() -> None:
    from rasa.shared.core.events import Event

    resolve = Event.resolve_by_type
    known: Dict[str, Any] = {}

    def resolve_by_type(type_name: str, default: Any = None) -> Any:
        found = known.get(type_name)
        if found is None:
            found = resolve(type_name, default)
            if found is not None and found is not default:
                known[type_name] = found
        return found

    Event.resolve_by_type = staticmethod(resolve_by_type)


def apply() -> None:
    """Install every patch once per process."""
    global _applied
    with _lock:
        if _applied:
            return
        _fast_action_validation()
        _keep_alive_sessions()
        _cached_event_types()
        _applied = True
