"""Logs of every process: emails and credential-looking tokens are masked in messages, extras and
tracebacks; CR/LF cannot forge a log line; handlers TrulyBot did not install (plain Rasa, the action
server's Sanic) get the same filter."""
from __future__ import annotations

import io
import json
import logging
import sys

from bot.core.logs import JsonFormatter, RedactingFilter, TextFormatter, add_redaction_to_all_handlers

EMAIL = "olivia.chen@example.com"
SECRET = "shpat_0123456789abcdef0123"


def _record(message: str, *args: object, exc: bool = False, **extra: object) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError(f"lookup failed for {EMAIL} with {SECRET}")
        except ValueError:
            exc_info = sys.exc_info()
    record = logging.LogRecord("actions.lookup", logging.WARNING, __file__, 1, message, args, exc_info)
    record.__dict__.update(extra)
    return record


def _through(formatter: logging.Formatter, record: logging.LogRecord) -> str:
    RedactingFilter().filter(record)
    return formatter.format(record)


def test_text_lines_mask_personal_data_and_cannot_be_forged():
    line = _through(TextFormatter("actions"), _record("shopper %s said %r", EMAIL, "hi\r\n2026-01-01 FAKE ERROR", exc=True))
    first, *trace = line.split("\n")
    assert EMAIL not in line and SECRET not in line and "<email>" in first and "shpat_<redacted>" in line
    assert "\\r\\n2026-01-01 FAKE ERROR" in first  # escaped: still one line
    assert trace and all(part.startswith("    ") for part in trace)  # the traceback is indented under it
    assert "ValueError" in line


def test_json_lines_mask_messages_extras_and_tracebacks():
    out = json.loads(_through(JsonFormatter("rasa"), _record("from %s", EMAIL, exc=True, shopper=EMAIL)))
    text = json.dumps(out)
    assert EMAIL not in text and SECRET not in text
    assert out["message"] == "from <email>" and out["shopper"] == "<email>" and "ValueError" in out["exception"]
    assert out["process"] == "rasa"


def test_handlers_installed_by_others_get_the_filter():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)  # as a plain `rasa run` or Sanic would install it
    logger = logging.getLogger("sanic.error.test-redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        add_redaction_to_all_handlers()
        add_redaction_to_all_handlers()  # idempotent
        assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1
        logger.error("token %s for %s", SECRET, EMAIL)
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue().strip() == "token shpat_<redacted> for <email>"
