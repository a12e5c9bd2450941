"""The ``trulybot`` command line.

Subcommands: ``up`` (whole stack, supervised), ``serve`` (bot service only), ``train``,
``db upgrade``, ``demo seed``, ``keys init|rotate|reencrypt|generate|status``, ``config``.
Every configuration or start-up problem ends in one line on stderr and a non-zero exit code.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

PROJECT = Path(__file__).resolve().parents[2]
EXIT_CONFIG = 2


class CommandError(RuntimeError):
    """A command cannot proceed; the message says what to fix."""


def _python_ok() -> None:
    if not (3, 8) <= sys.version_info[:2] <= (3, 10):
        raise CommandError(
            f"TrulyBot needs Python 3.8-3.10 (Rasa 3.6); this is {sys.version.split()[0]}. Use 'make run', which finds Python 3.10."
        )


def _settings():  # -> Settings (imported lazily so `--help` stays fast)
    from bot.core.settings import load_settings
    from bot.core.shared_secrets import with_secrets

    return with_secrets(load_settings())


def _refuse_public_demo(settings, *, log: bool = False) -> None:
    """Stop when demo mode would listen beyond loopback without consent; otherwise say it is demo
    mode (printed by ``up``, logged by ``serve``)."""
    from bot.core.settings import demo_exposure_problem, demo_notice

    problem = demo_exposure_problem(settings)
    if problem:
        raise CommandError(problem)
    notice = demo_notice(settings)
    if notice and log:
        logging.getLogger("bot.process").warning(notice)
    elif notice:
        print(f"[trulybot] {notice}", flush=True)


def _key_ring(settings):
    from bot.core.crypto import load_key_ring

    return load_key_ring(settings.encryption_keys, settings.key_file, settings.demo)


def _sessions(settings):
    from bot.core.db import make_engine, make_sessionmaker

    return make_sessionmaker(make_engine(settings.database_url))


def _upgrade_database(settings) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    from bot.core.db.migrate import upgrade

    try:
        upgrade(settings.database_url)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).splitlines()[0]
        raise CommandError(f"cannot migrate the database at TRULYBOT_DATABASE_URL: {reason}") from exc


def _check_database_at_head(settings) -> None:
    from alembic.script import ScriptDirectory
    from sqlalchemy.exc import SQLAlchemyError

    from bot.core.db.migrate import alembic_config, current_revision

    head = ScriptDirectory.from_config(alembic_config(settings.database_url)).get_current_head()
    try:
        current = current_revision(settings.database_url)
    except SQLAlchemyError as exc:
        raise CommandError(f"cannot open the database at TRULYBOT_DATABASE_URL: {str(getattr(exc, 'orig', exc)).splitlines()[0]}") from exc
    if current != head:
        raise CommandError(f"the database is at revision {current or 'none'}, not {head}: run 'trulybot db upgrade'")


def _seed_demo(settings) -> List[str]:
    from bot.services.demo import seed_demo

    return seed_demo(settings, _sessions(settings), _key_ring(settings))


def _check_replica_prerequisites(settings) -> None:
    """Several replicas share conversations only through Redis and need HAProxy in front."""
    import shutil

    if not settings.redis_url:
        raise CommandError("--replicas needs TRULYBOT_REDIS_URL (Rasa lock store, push fan-out, rate limits shared by the replicas)")
    if shutil.which("haproxy") is None:
        raise CommandError("--replicas runs HAProxy in front of the replicas: install it (Debian: apt-get install haproxy)")


# --- commands --------------------------------------------------------------------------------

def cmd_up(args: argparse.Namespace) -> int:
    """Migrate, seed demo data, then start and supervise every process."""
    from bot.process.supervisor import Supervisor, build_children, check_ports
    from bot.rasa.training import ModelError, check_model_file, current_model, latest_model

    settings = _settings()
    _refuse_public_demo(settings)
    _key_ring(settings)  # fails early outside demo mode without a key
    model = current_model(PROJECT, settings.model_dir)
    if model is None:
        model = latest_model(PROJECT / settings.model_dir if not settings.model_dir.is_absolute() else settings.model_dir)
        if model is None:
            raise CommandError("no trained model in models/: run 'make train' (make run does it for you)")
        try:
            check_model_file(model)
        except ModelError as exc:
            raise CommandError(str(exc)) from exc
        print(f"[trulybot] note: {model.name} is older than data/ or config: run 'make train' to update it", flush=True)
    _upgrade_database(settings)
    emulators = settings.demo and not args.no_emulators
    widgets: List[str] = _seed_demo(settings) if settings.demo else []
    if args.replicas > 1:
        _check_replica_prerequisites(settings)
    specs = build_children(settings, model, PROJECT, emulators=emulators, replicas=args.replicas)
    try:
        check_ports(settings, specs)
    except Exception as exc:  # StartupError
        raise CommandError(str(exc)) from exc
    import os

    env = dict(os.environ)
    env.update(settings.to_env())
    env.update({"RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1",
                "SQLALCHEMY_SILENCE_UBER_WARNING": "1"})
    parts = [f"bot {settings.public_url}", f"health {settings.public_url}/health"]
    if settings.demo:
        parts.insert(0, f"widget demo {settings.public_url}/demo (widgets: {', '.join(widgets)})")
    parts += [f"rasa {settings.rasa_url}", f"actions {settings.actions_url}"]
    if args.replicas > 1:
        parts.append(f"{args.replicas} bot-service and Rasa replicas behind HAProxy")
    if emulators:
        parts += [f"{spec.name} {spec.health_url.rsplit('/__', 1)[0]}" for spec in specs if spec.name.endswith("-emulator")]
    banner = "TrulyBot is up: " + " | ".join(parts)
    supervisor = Supervisor(specs, env, settings.restart_limit, settings.startup_timeout, banner, PROJECT,
                            log_format=settings.log_format,
                            on_ready=_demo_webhooks(settings, widgets) if emulators and widgets else None)
    return asyncio.run(supervisor.run())


def _demo_webhooks(settings, widgets: List[str]):
    """The step after the health checks in demo mode: register the demo stores' webhooks at their emulators."""
    async def register() -> None:
        from bot.services.demo_webhooks import register_demo_webhooks

        results = await register_demo_webhooks(settings, _sessions(settings), _key_ring(settings), widgets)
        failed = {w: e for w, e in results.items() if e}
        if failed:
            print("[trulybot] note: demo webhooks not registered for " +
                  ", ".join(f"{w} ({e})" for w, e in sorted(failed.items())), flush=True)

    return register


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the bot service alone (normally started by ``trulybot up``)."""
    from aiohttp import web

    from bot.app import create_app
    from bot.core.logs import configure_logging

    settings = _settings()
    configure_logging(settings.log_level, settings.log_format, "bot")
    _refuse_public_demo(settings, log=True)
    _check_database_at_head(settings)
    app = create_app(settings)
    web.run_app(app, host=settings.host, port=settings.port, print=None, shutdown_timeout=5, access_log=None)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Train the Rasa model if ``data/``, ``config.yml`` or ``domain.yml`` changed."""
    from bot.core.settings import load_settings
    from bot.rasa.training import ModelError, train

    try:
        train(PROJECT, load_settings().model_dir, force=args.force)
    except ModelError as exc:
        raise CommandError(str(exc)) from exc
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    settings = _settings()
    _upgrade_database(settings)
    print("Database is at the latest revision.")
    return 0


