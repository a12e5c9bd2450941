"""CPU seconds and RSS of processes, read from /proc (no psutil)."""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat(pid: int) -> Optional[List[str]]:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` (0.0 once it is gone)."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    # fields[0] is state (field 3 of stat); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_bytes(pid: int) -> int:
    """Resident set size of ``pid`` in bytes (0 once it is gone)."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def hwm_bytes(pid: int) -> int:
    """Peak RSS over the process lifetime (VmHWM)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def children(pid: int) -> List[int]:
    """Direct children of ``pid``."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None and int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def descendants(pid: int) -> List[int]:
    out: List[int] = []
    todo = [pid]
    while todo:
        kids = children(todo.pop())
        out.extend(kids)
        todo.extend(kids)
    return out


def cmdline(pid: int) -> List[str]:
    try:
        return [a for a in Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace").split("\0") if a]
    except OSError:
        return []


def name_of(argv: List[str]) -> str:
    """A short role name for a TrulyBot / Rasa process from its command line."""
    text = " ".join(argv)
    if "rasa_sdk" in text or "actions.server" in text:
        return "actions"
    if "rasa run" in text or "bot.rasa.serve" in text:
        return "rasa"
    if "bot.process.cli serve" in text:
        return "bot"
    if "bot.process.cli up" in text:
        return "supervisor"
    for platform in ("woocommerce", "shopify"):
        if platform in text:
            return f"{platform}-emulator"
    return os.path.basename(argv[0]) if argv else "?"


@dataclass
class ProcUsage:
    name: str
    pid: int
    cpu_s: float = 0.0
    peak_rss: int = 0
    rss_start: int = 0
    rss_end: int = 0

    def as_dict(self) -> Dict[str, float]:
        mb = 1024 * 1024
        return {"pid": self.pid, "cpu_s": round(self.cpu_s, 3), "peak_rss_mb": round(self.peak_rss / mb, 1),
                "rss_start_mb": round(self.rss_start / mb, 1), "rss_end_mb": round(self.rss_end / mb, 1)}


@dataclass
class Sampler:
    """Samples RSS of a set of processes every ``interval`` seconds in a thread; CPU from start to stop."""

    pids: Callable[[], Dict[str, int]]
    interval: float = 0.2
    usage: Dict[str, ProcUsage] = field(default_factory=dict)
    peak_total: int = 0  #: highest sum of the processes' RSS seen in one sample
    _cpu0: Dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: Optional[threading.Thread] = None

    def start(self) -> "Sampler":
        for name, pid in self.pids().items():
            rss = rss_bytes(pid)
            self.usage[name] = ProcUsage(name, pid, peak_rss=rss, rss_start=rss)
            self._cpu0[name] = cpu_seconds(pid)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        total = 0
        for u in self.usage.values():
            rss = rss_bytes(u.pid)
            total += rss
            u.peak_rss = max(u.peak_rss, rss)
        self.peak_total = max(self.peak_total, total)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def stop(self) -> Dict[str, ProcUsage]:
        self._stop.set()
        if self._thread:
            self._thread.join()
        self._sample()
        for name, u in self.usage.items():
            u.cpu_s = cpu_seconds(u.pid) - self._cpu0[name]
            u.rss_end = rss_bytes(u.pid)
        return self.usage


def self_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def wait_until(predicate: Callable[[], bool], timeout: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


TCP_COUNTERS = ("ListenOverflows", "ListenDrops", "TCPSynRetrans", "TCPTimeouts")


def tcp_counters() -> Dict[str, int]:
    """Kernel TCP counters of this network namespace (accept-queue overflows, SYN retransmits)."""
    try:
        lines = [line.split() for line in Path("/proc/net/netstat").read_text().splitlines() if line.startswith("TcpExt:")]
    except OSError:
        return {}
    if len(lines) < 2:
        return {}
    values = dict(zip(lines[0][1:], lines[1][1:]))
    return {k: int(values[k]) for k in TCP_COUNTERS if k in values}
