"""Cost of a turn as a conversation grows: ``python -m bench.longconv MODEL [--turns 62] [--conversations 4]``.

Runs in its own process and prints one JSON object. The model is loaded with ``Agent.load`` and served
with the same tracker store Rasa uses under ``trulybot up`` (``bot.rasa.stores.SettingsSQLTrackerStore``,
SQLite in a temp dir) and Rasa's speed-ups (``bot.rasa.speedups``). Each conversation sends the
comparable script's messages (domain responses only: no action server needed) over and over; every
turn's CPU time (``time.process_time``, stable on a shared machine) and wall time are recorded by turn
number. The figure of merit is the median CPU time of turns 46-55 ("turn 50") over turns 1-10 ("turn 5").
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def in_process_agent(model: Path) -> Any:
    """The model in an ``Agent`` with in-memory locks and the product's SQL tracker store
    (``TRULYBOT_TRACKER_STORE_URL``); call after :func:`bot.rasa.speedups.apply`."""
    from rasa.core.agent import Agent
    from rasa.core.lock_store import InMemoryLockStore

    from bot.rasa.stores import SettingsSQLTrackerStore

    agent = Agent.load(str(model), lock_store=InMemoryLockStore())
    agent.tracker_store = agent.processor.tracker_store = SettingsSQLTrackerStore(domain=agent.domain)
    return agent


def comparable_texts() -> List[str]:
    """Every paraphrase of the comparable script, in script order."""
    from bench.scenarios import COMPARABLE

    return [text for step in COMPARABLE[0].steps for text in step.texts]


async def run(model: Path, turns: int, conversations: int, profile: str = "", baseline: bool = False) -> Dict[str, Any]:
    from bot.rasa import speedups

    speedups.apply()
    if baseline:
        # Rasa's own code wherever a turn's cost depends on the conversation's length: the folds over
        # the whole tracker, the replaying tracker copy and the rule matching over every past state
        # (the other speed-ups stay: they cost the same at every turn).
        from rasa.core.policies.rule_policy import RulePolicy
        from rasa.shared.core.domain import Domain
        from rasa.shared.core.trackers import DialogueStateTracker

        from bot.rasa import rule_lookup, tracker_copy

        DialogueStateTracker.applied_events = speedups.ORIGINALS["applied_events"]
        Domain.states_for_tracker_history = speedups.ORIGINALS["states_for_tracker_history"]
        DialogueStateTracker.copy = tracker_copy.ORIGINAL_COPY
        RulePolicy._get_possible_keys = rule_lookup.ORIGINAL_GET_POSSIBLE_KEYS
    agent = in_process_agent(model)
    texts = comparable_texts()
    cpu: List[List[float]] = [[] for _ in range(turns)]
    wall: List[List[float]] = [[] for _ in range(turns)]
    replies: List[str] = []
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
    for c in range(conversations):
        sender = f"long-{c}-{time.time_ns()}"
        for n in range(turns):
            text = texts[(n * 7 + c) % len(texts)]
            profiling = profiler is not None and 45 <= n < 55
            if profiling:
                profiler.enable()
            t_cpu, t_wall = time.process_time(), time.perf_counter()
            out = await agent.handle_text(text, sender_id=sender)
            cpu[n].append((time.process_time() - t_cpu) * 1000)
            if profiling:
                profiler.disable()
            wall[n].append((time.perf_counter() - t_wall) * 1000)
            if not out:
                replies.append(f"turn {n + 1}: no reply to {text!r}")
    tracker = await agent.tracker_store.retrieve(sender)
    if profiler is not None:
        profiler.dump_stats(profile)

    def median(rows: List[List[float]], lo: int, hi: int) -> float:
        return round(statistics.median(v for row in rows[lo - 1:hi] for v in row), 2)

    result = {
        "turns": turns, "conversations": conversations,
        "events_at_end": len(tracker.events) if tracker else 0,
        "cpu_ms_turn5": median(cpu, 1, 10), "cpu_ms_turn50": median(cpu, 46, min(55, turns)),
        "wall_ms_turn5": median(wall, 1, 10), "wall_ms_turn50": median(wall, 46, min(55, turns)),
        "cpu_ms_by_turn": [round(statistics.median(row), 2) for row in cpu],
        "missing_replies": replies,
    }
    result["ratio_cpu"] = round(result["cpu_ms_turn50"] / result["cpu_ms_turn5"], 3)
    return result


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.longconv")
    parser.add_argument("model")
    parser.add_argument("--turns", type=int, default=62)
    parser.add_argument("--conversations", type=int, default=4)
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of turns 46-55 to FILE")
    parser.add_argument("--baseline", action="store_true",
                        help="Rasa's own behaviour where cost grows with length: no tracker cache, full replays of the "
                             "tracker for state queries and copies, rules matched against every past state")
    args = parser.parse_args(argv)
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    logging.getLogger().setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench-long-") as tmp:
        os.environ["TRULYBOT_TRACKER_STORE_URL"] = f"sqlite:///{tmp}/tracker.db"
        if args.baseline:
            os.environ["TRULYBOT_TRACKER_CACHE_SIZE"] = "0"
        result = asyncio.run(run(Path(args.model), args.turns, args.conversations, args.profile or "", args.baseline))
        result["baseline"] = args.baseline
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
