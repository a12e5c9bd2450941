"""Command line of the emulators: serve until SIGTERM/SIGINT, then exit 0."""
from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from aiohttp import web

AppFactory = Callable[..., web.Application]


def build_parser(platform: str, default_port: int) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m plugins.{platform}.emulator", description=f"{platform} store emulator for demos, tests and benchmarks"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port)
    parser.add_argument("--orders", type=Path, help="JSON list of orders in the platform's REST shape (default: built-in demo seed)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="latency added to every store request")
    parser.add_argument("--error-rate", type=float, default=0.0, help="fraction of store requests answered with 503")
    parser.add_argument("--verbose", action="store_true", help="log requests to stderr")
    return parser


def load_orders_file(path: Path) -> List[Dict[str, Any]]:
    """Read a JSON list of order objects; ``ValueError`` with a clear message otherwise."""
    from plugins.seeds import load_orders_json

    return load_orders_json(path)


async def serve(app: web.Application, host: str, port: int, *, access_log: bool = False) -> None:
    """Serve ``app`` until SIGTERM or SIGINT."""
    # aiohttp's access log prints query strings (WooCommerce query-string auth puts keys there):
    # requests are logged by the fault middleware instead, path only
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        site = web.TCPSite(runner, host, port, reuse_address=True)
        await site.start()
        await stop.wait()
    finally:
        await runner.cleanup()


def importable_factory(create_app: AppFactory) -> AppFactory:
    """``create_app`` from the module as imported by name when it was defined in ``__main__``.

    ``python -m <module>`` runs the module as ``__main__``; an add-on that imports ``<module>`` by name
    gets a second copy with other app keys, and its handlers would not find the app's state.
    """
    if getattr(create_app, "__module__", None) != "__main__":
        return create_app
    name = getattr(getattr(sys.modules.get("__main__"), "__spec__", None), "name", None)
    if not name:
        return create_app
    import importlib

    return getattr(importlib.import_module(name), getattr(create_app, "__name__", "create_app"), create_app)


def run_emulator_cli(
    platform: str, default_port: int, create_app: AppFactory, argv: Optional[Sequence[str]] = None
) -> int:
    """Parse ``argv``, build the app and serve it. Returns the exit code."""
    create_app = importable_factory(create_app)
    args = build_parser(platform, default_port).parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    if not args.verbose:
        logging.getLogger("aiohttp").setLevel(logging.CRITICAL)
    orders = None
    if args.orders is not None:
        try:
            orders = load_orders_file(args.orders)
        except ValueError as exc:
            print(f"{platform} emulator: {exc}", file=sys.stderr)
            return 2
    app = create_app(orders, latency_ms=args.latency_ms, error_rate=args.error_rate)
    try:
        asyncio.run(serve(app, args.host, args.port, access_log=args.verbose))
    except OSError as exc:
        print(f"{platform} emulator: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0
