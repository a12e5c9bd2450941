"""Start the real TrulyBot stack (``trulybot up``) or a stock ``rasa run`` on free ports, for benchmarks."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional

from bench import procs

PROJECT = Path(__file__).resolve().parents[1]

#: New conversations per store per 10 minutes the bench's stacks allow (see ``Stack``).
BENCH_NEW_SESSIONS_PER_STORE = 10_000_000


def free_ports(count: int) -> List[int]:
    socks, ports = [], []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def http_json(url: str, body: Optional[dict] = None, timeout: float = 5.0) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else {}


class Service:
    """A supervised child process with its output kept (last lines) for error messages."""

    def __init__(self, argv: List[str], env: Dict[str, str], cwd: Path, name: str) -> None:
        self.name = name
        self.lines: List[str] = []
        self.process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, errors="replace", start_new_session=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if len(self.lines) > 5000:
                del self.lines[:1000]

    def tail(self, n: int = 40) -> str:
        return "\n".join(self.lines[-n:])

    def wait_for(self, check, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            if self.process.poll() is not None:
                time.sleep(0.3)
                raise RuntimeError(f"{self.name} exited ({self.process.returncode}) before {what}:\n{self.tail()}")
            time.sleep(0.25)
        raise RuntimeError(f"{self.name}: no {what} within {timeout:.0f} s:\n{self.tail()}")

    def stop(self, timeout: float = 20.0) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.process.wait()


class TrulyBotStack(Service):
    """``python -m bot.process.cli up`` in demo mode, on free ports, with its own data directory."""

    def __init__(self, data_dir: Path, **overrides: str) -> None:
        port, rasa, actions, woo, shop = free_ports(5)
        env = dict(os.environ)
        for key in ("TRULYBOT_DATABASE_URL", "TRULYBOT_TRACKER_STORE_URL", "TRULYBOT_KEY_FILE",
                    "TRULYBOT_ENCRYPTION_KEYS", "TRULYBOT_CHANNEL_SECRET", "TRULYBOT_SESSION_SECRET",
                    "TRULYBOT_REDIS_URL", "TRULYBOT_LOCK_STORE_URL", "TRULYBOT_PUBLIC_URL"):
            env.pop(key, None)
        env.update(
            TRULYBOT_MODE="demo", TRULYBOT_HOST="127.0.0.1", TRULYBOT_PORT=str(port),
            TRULYBOT_RASA_PORT=str(rasa), TRULYBOT_ACTIONS_PORT=str(actions),
            TRULYBOT_WOOCOMMERCE_EMULATOR_PORT=str(woo), TRULYBOT_SHOPIFY_EMULATOR_PORT=str(shop),
            TRULYBOT_DATA_DIR=str(data_dir), TRULYBOT_TRUSTED_PROXIES="127.0.0.1/32",
            TRULYBOT_LOG_LEVEL="WARNING", TRULYBOT_RESTART_LIMIT="0",
            # every simulated shopper opens a new conversation on one of two stores: far beyond the
            # default 3,000 new conversations per store per 10 minutes
            TRULYBOT_NEW_SESSIONS_PER_STORE=str(BENCH_NEW_SESSIONS_PER_STORE),
            RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1",
            SQLALCHEMY_SILENCE_UBER_WARNING="1", LOG_LEVEL="WARNING",
        )
        env.update(overrides)
        self.env = env
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}/ws"
        self.emulator_urls = {"woocommerce": f"http://127.0.0.1:{woo}", "shopify": f"http://127.0.0.1:{shop}"}
        super().__init__([sys.executable, "-m", "bot.process.cli", "up"], env, PROJECT, "trulybot up")

    def wait_ready(self, timeout: float = 240.0) -> None:
        self.wait_for(lambda: any("TrulyBot is up" in line for line in list(self.lines)), timeout, "'TrulyBot is up'")

    def processes(self) -> Dict[str, int]:
        """Role name -> pid of every process of the stack (supervisor included)."""
        out = {"supervisor": self.process.pid}
        for pid in procs.descendants(self.process.pid):
            name = procs.name_of(procs.cmdline(pid))
            out[name if name not in out else f"{name}-{pid}"] = pid
        return out

    def store_hits(self) -> Dict[str, int]:
        """Store API requests each emulator has answered so far."""
        out = {}
        for platform, url in self.emulator_urls.items():
            try:
                out[platform] = int(http_json(url + "/__emulator/stats").get("hits", 0))
            except (urllib.error.URLError, OSError, ValueError):
                out[platform] = -1
        return out

    def set_latency(self, latency_ms: float) -> None:
        for url in self.emulator_urls.values():
            http_json(url + "/__emulator/faults", {"latency_ms": latency_ms})


class StockRasa(Service):
    """Stock ``rasa run`` (REST channel, in-memory tracker store, no action server) on a free port."""

    def __init__(self, model: Path, workdir: Path, endpoints: Path, credentials: Path) -> None:
        (self.port,) = free_ports(1)
        self.base_url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1",
                   LOG_LEVEL="WARNING", SQLALCHEMY_SILENCE_UBER_WARNING="1")
        argv = [sys.executable, "-m", "rasa", "run", "--model", str(model), "--endpoints", str(endpoints),
                "--credentials", str(credentials), "--interface", "127.0.0.1", "--port", str(self.port),
                "--log-file", str(workdir / "stock-rasa.log")]
        super().__init__(argv, env, workdir, "stock rasa run")

    def _ready(self) -> bool:
        try:  # the REST channel answers once the model is loaded
            reply = http_json(self.base_url + "/webhooks/rest/webhook", {"sender": "warmup", "message": "bye"}, 10)
            return isinstance(reply, list)
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def wait_ready(self, timeout: float = 240.0) -> None:
        self.wait_for(self._ready, timeout, "a REST channel answer")

    def processes(self) -> Dict[str, int]:
        out = {"stock-rasa": self.process.pid}
        for pid in procs.descendants(self.process.pid):
            out[f"stock-rasa-child-{pid}"] = pid
        return out
