"""Structured logging for every TrulyBot process, with redaction of personal data.

``TRULYBOT_LOG_FORMAT=json`` prints one JSON object per line (time, level, process, logger, message,
any ``extra=`` fields and the traceback as one ``exception`` string); ``text`` prints a readable
line, with a traceback indented under it. A filter masks e-mail addresses and bearer-like secrets in
every record as a last line of defence, and CR/LF inside a message are escaped so no input can forge
a log line; code must still never log secrets, tokens, emails or full order numbers (use
:func:`mask_order_number`).

The bot service, the action server and Rasa (through :mod:`bot.rasa.serve`) all call
:func:`configure_logging`; :func:`route_sanic_logs_to_root` sends Sanic's own loggers (Rasa and the
action server run on Sanic) through the same handler.
"""
from __future__ import annotations

import json
import logging
import re
import sys
from datetime import datetime, timezone
from typing import Any, Dict

_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_SECRET_RE = re.compile(r"\b(ck|cs|shpat|shpca|shpss|tb)_[A-Za-z0-9_\-]{8,}")
_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
_HANDLER_MARK = "_trulybot"


def mask_order_number(number: str) -> str:
    """An order number safe for logs: only its last two characters ("…01")."""
    number = str(number or "")
    return "…" + number[-2:] if len(number) > 2 else "…"


def redact(text: str) -> str:
    """``text`` with e-mail addresses and credential-looking tokens masked."""
    text = _EMAIL_RE.sub("<email>", text)
    return _SECRET_RE.sub(lambda m: m.group(1) + "_<redacted>", text)


def one_line(text: str) -> str:
    """``text`` with CR and LF escaped (``\\r``, ``\\n``): a message can never start a new log line."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


class RedactingFilter(logging.Filter):
    """Masks personal data in the formatted message and string extras of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not kill logging
            message = str(record.msg)
        record.msg = redact(message)
        record.args = ()
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_ATTRS and not key.startswith("_") and isinstance(value, str):
                setattr(record, key, redact(value))
        return True


def _traceback(formatter: logging.Formatter, record: logging.LogRecord) -> str:
    """The record's traceback (and stack), redacted; empty when it has none."""
    parts = []
    if record.exc_info:
        parts.append(formatter.formatException(record.exc_info))
    elif record.exc_text:
        parts.append(record.exc_text)
    if record.stack_info:
        parts.append(formatter.formatStack(record.stack_info))
    return redact("\n".join(parts))


class JsonFormatter(logging.Formatter):
    """One JSON object per line; ``process`` names the TrulyBot process that logged."""

    def __init__(self, process: str = "trulybot") -> None:
        super().__init__()
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        payload: Dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "process": self.process,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                payload[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        trace = _traceback(self, record)
        if trace:
            payload["exception"] = trace
        return json.dumps(payload, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``time process LEVEL logger: message`` on one line; a traceback follows, indented and redacted."""

    def __init__(self, process: str = "trulybot") -> None:
        super().__init__(f"%(asctime)s {process} %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.message = one_line(redact(record.getMessage()))
        record.asctime = self.formatTime(record, self.datefmt)
        line = self.formatMessage(record)
        trace = _traceback(self, record)
        if trace:
            line += "".join("\n    " + part.replace("\r", "") for part in trace.splitlines())
        return line


def configure_logging(level: str = "INFO", fmt: str = "text", process: str = "trulybot") -> None:
    """Install the TrulyBot handler on the root logger (idempotent: replaces an earlier one)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter(process) if fmt == "json" else TextFormatter(process))
    setattr(handler, _HANDLER_MARK, True)
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, _HANDLER_MARK, False):
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel("WARNING")
    logging.getLogger("alembic").setLevel("WARNING")


def add_redaction_to_all_handlers() -> None:
    """Add :class:`RedactingFilter` to every handler of every existing logger (idempotent).

    For processes whose logging TrulyBot does not configure (a plain ``rasa run``, ``rasa shell`` or
    ``rasa run actions``): Rasa's and Sanic's own console handlers then mask personal data too.
    """
    loggers = [logging.getLogger()] + [logger for logger in logging.Logger.manager.loggerDict.values()
                                       if isinstance(logger, logging.Logger)]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())


def route_sanic_logs_to_root() -> None:
    """Make Sanic's loggers (``sanic.root``, ``sanic.error``, ``sanic.access``, ...) propagate to the
    root handler instead of printing with their own handlers, now and for every Sanic app created later."""
    try:
        import sanic.log
    except ImportError:
        return
    config = sanic.log.LOGGING_CONFIG_DEFAULTS
    for logger_config in config.get("loggers", {}).values():
        logger_config["handlers"] = []
        logger_config["propagate"] = True
    for name in list(config.get("loggers", {})) + ["sanic.server", "sanic.websockets"]:
        logger = logging.getLogger(name)
        for existing in list(logger.handlers):
            logger.removeHandler(existing)
        logger.propagate = True
