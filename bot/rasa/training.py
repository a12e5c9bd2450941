"""Training the Rasa model only when its inputs changed.

The model's file name carries a fingerprint of ``config.yml``, ``domain.yml`` and every file under
``data/`` (``models/trulybot-<fingerprint>.tar.gz``). ``train`` is a no-op when that file exists and
is a readable archive; otherwise it trains into a temporary directory, moves the result into
``models/`` and removes every other model, so exactly one current model remains.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import List, Optional

MODEL_PREFIX = "trulybot-"
FINGERPRINT_LENGTH = 16


class ModelError(RuntimeError):
    """The model is missing, corrupt, or training failed."""


def training_inputs(project: Path) -> List[Path]:
    """Every file whose content determines the model, in a stable order."""
    files = [project / "config.yml", project / "domain.yml"]
    data = project / "data"
    files += sorted(p for p in data.rglob("*") if p.is_file() and not p.name.startswith("."))
    return files


def fingerprint(project: Path) -> str:
    """A short hash of the training inputs' paths and contents."""
    digest = hashlib.sha256()
    for path in training_inputs(project):
        if not path.exists():
            raise ModelError(f"training input {path} is missing")
        digest.update(str(path.relative_to(project)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:FINGERPRINT_LENGTH]


def expected_model_path(project: Path, model_dir: Path) -> Path:
    """Where the model for the current inputs lives."""
    return _resolve(project, model_dir) / f"{MODEL_PREFIX}{fingerprint(project)}.tar.gz"


def _resolve(project: Path, path: Path) -> Path:
    return path if path.is_absolute() else project / path


def check_model_file(path: Path) -> None:
    """Raise :class:`ModelError` unless ``path`` is a readable Rasa model archive."""
    if not path.is_file():
        raise ModelError(f"no trained model at {path}: run 'make train'")
    try:
        with tarfile.open(path, "r:gz") as archive:
            names = archive.getnames()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ModelError(f"model file {path} is corrupt ({exc.__class__.__name__}): delete it and run 'make train'") from exc
    if not names:
        raise ModelError(f"model file {path} is empty: delete it and run 'make train'")


def current_model(project: Path, model_dir: Path) -> Optional[Path]:
    """The up-to-date, readable model, or None when training is needed."""
    path = expected_model_path(project, model_dir)
    try:
        check_model_file(path)
    except ModelError:
        return None
    return path


def latest_model(model_dir: Path) -> Optional[Path]:
    """The newest model archive in ``model_dir`` (whatever its fingerprint)."""
    models = sorted(model_dir.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


def train(project: Path, model_dir: Path, force: bool = False) -> Path:
    """Train if the inputs changed (or ``force``); return the current model's path."""
    target = expected_model_path(project, model_dir)
    if not force and current_model(project, model_dir) is not None:
        print(f"Model is up to date: {target.name}")
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="trulybot-train-") as tmp:
        command = [
            sys.executable, "-m", "rasa", "train",
            "--config", str(project / "config.yml"),
            "--domain", str(project / "domain.yml"),
            "--data", str(project / "data"),
            "--out", tmp,
            "--fixed-model-name", target.name[: -len(".tar.gz")],
        ]
        env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="3")
        print(f"Training the Rasa model (inputs changed, fingerprint {target.name[len(MODEL_PREFIX):-7]})...")
        result = subprocess.run(command, cwd=project, env=env)
        if result.returncode != 0:
            raise ModelError(f"'rasa train' failed with exit code {result.returncode}")
        produced = Path(tmp) / target.name
        if not produced.exists():
            raise ModelError(f"'rasa train' did not produce {produced.name}")
        check_model_file(produced)
        staging = target.with_suffix(".partial")
        shutil.move(str(produced), staging)
        os.replace(staging, target)
    for other in target.parent.glob("*.tar.gz"):
        if other != target:
            other.unlink()
    print(f"Trained {target.name} in {time.monotonic() - started:.1f} s")
    return target
