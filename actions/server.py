"""The action server: rasa_sdk's Sanic app with TrulyBot's actions, bound to the configured interface,
plus ``GET /metrics``. Started by ``trulybot up`` as ``python -m actions.server``; logs like every
TrulyBot process (``TRULYBOT_LOG_FORMAT``, redacted, Sanic's loggers included)."""
from __future__ import annotations

import argparse

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from rasa_sdk.endpoint import create_app
from sanic import response

from actions.metrics import REGISTRY
from bot.core.logs import configure_logging, route_sanic_logs_to_root
from bot.core.settings import load_settings


def build_app():  # -> sanic.Sanic
    """rasa_sdk's app for the ``actions`` package, with a Prometheus endpoint."""
    app = create_app("actions", cors_origins=None)

    @app.get("/metrics")
    async def metrics(_request):  # noqa: ANN001 - Sanic handler
        return response.raw(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)

    return app


def main() -> None:
    settings = load_settings()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=settings.actions_host)
    parser.add_argument("--port", type=int, default=settings.actions_port)
    args = parser.parse_args()
    app = build_app()
    configure_logging(settings.log_level, settings.log_format, "actions")
    route_sanic_logs_to_root()
    app.run(host=args.host, port=args.port, workers=1, access_log=False, motd=False)


if __name__ == "__main__":
    main()
