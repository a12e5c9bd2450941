"""``trulybot up``: start, watch and stop the whole process tree.

Children (each in its own process group, killed if the supervisor dies): the store emulators (demo
mode), the action server, the Rasa server and the bot service. The supervisor waits until each answers
its health URL, prints one line with the URLs, relays children's output and keeps the last lines of
each. Relayed lines are redacted; with ``TRULYBOT_LOG_FORMAT=json`` every line is one JSON object
(a child's JSON line gets a ``process`` field, any other line is wrapped in one), otherwise each line
gets a ``[name]`` prefix. When a child dies it says which and why; it restarts the child up to
``TRULYBOT_RESTART_LIMIT`` times, after that it stops everything — never a half-alive stack. SIGINT
and SIGTERM stop every child within 10 s (SIGTERM, then SIGKILL).
"""
from __future__ import annotations

import asyncio
import collections
import ctypes
import json
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Awaitable, Callable, Deque, Dict, List, Optional, Sequence, Tuple

import aiohttp

from bot.core.logs import redact
from bot.core.settings import Settings

STOP_GRACE_SECONDS = 8.0
TAIL_LINES = 30
HEALTH_POLL_SECONDS = 0.5
RESTART_BACKOFF_SECONDS = 2.0
_PR_SET_PDEATHSIG = 1


class StartupError(RuntimeError):
    """The stack could not start; the message says what to fix."""


@dataclass
class ChildSpec:
    """How to run and check one child process."""

    name: str
    argv: List[str]
    health_url: str
    port: int
    port_variable: str
    env: Dict[str, str] = field(default_factory=dict)
    host: str = "127.0.0.1"
    # further (host, port, variable) the process binds, checked before start like ``port``
    extra_binds: List[Tuple[str, int, str]] = field(default_factory=list)


@dataclass
class Child:
    """A running child and what it printed last."""

    spec: ChildSpec
    process: Optional[asyncio.subprocess.Process] = None
    tail: Deque[str] = field(default_factory=lambda: collections.deque(maxlen=TAIL_LINES))
    restarts: int = 0
    relay: Optional["asyncio.Task[None]"] = None


