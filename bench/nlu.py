"""NLU quality and speed on the held-out set (tests/nlu/test_nlu.yml, plus tests/nlu/blind_nlu.yml when present).

Runs in its own process (``python -m bench.nlu [--wait] NAME=MODEL...``; TensorFlow stays out of the load
generator) and prints one JSON object. With ``--wait`` it loads the models, prints ``READY`` and parses only
after a line on stdin (bench loads them while stock Rasa starts, and parses on an otherwise idle machine). Parsing and metrics reuse tests/nlu/nlu_eval.py (the helpers behind
the evaluation protocol, tests/nlu/protocol.py): each model is loaded with ``Agent.load`` and parses every held-out
message once with ``Agent.parse_message`` after 5 warm-up parses, one at a time.

With ``--fast-paths NAME`` the model ``NAME`` is then loaded again after :func:`bot.rasa.speedups.apply`
(the per-turn fast paths TrulyBot's Rasa runs with) and parsed again; its result goes under
``NAME_fast_paths``. The plain parses of every model come first, so stock and ``NAME`` are also
compared on plain Rasa.

Entity F1 is micro-averaged over (entity, value) pairs of order_number, email and postcode.
The fallback rate is the share of all held-out messages that ended as ``nlu_fallback``.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

PROJECT = Path(__file__).resolve().parents[1]
NLU_TESTS = PROJECT / "tests" / "nlu"


def entity_f1(parsed) -> Dict[str, float]:
    tp = fp = fn = 0
    for p in parsed:
        gold = list(p.example.entities)
        got = list(p.entities)
        for item in got:
            if item in gold:
                tp += 1
                gold.remove(item)
            else:
                fp += 1
        fn += len(gold)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def load(model: Path):
    from rasa.core.agent import Agent

    started = time.perf_counter()
    agent = Agent.load(str(model))
    return agent, {"model": model.name, "load_s": round(time.perf_counter() - started, 2)}


def evaluate(agent, out: Dict[str, Any], sets: Dict[str, Path]) -> Dict[str, Any]:
    sys.path.insert(0, str(NLU_TESTS))
    import nlu_eval  # tests/nlu/nlu_eval.py

    for name, path in sets.items():
        examples = nlu_eval.load_examples(path)
        parsed = asyncio.run(nlu_eval.parse_all(agent, examples))
        rep = nlu_eval.evaluate(parsed)
        lat = [p.latency_ms for p in parsed]
        out[name] = {
            "n": rep.n,
            "intent_macro_f1": round(rep.macro_f1, 4),
            "intent_accuracy": round(rep.accuracy, 4),
            "entity": entity_f1(parsed),
            "entity_exact": {k: round(v, 4) for k, v in rep.entity_exact.items()},
            "fallback_rate": round(sum(1 for p in parsed if p.intent == nlu_eval.FALLBACK) / max(len(parsed), 1), 4),
            "in_scope_fallback_rate": round(rep.in_scope_fallback_rate, 4),
            "oos_caught": round(rep.oos_caught, 4),
            "parse_p50_ms": round(nlu_eval.percentile(lat, 0.5), 2),
            "parse_p95_ms": round(nlu_eval.percentile(lat, 0.95), 2),
            "parse_mean_ms": round(sum(lat) / len(lat), 2) if lat else None,
        }
    return out


def main(argv: List[str]) -> int:
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    logging.getLogger().setLevel(logging.WARNING)
    sets = {"held_out": NLU_TESTS / "test_nlu.yml"}
    if (NLU_TESTS / "blind_nlu.yml").exists():
        sets["blind"] = NLU_TESTS / "blind_nlu.yml"
    wait = "--wait" in argv
    fast = argv[argv.index("--fast-paths") + 1] if "--fast-paths" in argv[:-1] else None
    loaded, paths = {}, {}
    for arg in argv:
        if arg.startswith("--") or arg == fast:
            continue
        name, _, path = arg.partition("=")
        paths[name] = Path(path)
        loaded[name] = load(paths[name])
    if wait:
        print("READY", flush=True)
        sys.stdin.readline()
    results = {name: evaluate(agent, meta, sets) for name, (agent, meta) in loaded.items()}
    if fast in paths:
        from bot.rasa import speedups

        speedups.apply()
        agent, meta = load(paths[fast])
        results[f"{fast}_fast_paths"] = evaluate(agent, meta, sets)
    print(json.dumps(results), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
