"""Session fixtures: the trained model (trained once, reused while its inputs are unchanged) and
the running demo stack shared by integration tests."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

from tests.support.stack import PROJECT, Stack, stack_env

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    """Run browser tests last: Playwright's sync API runs an event loop in the main thread while a
    browser is open, which would break asyncio tests scheduled in between."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(scope="session")
def rasa_model_path() -> Path:
    """The current trained model; trains first when data/, config.yml or domain.yml changed."""
    from bot.rasa.training import train

    return train(PROJECT, Path("models"))


@pytest.fixture(scope="session")
def demo_stack(rasa_model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One ``trulybot up`` demo stack on free ports for the whole session (read-mostly tests).

    Loopback is a trusted proxy here, so tests act as distinct shoppers with ``X-Forwarded-For``
    (as the load benchmark does) and per-address limits of one test do not leak into another.
    """
    stack = Stack(stack_env(tmp_path_factory.mktemp("stack"), TRULYBOT_TRUSTED_PROXIES="127.0.0.1/32"))
    try:
        stack.wait_ready()
        yield stack
    finally:
        stack.stop()
