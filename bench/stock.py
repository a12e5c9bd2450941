"""The stock Rasa 3.6 baseline: ``rasa init``'s default pipeline and policies trained on our data.

The model is cached under ``bench/.cache/stock-<fingerprint>/`` where the fingerprint covers
bench/stock_config.yml, domain.yml, every file under data/ and the Rasa version, so reruns do not
retrain. Training (DIET, ResponseSelector, UnexpecTED and TED, 100 epochs each) takes minutes.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Optional, Tuple

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
CACHE = HERE / ".cache"
STOCK_CONFIG = HERE / "stock_config.yml"
STOCK_ENDPOINTS = HERE / "stock_endpoints.yml"
STOCK_CREDENTIALS = HERE / "stock_credentials.yml"


def fingerprint(config: Path = STOCK_CONFIG) -> str:
    from importlib.metadata import version

    digest = hashlib.sha256()
    files = [config, PROJECT / "domain.yml"] + sorted(p for p in (PROJECT / "data").rglob("*") if p.is_file())
    for path in files:
        digest.update(str(path.relative_to(PROJECT)).encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(version("rasa").encode())
    return digest.hexdigest()[:16]


def cached_model(kind: str = "stock", config: Path = STOCK_CONFIG) -> Tuple[Optional[Path], Dict]:
    """(model path or None, metadata) of the cached model for the current inputs."""
    folder = CACHE / f"{kind}-{fingerprint(config)}"
    meta_file = folder / "meta.json"
    models = sorted(folder.glob("*.tar.gz"))
    if meta_file.exists() and models:
        return models[-1], json.loads(meta_file.read_text())
    return None, {"folder": str(folder)}


def train(kind: str = "stock", config: Path = STOCK_CONFIG, log=print) -> Tuple[Path, Dict]:
    """Train (or reuse) the model for ``config`` on data/ + domain.yml; returns (path, metadata)."""
    model, meta = cached_model(kind, config)
    if model is not None:
        return model, meta
    folder = Path(meta["folder"])
    folder.mkdir(parents=True, exist_ok=True)
    log(f"training the {kind} Rasa model ({config.name}) on data/ + domain.yml: this takes several minutes "
        f"on a 2-core machine, once (cached in {folder.relative_to(PROJECT)})")
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="3", LOG_LEVEL="WARNING")
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "rasa", "train", "--config", str(config), "--domain", str(PROJECT / "domain.yml"),
         "--data", str(PROJECT / "data"), "--out", str(folder), "--fixed-model-name", kind],
        cwd=folder, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    (folder / "train.log").write_text(proc.stdout + "\n" + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"training the {kind} model failed (log {folder / 'train.log'}):\n{proc.stderr[-2000:]}")
    model = sorted(folder.glob("*.tar.gz"))[-1]
    meta = {"folder": str(folder), "model": model.name, "train_s": round(seconds, 1),
            "trained_at": time.strftime("%Y-%m-%dT%H:%M:%S"), "fingerprint": fingerprint(config),
            "load_average_during_training": os.getloadavg()}
    (folder / "meta.json").write_text(json.dumps(meta, indent=2))
    for old in CACHE.glob(f"{kind}-*"):  # models of earlier inputs are never used again
        if old.is_dir() and old != folder:
            shutil.rmtree(old, ignore_errors=True)
    return model, meta


if __name__ == "__main__":
    print(train())