def cmd_demo_seed(args: argparse.Namespace) -> int:
    settings = _settings()
    if not settings.demo:
        raise CommandError("demo data is only seeded in demo mode (TRULYBOT_MODE=demo)")
    _upgrade_database(settings)
    print("Demo stores: " + ", ".join(_seed_demo(settings)))
    return 0


def cmd_keys_generate(args: argparse.Namespace) -> int:
    """Print a new key entry for TRULYBOT_ENCRYPTION_KEYS."""
    from bot.core.crypto import generate_key, new_key_id

    print(f"{new_key_id()}:{generate_key()}")
    return 0


def cmd_keys_init(args: argparse.Namespace) -> int:
    """Create the key file with one new key (refuses to overwrite)."""
    from bot.core.crypto import KeyRing
    from bot.core.settings import load_settings

    settings = load_settings()
    if settings.key_file.exists():
        raise CommandError(f"{settings.key_file} already exists; use 'trulybot keys rotate' to add a key")
    KeyRing.generate().save(settings.key_file)
    print(f"Created {settings.key_file} (keep it secret and backed up).")
    return 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    """Add a new current key to the key file and re-encrypt every credential under it."""
    from bot.services.credentials import reencrypt_all

    settings = _settings()
    if settings.encryption_keys:
        raise CommandError("keys come from TRULYBOT_ENCRYPTION_KEYS: append a new entry ('trulybot keys generate'), "
                           "then run 'trulybot keys reencrypt'")
    ring = _key_ring(settings).with_new_key()
    _upgrade_database(settings)
    # Save first: the file keeps every old key, so rows not yet re-encrypted still decrypt, and a
    # failure below (one transaction, rolled back) loses nothing.
    ring.save(settings.key_file)
    changed = reencrypt_all(_sessions(settings), ring)
    print(f"New current key {ring.current}; re-encrypted {changed} value(s).")
    return 0


def cmd_keys_reencrypt(args: argparse.Namespace) -> int:
    """Re-encrypt every credential under the current key (after adding a key by hand)."""
    from bot.services.credentials import reencrypt_all

    settings = _settings()
    _upgrade_database(settings)
    changed = reencrypt_all(_sessions(settings), _key_ring(settings))
    print(f"Re-encrypted {changed} value(s).")
    return 0


