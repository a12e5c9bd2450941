"""Compare dialogue policy sets on the test stories: accuracy, prediction latency, training time.

Run by hand (not collected by pytest):

    .venv/bin/python -m tests.dialogue.compare_policies [--out /tmp/policies]

Each candidate is the project's NLU pipeline plus a policy set. It is trained with ``rasa train``,
then evaluated in-process with Rasa's story test on ``tests/dialogue/test_stories.yml``; latency is
the test's wall time divided by the number of predicted actions (NLU is not involved: test stories
carry their intents).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

import yaml

PROJECT = Path(__file__).resolve().parents[2]
STORIES = PROJECT / "tests" / "dialogue" / "test_stories.yml"

RULE = {"name": "RulePolicy", "core_fallback_threshold": 0.3, "core_fallback_action_name": "action_fallback",
        "enable_fallback_prediction": True}
MEMO = {"name": "MemoizationPolicy", "max_history": 5}
TED = {"name": "TEDPolicy", "max_history": 5, "epochs": 50, "constrain_similarities": True}

CANDIDATES: Dict[str, List[Dict[str, Any]]] = {
    "Memoization + Rule (chosen)": [MEMO, RULE],
    "Rule only": [RULE],
    "Memoization + Rule + TED (50 epochs)": [MEMO, RULE, TED],
}


def _config(policies: List[Dict[str, Any]]) -> Dict[str, Any]:
    config = yaml.safe_load((PROJECT / "config.yml").read_text())
    config["policies"] = policies
    return config


def _train(name: str, policies: List[Dict[str, Any]], out: Path) -> "tuple[Path, float]":
    slug = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
    config_path = out / f"{slug}.yml"
    config_path.write_text(yaml.safe_dump(_config(policies)))
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "rasa", "train", "--config", str(config_path), "--domain", str(PROJECT / "domain.yml"),
         "--data", str(PROJECT / "data"), "--out", str(out), "--fixed-model-name", slug],
        cwd=PROJECT, check=True, capture_output=True, env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
    )
    return out / f"{slug}.tar.gz", time.monotonic() - started


async def _evaluate(model: Path, out: Path) -> Dict[str, Any]:
    from rasa.core.agent import Agent
    from rasa.core.test import test

    agent = Agent.load(str(model))
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    await test(str(STORIES), agent, out_directory=str(out), disable_plotting=True, errors=False, warnings=False)
    elapsed = time.monotonic() - started
    report = json.loads((out / "story_report.json").read_text())
    actions = sum(v.get("support", 0) for k, v in report.items() if isinstance(v, dict) and "support" in v
                  and k not in ("micro avg", "macro avg", "weighted avg", "accuracy", "conversation_accuracy"))
    return {
        "conversation_accuracy": report["conversation_accuracy"]["accuracy"],
        "action_f1": report.get("weighted avg", {}).get("f1-score"),
        "ms_per_prediction": 1000 * elapsed / max(actions, 1),
        "predictions": actions,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="/tmp/trulybot-policies")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, policies in CANDIDATES.items():
        model, train_seconds = _train(name, policies, out)
        result = asyncio.run(_evaluate(model, out / (model.name.split(".")[0] + "-results")))
        rows.append({"policies": name, "train_s": round(train_seconds, 1), **result})
        print(json.dumps(rows[-1]), flush=True)
    print("\n| policies | story accuracy | action F1 | ms / prediction | full training (s) |\n|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['policies']} | {row['conversation_accuracy']:.3f} | {row['action_f1']:.3f} | "
              f"{row['ms_per_prediction']:.1f} | {row['train_s']} |")


if __name__ == "__main__":
    main()
