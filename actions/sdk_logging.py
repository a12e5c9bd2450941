"""Redaction for a plain ``rasa run actions``.

rasa_sdk imports every module of this package when it starts; importing this one adds TrulyBot's
redacting filter to the log handlers rasa_sdk and Sanic installed. ``trulybot up`` runs
``python -m actions.server`` instead, which installs TrulyBot's own handler (JSON or text).
"""
from bot.core.logs import add_redaction_to_all_handlers

add_redaction_to_all_handlers()
