"""What each of Rasa's per-turn fast paths saves: ``python -m bench.fastpaths MODEL [--conversations 24]``.

Runs in its own process and prints one JSON object. The model is loaded with ``Agent.load`` and served
with the product's tracker store (SQLite in a temp dir) and every speed-up of :mod:`bot.rasa.speedups`.
Conversations of the comparable script (20 turns each) alternate between two modes — all fast paths
on, and one of them (or all) switched back to Rasa's or scikit-learn's own function — so that both
modes see the same machine load; the CPU time of each turn (``time.process_time``) is recorded, the
first two turns of a conversation left out (session start). The figure per fast path is the median
turn with it switched off over the median with everything on.
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
from typing import Any, Dict, List, Tuple

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

#: (object, attribute, fast value, original value)
Switch = Tuple[Any, str, Any, Any]


def switches(agent: Any) -> Dict[str, List[Switch]]:
    """Every fast path that can be switched off in a running process, by name."""
    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
    from rasa.shared.core.trackers import DialogueStateTracker
    from sklearn.linear_model import LogisticRegression

    from bot.rasa import graph_runner, rule_lookup, sentence_matrix, tracker_copy
    from bot.rasa.static_embeddings import StaticEmbeddingFeaturizer

    found: Dict[str, List[Switch]] = {
        "graph runner": [(DaskGraphRunner, "run", DaskGraphRunner.run, graph_runner.ORIGINAL_RUN)],
        "sentence matrix": [(LogisticRegressionClassifier, "_create_X", LogisticRegressionClassifier._create_X,
                             sentence_matrix.ORIGINAL_CREATE_X)],
        "rule matching": [(RulePolicy, "_get_possible_keys", RulePolicy._get_possible_keys,
                           rule_lookup.ORIGINAL_GET_POSSIBLE_KEYS)],
        "tracker copy": [(DialogueStateTracker, "copy", DialogueStateTracker.copy, tracker_copy.ORIGINAL_COPY)],
        "intent probabilities": [],
        "token vectors": [],
    }
    for node in agent.processor.graph_runner._instantiated_nodes.values():
        component = node._component
        clf = getattr(component, "clf", None)
        if isinstance(clf, LogisticRegression) and "predict_proba" in vars(clf):
            found["intent probabilities"].append(
                (clf, "predict_proba", clf.predict_proba, LogisticRegression.predict_proba.__get__(clf)))
        if isinstance(component, StaticEmbeddingFeaturizer):
            found["token vectors"].append((component, "token_vector", component.token_vector,
                                           component._token_vector))
    return found


def _set(items: List[Switch], fast: bool) -> None:
    for owner, attribute, fast_value, original in items:
        setattr(owner, attribute, fast_value if fast else original)


async def measure(agent: Any, texts: List[str], off: List[Switch], conversations: int,
                  turns: int = 20) -> Dict[str, float]:
    """Median CPU ms per turn with everything on and with ``off`` switched back, alternating."""
    samples: Dict[bool, List[float]] = {True: [], False: []}
    for c in range(conversations):
        fast = c % 2 == 0
        _set(off, fast)
        sender = f"fastpaths-{c}-{time.time_ns()}"
        for n in range(turns):
            started = time.process_time()
            await agent.handle_text(texts[(n * 7 + c) % len(texts)], sender_id=sender)
            if n >= 2:
                samples[fast].append((time.process_time() - started) * 1000)
    _set(off, True)
    on, original = statistics.median(samples[True]), statistics.median(samples[False])
    return {"cpu_ms_all_on": round(on, 2), "cpu_ms_this_off": round(original, 2),
            "ratio": round(original / on, 3)}


async def run(model: Path, conversations: int) -> Dict[str, Any]:
    from bench.longconv import comparable_texts, in_process_agent
    from bot.rasa import speedups

    speedups.apply()
    agent = in_process_agent(model)
    texts = comparable_texts()
    found = switches(agent)
    await measure(agent, texts, [], 2)  # warm-up: imports, caches of the first turns
    result: Dict[str, Any] = {"conversations": conversations, "turns": 20, "fast_paths": {}}
    for name, items in found.items():
        result["fast_paths"][name] = await measure(agent, texts, items, conversations) if items else "not installed"
    every = [item for items in found.values() for item in items]
    result["all"] = await measure(agent, texts, every, conversations)
    return result


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fastpaths")
    parser.add_argument("model")
    parser.add_argument("--conversations", type=int, default=24, help="per measurement, half in each mode")
    args = parser.parse_args(argv)
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TRULYBOT_TRACKER_STORE_URL"] = f"sqlite:///{tmp}/tracker.db"
        result = asyncio.run(run(Path(args.model), args.conversations))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
