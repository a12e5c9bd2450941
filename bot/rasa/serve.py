"""Run the Rasa server the way ``trulybot up`` does: ``python -m bot.rasa.serve [rasa run options]``.

What it adds to ``rasa run``:

- **Logging** as every TrulyBot process logs (``TRULYBOT_LOG_FORMAT``, ``TRULYBOT_LOG_LEVEL``): one
  line per event, JSON or text, personal data redacted; Rasa's coloured console handler and Sanic's
  own handlers are replaced by TrulyBot's.
- **Endpoints**: ``endpoints.yml`` names the default action server (``http://127.0.0.1:5055/webhook``)
  so a plain ``rasa run`` / ``rasa shell`` works from the repository root. This wrapper writes a
  copy with ``TRULYBOT_ACTION_ENDPOINT_URL`` (default: ``TRULYBOT_ACTIONS_HOST``/``_PORT``) into the
  data directory and runs Rasa with it.
- ``--credentials credentials.yml`` (the signed TrulyBot channel only).

Options given on the command line are passed to ``rasa run`` unchanged (``--model``,
``--interface``, ``--port``, ...).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

from bot.core.logs import configure_logging, route_sanic_logs_to_root
from bot.core.settings import Settings, load_settings

PROJECT = Path(__file__).resolve().parents[2]


def endpoints_for(settings: Settings, project: Path = PROJECT) -> Path:
    """Write ``<data dir>/rasa-endpoints.yml``: the project's endpoints with the configured action URL."""
    data: Dict[str, Any] = yaml.safe_load((project / "endpoints.yml").read_text(encoding="utf-8")) or {}
    data["action_endpoint"] = {**(data.get("action_endpoint") or {}), "url": settings.action_endpoint_url}
    data_dir = settings.data_dir if settings.data_dir.is_absolute() else project / settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "rasa-endpoints.yml"
    partial = path.with_name(f".{path.name}.{os.getpid()}")  # replicas may write at the same moment
    partial.write_text("# Written by bot.rasa.serve from endpoints.yml; do not edit.\n"
                       + yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    os.replace(partial, path)
    return path


def rasa_argv(settings: Settings, options: List[str], project: Path = PROJECT) -> List[str]:
    """``rasa run`` arguments: endpoints with the configured action URL, the signed channel, ``options``."""
    return ["rasa", "run", "--endpoints", str(endpoints_for(settings, project)),
            "--credentials", str(project / "credentials.yml"), *options]


def _use_trulybot_logging(settings: Settings) -> None:
    """Make Rasa's CLI install TrulyBot's handler where it would install coloured console logging."""
    import rasa.utils.io

    def configure(_level: Any = None) -> None:
        configure_logging(settings.log_level, settings.log_format, "rasa")
        route_sanic_logs_to_root()

    rasa.utils.io.configure_colored_logging = configure  # type: ignore[assignment]
    os.environ.setdefault("LOG_LEVEL", settings.log_level)


def main(argv: Optional[List[str]] = None) -> None:
    """Run ``rasa run`` with TrulyBot's logging and endpoints."""
    settings = load_settings()
    options = list(sys.argv[1:] if argv is None else argv)
    if options[:1] == ["run"]:
        options = options[1:]
    _use_trulybot_logging(settings)
    sys.argv = rasa_argv(settings, options)
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