def _die_with_parent() -> None:
    """Runs in the child before exec: new process group, SIGTERM when the supervisor dies."""
    os.setpgrp()
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def port_is_free(host: str, port: int) -> bool:
    """True when nothing listens on ``host:port`` and we may bind it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


BALANCER_CONFIG = Path("deploy") / "haproxy.cfg"
#: seconds the ``on_ready`` step may take before the banner is printed anyway
ON_READY_TIMEOUT = 60.0
REPLICA_HOST = "127.0.0.1"
# Rasa releases a conversation's lock after this many seconds when the Rasa process holding it died
# (Rasa's default is 60 s); longer than any turn (the action server's store budget is 4.5 s).
REPLICA_LOCK_LIFETIME_SECONDS = "8"


def replica_ports(settings: Settings, index: int) -> "tuple[int, int]":
    """(bot service port, Rasa port) of replica ``index`` (1-based) under ``trulybot up --replicas``."""
    base = settings.replica_base_port + 2 * (index - 1)
    return base, base + 1


def build_children(settings: Settings, model_path: Path, project: Path, emulators: bool,
                   replicas: int = 1) -> List[ChildSpec]:
    """The child processes of the stack for ``settings``.

    With ``replicas`` > 1: that many bot services and Rasa servers on loopback (ports from
    ``TRULYBOT_REPLICA_BASE_PORT``), one action server, and HAProxy (``deploy/haproxy.cfg``) on
    ``TRULYBOT_HOST:TRULYBOT_PORT`` for shoppers and on ``TRULYBOT_RASA_HOST:TRULYBOT_RASA_PORT`` for
    the bot services' calls to Rasa.
    """
    py = sys.executable
    specs: List[ChildSpec] = []
    if emulators:
        from bot.services.demo import demo_emulators

        for emulator in demo_emulators():
            port = settings.emulator_port(emulator.name, emulator.default_port)
            orders = (settings.platform_value(emulator.orders_env) or os.environ.get(emulator.orders_env)
                      if emulator.orders_env else None)
            variable = emulator.port_env
            specs.append(ChildSpec(f"{emulator.name}-emulator", emulator.argv(py, port=port, orders=orders),
                                   f"http://127.0.0.1:{port}{emulator.health_path}", port, variable))
    specs.append(
        ChildSpec(
            "actions",
            [py, "-m", "actions.server", "--host", settings.actions_host, "--port", str(settings.actions_port)],
            settings.actions_url + "/health",
            settings.actions_port,
            "TRULYBOT_ACTIONS_PORT",
            host=settings.actions_host,
        )
    )
    rasa_argv = [py, "-m", "bot.rasa.serve", "run", "--model", str(model_path)]
    bot_argv = [py, "-m", "bot.process.cli", "serve"]
    if replicas <= 1:
        specs.append(ChildSpec("rasa", rasa_argv + ["--interface", settings.rasa_host, "--port", str(settings.rasa_port)],
                               settings.rasa_url + "/webhooks/trulybot/health", settings.rasa_port,
                               "TRULYBOT_RASA_PORT", host=settings.rasa_host))
        specs.append(ChildSpec("bot", bot_argv, f"http://{_local(settings.host)}:{settings.port}/health/live",
                               settings.port, "TRULYBOT_PORT", host=settings.host))
        return specs
    trusted = ",".join([str(n) for n in settings.trusted_proxies] + [f"{REPLICA_HOST}/32"])
    balancer_env = {"TRULYBOT_LB_PUBLIC": f"{settings.host}:{settings.port}",
                    "TRULYBOT_LB_RASA": f"{settings.rasa_host}:{settings.rasa_port}"}
    for index in range(1, replicas + 1):
        bot_port, rasa_port = replica_ports(settings, index)
        specs.append(ChildSpec(f"rasa-{index}", rasa_argv + ["--interface", REPLICA_HOST, "--port", str(rasa_port)],
                               f"http://{REPLICA_HOST}:{rasa_port}/webhooks/trulybot/health", rasa_port,
                               "TRULYBOT_REPLICA_BASE_PORT", env={"TICKET_LOCK_LIFETIME": REPLICA_LOCK_LIFETIME_SECONDS}))
        specs.append(ChildSpec(f"bot-{index}", bot_argv, f"http://{REPLICA_HOST}:{bot_port}/health/live", bot_port,
                               "TRULYBOT_REPLICA_BASE_PORT",
                               env={"TRULYBOT_HOST": REPLICA_HOST, "TRULYBOT_PORT": str(bot_port),
                                    "TRULYBOT_TRUSTED_PROXIES": trusted}))
        balancer_env[f"TRULYBOT_BOT_{index}"] = f"{REPLICA_HOST}:{bot_port}"
        balancer_env[f"TRULYBOT_RASA_{index}"] = f"{REPLICA_HOST}:{rasa_port}"
    specs.append(ChildSpec("balancer", ["haproxy", "-f", str(project / BALANCER_CONFIG), "-db"],
                           # /health through both frontends: a bot replica, and Rasa behind the Rasa frontend
                           f"http://{_local(settings.host)}:{settings.port}/health", settings.port,
                           "TRULYBOT_PORT", env=balancer_env, host=settings.host,
                           extra_binds=[(settings.rasa_host, settings.rasa_port, "TRULYBOT_RASA_PORT")]))
    return specs


def _local(host: str) -> str:
    """Where this host reaches a service bound to ``host``."""
    return "127.0.0.1" if host in ("0.0.0.0", "", "localhost") else (f"[{host}]" if ":" in host else host)


def check_ports(settings: Settings, specs: Sequence[ChildSpec]) -> None:
    """Raise :class:`StartupError` naming the first port that is already taken."""
    seen: Dict[int, str] = {}
    for spec in specs:
        for host, port, variable in [(spec.host, spec.port, spec.port_variable), *spec.extra_binds]:
            if port in seen:
                raise StartupError(f"{variable} and {seen[port]} both use port {port}: give each its own port")
            seen[port] = variable
            if not port_is_free(host, port):
                raise StartupError(
                    f"port {port} ({variable}) on {host} is already in use: stop what runs there or set {variable}"
                )


class Supervisor:
    """Runs the children of the stack until a signal or an unrecoverable failure."""

    def __init__(self, specs: Sequence[ChildSpec], base_env: Dict[str, str], restart_limit: int,
                 startup_timeout: float, banner: str, cwd: Path, log_format: str = "text",
                 on_ready: Optional[Callable[[], Awaitable[None]]] = None) -> None:
        self.children = [Child(spec) for spec in specs]
        self.on_ready = on_ready
        self.base_env = base_env
        self.restart_limit = restart_limit
        self.startup_timeout = startup_timeout
        self.banner = banner
        self.cwd = cwd
        self.log_format = log_format
        self._stopping = asyncio.Event()
        self._exit_code = 0

    def say(self, message: str) -> None:
        """A supervisor line on stdout."""
        print(relay_line("trulybot", message, self.log_format), flush=True)

    async def _start(self, child: Child) -> None:
        env = {**self.base_env, **child.spec.env}
        child.process = await asyncio.create_subprocess_exec(
            *child.spec.argv,
            cwd=str(self.cwd),
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        child.relay = asyncio.ensure_future(self._relay(child, child.process))

    async def _relay(self, child: Child, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        while True:
            line = await process.stdout.readline()
            if not line:
                return
            text = line.decode("utf-8", "replace").rstrip()
            child.tail.append(text)
            print(relay_line(child.spec.name, text, self.log_format), flush=True)

    async def _healthy(self, session: aiohttp.ClientSession, child: Child) -> bool:
        try:
            async with session.get(child.spec.health_url, timeout=aiohttp.ClientTimeout(total=2)) as resp:
                return resp.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return False

    async def _wait_healthy(self, children: Sequence[Child]) -> None:
        deadline = time.monotonic() + self.startup_timeout
        pending = list(children)
        async with aiohttp.ClientSession() as session:
            while pending:
                for child in list(pending):
                    assert child.process is not None
                    if child.process.returncode is not None:
                        raise StartupError(self._death_report(child, "while starting"))
                    if await self._healthy(session, child):
                        pending.remove(child)
                if pending and time.monotonic() > deadline:
                    names = ", ".join(c.spec.name for c in pending)
                    raise StartupError(f"{names} did not become healthy within {self.startup_timeout:.0f} s")
                if pending:
                    await asyncio.sleep(HEALTH_POLL_SECONDS)

    def _death_report(self, child: Child, when: str) -> str:
        assert child.process is not None
        code = child.process.returncode
        reason = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        tail = "\n".join(f"    {line}" for line in list(child.tail)[-10:]) or "    (no output)"
        return f"{child.spec.name} died {when} ({reason}); its last lines:\n{tail}"

    async def run(self) -> int:
        """Start everything, wait for health, supervise; return the exit code."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._on_signal, sig)
        try:
            for child in self.children:
                await self._start(child)
            wait = asyncio.ensure_future(self._wait_healthy(self.children))
            stop = asyncio.ensure_future(self._stopping.wait())
            done, _ = await asyncio.wait({wait, stop}, return_when=asyncio.FIRST_COMPLETED)
            if stop in done:
                wait.cancel()
                return self._exit_code
            stop.cancel()
            wait.result()  # raises StartupError
            await self._run_on_ready()
            self.say(self.banner)
            await self._watch()
        except StartupError as exc:
            self.say(f"error: {exc}")
            self._exit_code = 1
        finally:
            await self._stop_all()
        return self._exit_code

    async def _run_on_ready(self) -> None:
        """The ``on_ready`` step (e.g. the demo stores' webhooks), bounded in time; it never stops the stack."""
        if self.on_ready is None:
            return
        try:
            await asyncio.wait_for(self.on_ready(), ON_READY_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - reported, the stack runs on
            self.say(f"note: the start-up step after the health checks failed ({type(exc).__name__}: {str(exc)[:200]})")

    def _on_signal(self, sig: int) -> None:
        if not self._stopping.is_set():
            self.say(f"received {signal.Signals(sig).name}, stopping all processes")
        self._stopping.set()

    async def _watch(self) -> None:
        while not self._stopping.is_set():
            waits = {asyncio.ensure_future(c.process.wait()): c for c in self.children if c.process}
            stop = asyncio.ensure_future(self._stopping.wait())
            done, pending = await asyncio.wait(set(waits) | {stop}, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            if stop in done:
                return
            for task in done:
                child = waits[task]
                if child.relay:
                    await asyncio.wait([child.relay], timeout=1)
                self.say(self._death_report(child, "unexpectedly"))
                if child.restarts >= self.restart_limit:
                    self.say(f"{child.spec.name} crashed {child.restarts + 1} time(s); restart limit "
                             f"({self.restart_limit}) reached, stopping the whole stack")
                    self._exit_code = 1
                    self._stopping.set()
                    return
                child.restarts += 1
                self.say(f"restarting {child.spec.name} (attempt {child.restarts} of {self.restart_limit})")
                await asyncio.sleep(RESTART_BACKOFF_SECONDS * child.restarts)
                await self._start(child)
                try:
                    await self._wait_healthy([child])
                except StartupError as exc:
                    self.say(f"error: {exc}")
                    self._exit_code = 1
                    self._stopping.set()
                    return
                self.say(f"{child.spec.name} is healthy again")

    async def _stop_all(self) -> None:
        running = [c for c in self.children if c.process and c.process.returncode is None]
        for child in reversed(running):
            _signal_group(child.process, signal.SIGTERM)  # type: ignore[arg-type]
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in running:
            assert child.process is not None
            try:
                await asyncio.wait_for(child.process.wait(), max(0.1, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                self.say(f"{child.spec.name} ignored SIGTERM, killing it")
                _signal_group(child.process, signal.SIGKILL)
                await child.process.wait()
        for child in self.children:
            if child.process:
                _signal_group(child.process, signal.SIGKILL)  # leftovers in the group, if any
            if child.relay:
                await asyncio.wait([child.relay], timeout=1)
        if running:
            self.say("all processes stopped")


def relay_line(process: str, text: str, log_format: str) -> str:
    """One line of ``process``'s output as the supervisor prints it (redacted, one line per event)."""
    text = redact(text)
    if log_format != "json":
        return f"[{process}] {text}"
    try:
        payload = json.loads(text)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        payload = {"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), "level": "INFO",
                   "logger": "stdout", "message": text}
    payload.setdefault("process", process)
    return json.dumps(payload, ensure_ascii=False)


def _signal_group(process: asyncio.subprocess.Process, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
