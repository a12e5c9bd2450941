"""Run the real TrulyBot process tree (``trulybot up``) on free ports for integration tests."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional

from tests.support.ports import free_ports

PROJECT = Path(__file__).resolve().parents[2]
TRULYBOT = [sys.executable, "-m", "bot.process.cli"]


def child_pids(pid: int) -> List[int]:
    """Direct children of ``pid``, read from /proc."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            children.append(int(entry.name))
    return children


def pid_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def stack_env(data_dir: Path, **overrides: str) -> Dict[str, str]:
    """Environment for a demo stack on fresh free ports with its own data directory."""
    port, rasa, actions, woo, shop = free_ports(5)
    env = dict(os.environ)
    from plugins.manager import get_emulators

    for spec in get_emulators().values():  # emulators of installed plugin packages
        env[spec.port_env] = str(free_ports(1)[0])
    env.update(
        TRULYBOT_MODE="demo",
        TRULYBOT_PORT=str(port),
        TRULYBOT_RASA_PORT=str(rasa),
        TRULYBOT_ACTIONS_PORT=str(actions),
        TRULYBOT_WOOCOMMERCE_EMULATOR_PORT=str(woo),
        TRULYBOT_SHOPIFY_EMULATOR_PORT=str(shop),
        TRULYBOT_DATA_DIR=str(data_dir),
        RASA_TELEMETRY_ENABLED="false",
        PYTHONUNBUFFERED="1",
    )
    for key in ("TRULYBOT_DATABASE_URL", "TRULYBOT_TRACKER_STORE_URL", "TRULYBOT_KEY_FILE",
                "TRULYBOT_ENCRYPTION_KEYS", "TRULYBOT_CHANNEL_SECRET", "TRULYBOT_SESSION_SECRET"):
        env.pop(key, None)
    env.update(overrides)
    return env


class Stack:
    """A ``trulybot up`` process and what it printed."""

    def __init__(self, env: Dict[str, str], args: Optional[List[str]] = None) -> None:
        self.env = env
        self.port = int(env["TRULYBOT_PORT"])
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws"
        self.rasa_url = f"http://127.0.0.1:{env['TRULYBOT_RASA_PORT']}"
        self.actions_url = f"http://127.0.0.1:{env['TRULYBOT_ACTIONS_PORT']}"
        self.lines: List[str] = []
        self.process = subprocess.Popen(
            TRULYBOT + ["up"] + (args or []), cwd=PROJECT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, needle: str, timeout: float = 180.0) -> str:
        """Wait until a printed line contains ``needle``; fail with the output otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if needle in line:
                    return line
            if self.process.poll() is not None:
                time.sleep(0.5)  # let the reader drain
                for line in list(self.lines):
                    if needle in line:
                        return line
                raise AssertionError(f"trulybot up exited ({self.process.returncode}) before {needle!r}:\n{self.tail()}")
            time.sleep(0.2)
        raise AssertionError(f"no {needle!r} within {timeout} s:\n{self.tail()}")

    def wait_ready(self, timeout: float = 180.0) -> str:
        """Wait for the supervisor's 'TrulyBot is up' line."""
        return self.wait_for_line("TrulyBot is up", timeout)

    def get(self, path: str, timeout: float = 10.0) -> "tuple[int, bytes]":
        """GET a path of the bot service; returns (status, body)."""
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=timeout) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def children(self) -> List[int]:
        return child_pids(self.process.pid)

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.lines[-lines:])

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM the supervisor and wait for it; returns its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"trulybot up did not stop within {timeout} s:\n{self.tail()}")