def cmd_keys_status(args: argparse.Namespace) -> int:
    """Print every key of the ring with the number of values it has encrypted, against the bound."""
    from bot.core.crypto import MAX_ENCRYPTIONS_PER_KEY
    from bot.services.key_usage import needs_rotation_soon, usage

    settings = _settings()
    ring = _key_ring(settings)
    _upgrade_database(settings)
    with _sessions(settings)() as session:
        counts = usage(session)
    for kid in sorted(set(ring.keys) | set(counts)):
        n = counts.get(kid, 0)
        marks = [m for m, on in (("current", kid == ring.current), ("not in the key ring", kid not in ring.keys),
                                 ("rotate soon", needs_rotation_soon(n))) if on]
        print(f"{kid}\t{n} of {MAX_ENCRYPTIONS_PER_KEY} encryptions" + (f"\t({', '.join(marks)})" if marks else ""))
    return 0


def cmd_merchants(args: argparse.Namespace) -> int:
    """``merchants create|list`` and ``merchants token create|list|revoke`` (bot.api.cli)."""
    from bot.api.cli import run_merchants

    settings = _settings()
    _upgrade_database(settings)
    try:
        return run_merchants(args, _sessions(settings))
    except (LookupError, ValueError) as exc:
        raise CommandError(str(exc)) from exc


def platform_variables() -> List[Any]:
    """The variables the installed platform plugins declare: app settings, emulator ports, demo seeds."""
    from bot.core.settings import Variable, demo_orders_variable
    from plugins.manager import get_emulators, get_platforms

    found = []
    for name, cls in sorted(get_platforms().items()):
        for setting in cls.app_settings:
            default = setting.default or ("(demo app in demo mode)" if setting.demo_default else "(unset)")
            found.append(Variable(setting.env_name(name), default, f"{cls.display_name}: {setting.help}"))
    for name, spec in sorted(get_emulators().items()):
        found.append(Variable(spec.port_env, str(spec.default_port), f"Port of the {name} emulator (demo mode)."))
        found.append(Variable(spec.orders_env or demo_orders_variable(name), "(built-in seed)",
                              f"JSON file of {name} orders for the demo store."))
    return found


def cmd_config(args: argparse.Namespace) -> int:
    """Print the configuration reference, or validate the current environment."""
    from bot.core.settings import VARIABLES, load_settings

    if args.reference:
        for var in VARIABLES:
            print(f"| `{var.name}` | `{var.default}` | {var.help} |")
        for var in platform_variables():
            print(f"| `{var.name}` | `{var.default}` | {var.help} |")
        return 0
    settings = load_settings()
    print(f"Configuration is valid (mode {settings.mode}).")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trulybot", description="TrulyBot order-tracking chatbot")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start and supervise the whole stack")
    up.add_argument("--no-emulators", action="store_true", help="do not start the store emulators in demo mode")
    up.add_argument("--replicas", type=int, choices=(1, 2), default=1,
                    help="bot-service and Rasa processes, behind HAProxy when 2 (deploy/haproxy.cfg; needs TRULYBOT_REDIS_URL)")
    up.set_defaults(func=cmd_up)
    sub.add_parser("serve", help="run the bot service only").set_defaults(func=cmd_serve)
    train = sub.add_parser("train", help="train the Rasa model when its inputs changed")
    train.add_argument("--force", action="store_true", help="train even when the model is current")
    train.set_defaults(func=cmd_train)

    db = sub.add_parser("db", help="database commands").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)
    demo = sub.add_parser("demo", help="demo mode commands").add_subparsers(dest="demo_command", required=True)
    demo.add_parser("seed", help="create or refresh the demo merchant and stores").set_defaults(func=cmd_demo_seed)
    keys = sub.add_parser("keys", help="credential encryption keys").add_subparsers(dest="keys_command", required=True)
    keys.add_parser("init", help="create the key file").set_defaults(func=cmd_keys_init)
    keys.add_parser("generate", help="print a new kid:key entry").set_defaults(func=cmd_keys_generate)
    keys.add_parser("rotate", help="add a key to the key file and re-encrypt everything").set_defaults(func=cmd_keys_rotate)
    keys.add_parser("reencrypt", help="re-encrypt everything under the current key").set_defaults(func=cmd_keys_reencrypt)
    keys.add_parser("status", help="encryptions counted per key, against the per-key bound").set_defaults(func=cmd_keys_status)
    from bot.api.cli import add_merchants_parser

    add_merchants_parser(sub, cmd_merchants)
    config = sub.add_parser("config", help="validate the configuration")
    config.add_argument("--reference", action="store_true", help="print the variable reference as a Markdown table")
    config.set_defaults(func=cmd_config)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the ``trulybot`` console script."""
    args = build_parser().parse_args(argv)
    from bot.core.crypto import KeyRingError
    from bot.core.settings import SettingsError

    try:
        _python_ok()
        return int(args.func(args) or 0)
    except (CommandError, SettingsError, KeyRingError) as exc:
        print(f"trulybot: error: {exc}", file=sys.stderr)
        return EXIT_CONFIG if isinstance(exc, SettingsError) else 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
