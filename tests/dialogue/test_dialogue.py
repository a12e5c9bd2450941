"""Dialogue policies against the test stories, through Rasa's own test command."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_every_story_is_predicted_exactly(rasa_model_path, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "rasa", "test", "core", "--model", str(rasa_model_path),
         "--stories", str(PROJECT / "tests" / "dialogue" / "test_stories.yml"), "--out", str(tmp_path),
         "--no-plot", "--fail-on-prediction-errors"],
        cwd=PROJECT, capture_output=True, text=True, env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"}, timeout=600,
    )
    failed = tmp_path / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else result.stdout[-3000:] + result.stderr[-3000:]
    assert result.returncode == 0, details
    report = json.loads((tmp_path / "story_report.json").read_text())
    assert report["conversation_accuracy"]["accuracy"] == 1.0, details
