"""Structured logging for every TrulyBot process, with redaction of personal data.

``TRULYBOT_LOG_FORMAT=json`` prints one JSON object per line (time, level, logger, message and any
``extra=`` fields); ``text`` prints a readable line. A filter masks e-mail addresses and bearer-like
secrets in every record as a last line of defence; code must still never log secrets, tokens, emails
or full order numbers (use :func:`mask_order_number`).
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


def mask_order_number(number: str) -> str:
    """An order number safe for logs: only its last two characters ("…01")."""
    number = str(number or "")
    return "…" + number[-2:] if len(number) > 2 else "…"


def redact(text: str) -> str:
    """``text`` with e-mail addresses and credential-looking tokens masked."""
    text = _EMAIL_RE.sub("<email>", text)
    return _SECRET_RE.sub(lambda m: m.group(1) + "_<redacted>", text)


class RedactingFilter(logging.Filter):
    """Masks personal data in the formatted message of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not kill logging
            message = str(record.msg)
        record.msg = redact(message)
        record.args = ()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        payload: Dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                payload[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            payload["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(payload, ensure_ascii=False)


def configure_logging(level: str = "INFO", fmt: str = "text", process: str = "trulybot") -> None:
    """Install the TrulyBot handler on the root logger (idempotent)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s {process} %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_trulybot", False):
            root.removeHandler(existing)
    handler._trulybot = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel("WARNING")
    logging.getLogger("alembic").setLevel("WARNING")
