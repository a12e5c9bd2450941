"""``trulybot up --replicas 2`` on free ports with its own PostgreSQL databases and a Redis database:
HAProxy (``deploy/haproxy.cfg``) in front of two bot services and two Rasa servers, one action server.

Used by ``tests/test_replicas.py`` (one topology per module) and by ``make bench`` (1 vs 2 replicas).
"""
from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path
from typing import Dict, List, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.support.ports import free_port_block
from tests.support.stack import Stack, stack_env


def fresh_postgres_database(base_url: str, suffix: str) -> str:
    """Create (dropping any leftover) database ``<base name>_<suffix>``; return its URL."""
    url = make_url(base_url)
    name = f"{url.database}_{suffix}"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return str(url.set(database=name).render_as_string(hide_password=False))


def drop_postgres_database(url: str) -> None:
    parsed = make_url(url)
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def haproxy_available() -> bool:
    return shutil.which("haproxy") is not None


class Topology(Stack):
    """A running ``trulybot up --replicas N`` (N = 1 or 2) and the addresses of its parts."""

    def __init__(self, data_dir: Path, postgres_url: str, redis_url: str, replicas: int = 2,
                 **overrides: str) -> None:
        self.replicas = replicas
        tag = f"r{replicas}_{os.getpid()}"
        self.database_url = fresh_postgres_database(postgres_url, f"{tag}_app")
        self.tracker_url = fresh_postgres_database(postgres_url, f"{tag}_tracker")
        self.base_port = free_port_block(2 * replicas)
        env = stack_env(data_dir, TRULYBOT_DATABASE_URL=self.database_url, TRULYBOT_TRACKER_STORE_URL=self.tracker_url,
                        TRULYBOT_REDIS_URL=redis_url, TRULYBOT_REPLICA_BASE_PORT=str(self.base_port),
                        TRULYBOT_TRUSTED_PROXIES="127.0.0.1/32", **overrides)
        super().__init__(env, ["--replicas", str(replicas)] if replicas > 1 else None)

    def bot_url(self, index: int) -> str:
        """Direct (not balanced) URL of bot-service replica ``index`` (1-based)."""
        return f"http://127.0.0.1:{self.base_port + 2 * (index - 1)}"

    def child_pid(self, name: str) -> int:
        """Pid of the child the supervisor calls ``name`` (``bot-1``, ``rasa-2``...), by its port."""
        index = int(name.rsplit("-", 1)[1])
        port = self.base_port + 2 * (index - 1) + (1 if name.startswith("rasa") else 0)
        for pid in self.children():
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if str(port).encode() in cmdline or self._listens(pid, port):
                return pid
        raise AssertionError(f"no child for {name} on port {port}")

    @staticmethod
    def _listens(pid: int, port: int) -> bool:
        return f"TRULYBOT_PORT={port}".encode() in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")

    def kill(self, name: str) -> int:
        """``kill -9`` one child; returns its pid."""
        pid = self.child_pid(name)
        os.killpg(pid, signal.SIGKILL)
        return pid

    def tracker_user_texts(self) -> Dict[str, List[str]]:
        """Every conversation's user messages, in order, read from the PostgreSQL tracker store."""
        engine = sa.create_engine(self.tracker_url, future=True)
        out: Dict[str, List[str]] = {}
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT sender_id, data FROM events WHERE type_name = 'user' ORDER BY id"))
            for sender, data in rows:
                import json

                out.setdefault(sender, []).append(json.loads(data).get("text"))
        engine.dispose()
        return out

    def close(self) -> Tuple[int, str]:
        """Stop the stack and drop its databases; returns (exit code, output tail)."""
        try:
            code = self.stop(30)
        finally:
            for url in (self.database_url, self.tracker_url):
                try:
                    drop_postgres_database(url)
                except Exception:  # noqa: BLE001 - cleanup only
                    pass
        return code, self.tail()
