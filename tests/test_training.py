"""Model fingerprinting: retrain only when inputs change; corrupt models are detected."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.rasa.training import ModelError, check_model_file, current_model, expected_model_path, fingerprint

PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def project_copy(tmp_path: Path) -> Path:
    for name in ("config.yml", "domain.yml"):
        shutil.copy(PROJECT / name, tmp_path / name)
    shutil.copytree(PROJECT / "data", tmp_path / "data")
    return tmp_path


def test_fingerprint_follows_inputs(project_copy: Path):
    before = fingerprint(project_copy)
    assert fingerprint(project_copy) == before
    nlu = next((project_copy / "data").rglob("*.yml"))
    nlu.write_text(nlu.read_text() + "\n# comment\n")
    assert fingerprint(project_copy) != before
    changed = fingerprint(project_copy)
    (project_copy / "data" / "extra.yml").write_text("version: '3.1'\n")
    assert fingerprint(project_copy) != changed


def test_current_model_requires_matching_readable_archive(project_copy: Path, rasa_model_path: Path):
    models = project_copy / "models"
    assert current_model(project_copy, models) is None
    target = expected_model_path(project_copy, models)
    target.parent.mkdir()
    target.write_bytes(b"not a tarball")
    assert current_model(project_copy, models) is None
    with pytest.raises(ModelError, match="corrupt"):
        check_model_file(target)
    shutil.copy(rasa_model_path, target)
    assert current_model(project_copy, models) == target


def test_project_model_is_the_only_one(rasa_model_path: Path):
    assert rasa_model_path.exists()
    assert list(rasa_model_path.parent.glob("*.tar.gz")) == [rasa_model_path]
    from rasa.core.agent import Agent

    assert Agent.load(str(rasa_model_path)).is_ready()
