"""A real local SMTP server for tests (aiosmtpd in its own thread) that keeps what it receives."""
from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from typing import Any, Callable, Dict, Iterator, List, Tuple

import pytest

from tests.support.ports import free_port


class Mailbox:
    """An aiosmtpd handler: keeps every message; ``hold`` makes DATA wait, ``reject`` refuses it."""

    def __init__(self, reject: bool = False) -> None:
        self.messages: List[Dict[str, Any]] = []
        self.reject = reject
        self.hold = threading.Event()
        self.hold.set()
        self.arrived = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.get_running_loop().run_in_executor(None, self.hold.wait, 20)
        if self.reject:
            return "554 5.7.1 Rejected by the test server"
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                              "subject": str(parsed["Subject"]), "body": parsed.get_content()})
        self.arrived.set()
        return "250 Message accepted"

    async def wait(self, timeout: float = 10.0) -> bool:
        """Wait (without blocking the event loop) until a message arrived."""
        return await asyncio.get_running_loop().run_in_executor(None, self.arrived.wait, timeout)


def smtp_env(port: int) -> Dict[str, str]:
    """Settings that send email to the local server at ``port`` (no TLS)."""
    return {"TRULYBOT_SMTP_HOST": "127.0.0.1", "TRULYBOT_SMTP_PORT": str(port), "TRULYBOT_SMTP_TLS": "none",
            "TRULYBOT_SMTP_FROM": "bot@shop.example"}


@pytest.fixture
def smtp() -> Iterator[Callable[..., Tuple[Mailbox, int]]]:
    """``smtp(reject=False)`` starts a server on a free port: (mailbox, port)."""
    from aiosmtpd import controller as controller_module  # pinned in requirements.lock (test extra)

    servers: List[Any] = []

    def start(reject: bool = False) -> Tuple[Mailbox, int]:
        box = Mailbox(reject)
        port = free_port()
        controller = controller_module.Controller(box, hostname="127.0.0.1", port=port)
        controller.start()
        servers.append(controller)
        return box, port

    yield start
    for controller in servers:
        controller.stop()
