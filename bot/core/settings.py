"""All TrulyBot configuration, read once from ``TRULYBOT_*`` environment variables.

Every process (supervisor, bot service, Rasa, action server) builds its :class:`Settings` with
:func:`load_settings`. Defaults need no server: data lives under ``var/`` in SQLite files.
A value that cannot be used raises :class:`SettingsError` naming the variable and what it expects,
and the CLI turns that into one line and a non-zero exit code.
"""
from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Set, Tuple, TypeVar, Union

from sqlalchemy.engine import make_url

T = TypeVar("T")
IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

MODES = ("demo", "production")
LOG_FORMATS = ("json", "text")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class SettingsError(ValueError):
    """A configuration value is missing or invalid; the message says which and how to fix it."""


@dataclass(frozen=True)
class Variable:
    """Documentation of one environment variable (used by the README reference and `trulybot config`)."""

    name: str
    default: str
    help: str


# The single list of variables; the README's configuration reference mirrors it.
VARIABLES: Tuple[Variable, ...] = (
    Variable("TRULYBOT_MODE", "demo", "`demo` starts the store emulators and seeds demo stores; `production` requires real keys and secrets."),
    Variable("TRULYBOT_HOST", "127.0.0.1", "Interface the public bot service binds to."),
    Variable("TRULYBOT_PORT", "8000", "Port of the public bot service (widget socket, API, dashboard, /health)."),
    Variable("TRULYBOT_PUBLIC_URL", "http://<host>:<port>", "External base URL of the bot service (widget socket URL, OAuth redirects)."),
    Variable("TRULYBOT_RASA_HOST", "127.0.0.1", "Interface the Rasa server binds to (keep it private)."),
    Variable("TRULYBOT_RASA_PORT", "5005", "Port of the Rasa server."),
    Variable("TRULYBOT_NEW_SESSIONS_PER_ADDRESS", "30", "New widget conversations per client address group (IPv6: its /64) per 10 minutes; resumed sessions do not count."),
    Variable("TRULYBOT_NEW_SESSIONS_PER_STORE", "3000", "New widget conversations per store per 10 minutes (each is a database row); raise it for a store with more traffic."),
    Variable("TRULYBOT_RASA_CONCURRENCY", "8", "Shopper turns one bot service sends to Rasa at once; further turns queue in the bot service (their shoppers see `typing`)."),
    Variable("TRULYBOT_RASA_QUEUE_SECONDS", "30", "How long a queued turn waits for one of those slots before the shopper gets `unavailable`."),
    Variable("TRULYBOT_ACTIONS_HOST", "127.0.0.1", "Interface the action server binds to (keep it private)."),
    Variable("TRULYBOT_ACTIONS_PORT", "5055", "Port of the action server."),
    Variable("TRULYBOT_ACTION_ENDPOINT_URL", "http://<actions host>:<actions port>/webhook", "Where Rasa calls custom actions."),
    Variable("TRULYBOT_<PLATFORM>_EMULATOR_PORT", "(the plugin's default)", "Port of an installed platform's store emulator (demo mode)."),
    Variable("TRULYBOT_DEMO_<PLATFORM>_ORDERS", "(built-in seed)", "JSON file of orders, in the platform's own shape, for that platform's demo store."),
    Variable("TRULYBOT_<PLATFORM>_<SETTING>", "(the plugin's default)", "An app setting a platform plugin declares (`Platform.app_settings`, e.g. an OAuth app's key and secret); `trulybot config --reference` lists them."),
    Variable("TRULYBOT_DATA_DIR", "var", "Directory for SQLite files, generated demo keys and logs."),
    Variable("TRULYBOT_DATABASE_URL", "sqlite:///<data dir>/trulybot.db", "SQLAlchemy URL of the app database (SQLite or postgresql://)."),
    Variable("TRULYBOT_TRACKER_CACHE_SIZE", "500", "Conversations whose trackers each Rasa process keeps in memory between turns (write-through; 0 turns the cache off)."),
    Variable("TRULYBOT_TRACKER_STORE_URL", "sqlite:///<data dir>/rasa-tracker.db", "SQLAlchemy URL of Rasa's tracker store."),
    Variable("TRULYBOT_REDIS_URL", "(unset)", "redis:// URL; enables the Redis lock store, rate-limit counters and cross-replica push."),
    Variable("TRULYBOT_LOCK_STORE_URL", "(TRULYBOT_REDIS_URL)", "redis:// URL of Rasa's lock store; in-memory when unset and no Redis is configured."),
    Variable("TRULYBOT_MODEL_DIR", "models", "Where `make train` leaves the trained Rasa model."),
    Variable("TRULYBOT_ENCRYPTION_KEYS", "(unset)", "Credential keys `kid:base64key[,kid:base64key...]`, newest last. Overrides the key file."),
    Variable("TRULYBOT_KEY_FILE", "<data dir>/keys.json", "Key ring file; generated on first run in demo mode only."),
    Variable("TRULYBOT_CHANNEL_SECRET", "(generated in demo mode)", "Shared secret signing bot service → Rasa requests (at least 32 characters)."),
    Variable("TRULYBOT_SESSION_SECRET", "(generated in demo mode)", "Secret signing widget session tokens and cookies (at least 32 characters)."),
    Variable("TRULYBOT_TRUSTED_PROXIES", "(none)", "Comma-separated IPs/CIDRs whose X-Forwarded-For is believed."),
    Variable("TRULYBOT_HEALTH_CHECK_INTERVAL", "300", "Seconds between background checks of each connected store (failures back off up to an hour)."),
    Variable("TRULYBOT_PLUGINS", "(all installed)", "Comma-separated allow-list of platform plugins to load (read by plugins.manager)."),
    Variable("TRULYBOT_DISABLED_PLUGINS", "(none)", "Comma-separated platform plugins not to load (read by plugins.manager)."),
    Variable("TRULYBOT_LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING or ERROR."),
    Variable("TRULYBOT_LOG_FORMAT", "text", "`json` for one JSON object per line, `text` for humans."),
    Variable("TRULYBOT_RESTART_LIMIT", "3", "How many times `trulybot up` restarts a crashed child before stopping the whole stack (0 = never restart)."),
    Variable("TRULYBOT_REPLICA_BASE_PORT", "8010", "`trulybot up --replicas N`: bot-service replica i listens on base + 2(i-1), Rasa replica i on base + 2(i-1) + 1 (loopback)."),
    Variable("TRULYBOT_STARTUP_TIMEOUT", "180", "Seconds `trulybot up` waits for every process to become healthy."),
    Variable("TRULYBOT_SMTP_HOST", "(unset)", "SMTP server for handoff notification emails and team invitations; no email is sent when unset."),
    Variable("TRULYBOT_SMTP_PORT", "587", "Port of the SMTP server."),
    Variable("TRULYBOT_SMTP_TLS", "starttls", "`starttls`, `tls` (implicit TLS, usually port 465) or `none` (loopback relays only)."),
    Variable("TRULYBOT_SMTP_USER", "(unset)", "SMTP user name (no login when unset)."),
    Variable("TRULYBOT_SMTP_PASSWORD", "(unset)", "SMTP password."),
    Variable("TRULYBOT_SMTP_FROM", "trulybot@<public host>", "Sender address of notification and invitation emails."),
    Variable("TRULYBOT_TRANSCRIPT_RETENTION_DAYS", "90", "Days a conversation's transcript (Rasa tracker events) and its email index are kept after its last message; purged hourly."),
    Variable("TRULYBOT_EXPORT_RETENTION_DAYS", "30", "Days a privacy data-request export file that nobody downloaded stays in `<data dir>/exports` before it is deleted (a download through the API deletes it at once)."),
    Variable("TRULYBOT_DEMO_PUBLIC_BIND", "0", "`1` lets demo mode bind a non-loopback `TRULYBOT_HOST` (demo mode generates keys and uses the emulators' public demo app secrets: never for real stores)."),
    Variable("TRULYBOT_METRICS_TOKEN", "(unset: loopback scrapes only)", "Bearer token `GET /metrics` requires (at least 32 characters); without it only direct loopback peers may scrape."),
    Variable("TRULYBOT_STORE_LOOPBACK_PORTS", "(emulator ports in demo mode, none in production)",
             "Comma-separated loopback ports store calls may reach; every other private, loopback or link-local address is refused."),
)

SMTP_TLS = ("starttls", "tls", "none")


@dataclass(frozen=True)
class Settings:
    """Validated configuration shared by every TrulyBot process."""

    mode: str = "demo"
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""
    rasa_host: str = "127.0.0.1"
    rasa_port: int = 5005
    rasa_concurrency: int = 8
    rasa_queue_seconds: int = 30
    new_sessions_per_address: int = 30
    new_sessions_per_store: int = 3000
    actions_host: str = "127.0.0.1"
    actions_port: int = 5055
    action_endpoint_url: str = ""
    data_dir: Path = Path("var")
    database_url: str = ""
    tracker_store_url: str = ""
    tracker_cache_size: int = 500
    redis_url: Optional[str] = None
    lock_store_url: Optional[str] = None
    model_dir: Path = Path("models")
    encryption_keys: Optional[str] = None
    key_file: Path = Path("var/keys.json")
    channel_secret: Optional[str] = None
    session_secret: Optional[str] = None
    trusted_proxies: Tuple[IPNetwork, ...] = field(default_factory=tuple)
    log_level: str = "INFO"
    log_format: str = "text"
    restart_limit: int = 3
    startup_timeout: int = 180
    replica_base_port: int = 8010
    health_check_interval: int = 300
    smtp_host: Optional[str] = None
    smtp_port: int = 587
    smtp_tls: str = "starttls"
    smtp_user: Optional[str] = None
    smtp_password: Optional[str] = None
    smtp_from: Optional[str] = None
    store_loopback_ports: Tuple[int, ...] = ()
    #: every other ``TRULYBOT_*`` variable, sorted: the platforms' app settings
    #: (``TRULYBOT_<PLATFORM>_<SETTING>``), emulator ports and demo seed files, which the plugins declare
    platform_env: Tuple[Tuple[str, str], ...] = ()
    metrics_token: Optional[str] = None
    demo_public_bind: bool = False
    transcript_retention_days: int = 90
    export_retention_days: int = 30

    @property
    def demo(self) -> bool:
        """True in demo mode (emulators and demo stores)."""
        return self.mode == "demo"

    @property
    def rasa_url(self) -> str:
        """Base URL the bot service uses to reach Rasa."""
        return f"http://{_url_host(self.rasa_host)}:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        """Base URL of the action server (health checks)."""
        return f"http://{_url_host(self.actions_host)}:{self.actions_port}"

    def platform_value(self, name: str) -> Optional[str]:
        """The value of the platform variable ``name`` (see ``platform_env``), stripped; None when unset."""
        value = dict(self.platform_env).get(name, "").strip()
        return value or None

    def emulator_port(self, platform: str, default: int) -> int:
        """Port of a demo store emulator: ``TRULYBOT_<PLATFORM>_EMULATOR_PORT`` (these settings, else
        the process environment), else ``default`` (the plugin's ``EmulatorSpec`` port)."""
        name = emulator_port_variable(platform)
        value = self.platform_value(name)
        return int(value) if value else _Reader(os.environ).port(name, default)

    def emulator_url(self, platform: str, default_port: int = 0) -> str:
        """Base URL of a demo store emulator on loopback."""
        return f"http://127.0.0.1:{self.emulator_port(platform, default_port)}"

    def to_env(self) -> Dict[str, str]:
        """The environment that reproduces these settings in a child process."""
        env: Dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if f.name == "platform_env":
                env.update(value)
                continue
            if f.name in ("trusted_proxies", "store_loopback_ports"):
                value = ",".join(str(n) for n in value)
            elif isinstance(value, bool):
                value = "1" if value else "0"
            env[f"TRULYBOT_{f.name.upper()}"] = str(value)
        return env


def load_settings(environ: Optional[Mapping[str, str]] = None) -> Settings:
    """Read and validate settings from ``environ`` (default: the process environment)."""
    env = os.environ if environ is None else environ
    read = _Reader(env)
    mode = read.choice("TRULYBOT_MODE", "demo", MODES)
    host = read.host("TRULYBOT_HOST", "127.0.0.1")
    port = read.port("TRULYBOT_PORT", 8000)
    data_dir = Path(read.text("TRULYBOT_DATA_DIR", "var"))
    rasa_host = read.host("TRULYBOT_RASA_HOST", "127.0.0.1")
    actions_host = read.host("TRULYBOT_ACTIONS_HOST", "127.0.0.1")
    actions_port = read.port("TRULYBOT_ACTIONS_PORT", 5055)
    redis_url = read.redis_url("TRULYBOT_REDIS_URL")
    settings = Settings(
        mode=mode,
        host=host,
        port=port,
        public_url=read.http_url("TRULYBOT_PUBLIC_URL", f"http://{_url_host(host)}:{port}").rstrip("/"),
        rasa_host=rasa_host,
        rasa_port=read.port("TRULYBOT_RASA_PORT", 5005),
        rasa_concurrency=read.integer("TRULYBOT_RASA_CONCURRENCY", 8, minimum=1, maximum=1000),
        rasa_queue_seconds=read.integer("TRULYBOT_RASA_QUEUE_SECONDS", 30, minimum=1, maximum=600),
        new_sessions_per_address=read.integer("TRULYBOT_NEW_SESSIONS_PER_ADDRESS", 30, minimum=1, maximum=1_000_000),
        new_sessions_per_store=read.integer("TRULYBOT_NEW_SESSIONS_PER_STORE", 3000, minimum=1, maximum=10_000_000),
        actions_host=actions_host,
        actions_port=actions_port,
        action_endpoint_url=read.http_url(
            "TRULYBOT_ACTION_ENDPOINT_URL", f"http://{_url_host(actions_host)}:{actions_port}/webhook"
        ),
        data_dir=data_dir,
        database_url=read.database_url("TRULYBOT_DATABASE_URL", f"sqlite:///{data_dir}/trulybot.db"),
        tracker_cache_size=read.integer("TRULYBOT_TRACKER_CACHE_SIZE", 500, minimum=0, maximum=1_000_000),
        tracker_store_url=read.database_url("TRULYBOT_TRACKER_STORE_URL", f"sqlite:///{data_dir}/rasa-tracker.db"),
        redis_url=redis_url,
        lock_store_url=read.redis_url("TRULYBOT_LOCK_STORE_URL") or redis_url,
        model_dir=Path(read.text("TRULYBOT_MODEL_DIR", "models")),
        encryption_keys=read.optional("TRULYBOT_ENCRYPTION_KEYS"),
        key_file=Path(read.text("TRULYBOT_KEY_FILE", str(data_dir / "keys.json"))),
        channel_secret=read.secret("TRULYBOT_CHANNEL_SECRET"),
        session_secret=read.secret("TRULYBOT_SESSION_SECRET"),
        trusted_proxies=read.networks("TRULYBOT_TRUSTED_PROXIES"),
        log_level=read.choice("TRULYBOT_LOG_LEVEL", "INFO", LOG_LEVELS, upper=True),
        log_format=read.choice("TRULYBOT_LOG_FORMAT", "text", LOG_FORMATS),
        restart_limit=read.integer("TRULYBOT_RESTART_LIMIT", 3, minimum=0, maximum=100),
        startup_timeout=read.integer("TRULYBOT_STARTUP_TIMEOUT", 180, minimum=5, maximum=3600),
        replica_base_port=read.integer("TRULYBOT_REPLICA_BASE_PORT", 8010, minimum=1, maximum=65000),
        health_check_interval=read.integer("TRULYBOT_HEALTH_CHECK_INTERVAL", 300, minimum=5, maximum=86400),
        smtp_host=read.optional("TRULYBOT_SMTP_HOST"),
        smtp_port=read.port("TRULYBOT_SMTP_PORT", 587),
        smtp_tls=read.choice("TRULYBOT_SMTP_TLS", "starttls", SMTP_TLS),
        smtp_user=read.optional("TRULYBOT_SMTP_USER"),
        smtp_password=read.optional("TRULYBOT_SMTP_PASSWORD"),
        smtp_from=read.optional("TRULYBOT_SMTP_FROM"),
        metrics_token=read.secret("TRULYBOT_METRICS_TOKEN"),
        demo_public_bind=read.flag("TRULYBOT_DEMO_PUBLIC_BIND"),
        transcript_retention_days=read.integer("TRULYBOT_TRANSCRIPT_RETENTION_DAYS", 90, minimum=1, maximum=3650),
        export_retention_days=read.integer("TRULYBOT_EXPORT_RETENTION_DAYS", 30, minimum=1, maximum=365),
        store_loopback_ports=read.ports("TRULYBOT_STORE_LOOPBACK_PORTS", _emulator_ports(env) if mode == "demo" else ()),
        platform_env=_platform_env(env, read),
    )
    if read.errors:
        raise SettingsError("; ".join(read.errors))
    return settings


def is_loopback_bind(host: str) -> bool:
    """True when binding ``host`` only listens on loopback (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def demo_exposure_problem(settings: Settings) -> Optional[str]:
    """Why these settings must not start (demo mode on a non-loopback interface without
    ``TRULYBOT_DEMO_PUBLIC_BIND=1``), or None."""
    if settings.demo and not settings.demo_public_bind and not is_loopback_bind(settings.host):
        return (f"demo mode refuses to listen on TRULYBOT_HOST={settings.host}: demo mode generates its keys and uses the "
                "emulators' public demo app secrets. Set TRULYBOT_MODE=production with your own keys and secrets, "
                "or TRULYBOT_DEMO_PUBLIC_BIND=1 to expose the demo anyway")
    return None


def demo_notice(settings: Settings) -> Optional[str]:
    """The start-up line that says the service runs in demo mode (None in production)."""
    if not settings.demo:
        return None
    where = "loopback only" if is_loopback_bind(settings.host) else f"{settings.host} (TRULYBOT_DEMO_PUBLIC_BIND=1)"
    return (f"DEMO MODE on {where}: generated keys, the emulators' public demo app secrets and store emulators; "
            "set TRULYBOT_MODE=production for real stores")


def emulator_port_variable(platform: str) -> str:
    """``TRULYBOT_<PLATFORM>_EMULATOR_PORT``."""
    return f"TRULYBOT_{platform.upper()}_EMULATOR_PORT"


def demo_orders_variable(platform: str) -> str:
    """``TRULYBOT_DEMO_<PLATFORM>_ORDERS``."""
    return f"TRULYBOT_DEMO_{platform.upper()}_ORDERS"


_EMULATOR_PORT = re.compile(r"TRULYBOT_[A-Z0-9_]+_EMULATOR_PORT")
_DEMO_ORDERS = re.compile(r"TRULYBOT_DEMO_[A-Z0-9_]+_ORDERS")


def _core_names() -> Set[str]:
    return {v.name for v in VARIABLES} | {f"TRULYBOT_{f.name.upper()}" for f in fields(Settings)}


def _platform_env(env: Mapping[str, str], read: "_Reader") -> Tuple[Tuple[str, str], ...]:
    """The ``TRULYBOT_*`` variables that are not the core's, sorted; emulator ports and demo
    seed files are checked here (the plugins' app settings where they are read)."""
    core = _core_names()
    found = []
    for name in sorted(env):
        if not name.startswith("TRULYBOT_") or name in core:
            continue
        if _EMULATOR_PORT.fullmatch(name):
            read.port(name, 0)
        elif _DEMO_ORDERS.fullmatch(name):
            read.existing_file(name)
        found.append((name, env[name]))
    return tuple(found)


def _emulator_ports(env: Mapping[str, str]) -> Tuple[int, ...]:
    """The store emulators' ports: the built-in emulators' defaults and every ``TRULYBOT_<NAME>_EMULATOR_PORT``."""
    ports = {8101, 8102}
    for name, value in env.items():
        if name.startswith("TRULYBOT_") and name.endswith("_EMULATOR_PORT") and value.strip().isdigit() and value.strip().isascii():
            ports.add(int(value.strip()))
    return tuple(sorted(p for p in ports if 0 < p < 65536))


def _url_host(host: str) -> str:
    """A bind address as it appears in a URL (0.0.0.0 → loopback, IPv6 in brackets)."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


class _Reader:
    """Reads variables, collecting every problem so one run reports them all."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.errors: List[str] = []

    def _get(self, name: str) -> Optional[str]:
        value = self.env.get(name)
        if value is None:
            return None
        value = value.strip()
        return value or None

    def _parse(self, name: str, default: T, parse: Callable[[str], T], expects: str, secret: bool = False) -> T:
        raw = self._get(name)
        if raw is None:
            return default
        try:
            return parse(raw)
        except (ValueError, TypeError):
            shown = name if secret else f"{name}={raw!r}"
            self.errors.append(f"{shown} is invalid: expected {expects}")
            return default

    def text(self, name: str, default: str) -> str:
        return self._get(name) or default

    def optional(self, name: str) -> Optional[str]:
        return self._get(name)

    def choice(self, name: str, default: str, choices: Tuple[str, ...], upper: bool = False) -> str:
        def parse(raw: str) -> str:
            value = raw.upper() if upper else raw.lower()
            if value not in choices:
                raise ValueError(raw)
            return value

        return self._parse(name, default, parse, "one of " + ", ".join(choices))

    def integer(self, name: str, default: int, minimum: int, maximum: int) -> int:
        def parse(raw: str) -> int:
            value = int(raw)
            if not minimum <= value <= maximum:
                raise ValueError(raw)
            return value

        return self._parse(name, default, parse, f"an integer from {minimum} to {maximum}")

    def port(self, name: str, default: int) -> int:
        return self.integer(name, default, 1, 65535)

    def host(self, name: str, default: str) -> str:
        def parse(raw: str) -> str:
            if any(c in raw for c in "/ @?#"):
                raise ValueError(raw)
            return raw

        return self._parse(name, default, parse, "a host name or IP address, e.g. 127.0.0.1")

    def http_url(self, name: str, default: str) -> str:
        def parse(raw: str) -> str:
            if not raw.startswith(("http://", "https://")) or len(raw) < 10:
                raise ValueError(raw)
            return raw

        return self._parse(name, default, parse, "an http:// or https:// URL")

    def optional_http_url(self, name: str) -> Optional[str]:
        def parse(raw: str) -> str:
            if not raw.startswith(("http://", "https://")) or len(raw) < 10:
                raise ValueError(raw)
            return raw.rstrip("/")

        return self._parse(name, None, parse, "an http:// or https:// URL")

    def database_url(self, name: str, default: str) -> str:
        def parse(raw: str) -> str:
            url = make_url(raw)  # raises ArgumentError (a ValueError subclass) when unreadable
            if url.get_backend_name() not in ("sqlite", "postgresql"):
                raise ValueError(raw)
            return raw

        try:
            return self._parse(name, default, parse, "a sqlite:/// or postgresql:// SQLAlchemy URL")
        except Exception:  # noqa: BLE001 - any parse failure is a configuration error
            self.errors.append(f"{name} is invalid: expected a sqlite:/// or postgresql:// SQLAlchemy URL")
            return default

    def redis_url(self, name: str) -> Optional[str]:
        def parse(raw: str) -> str:
            if not raw.startswith(("redis://", "rediss://")):
                raise ValueError(raw)
            return raw

        return self._parse(name, None, parse, "a redis:// or rediss:// URL")

    def existing_file(self, name: str) -> Optional[Path]:
        def parse(raw: str) -> Path:
            path = Path(raw)
            if not path.is_file():
                raise ValueError(raw)
            return path

        return self._parse(name, None, parse, "the path of an existing, readable JSON file")

    def secret(self, name: str) -> Optional[str]:
        def parse(raw: str) -> str:
            if len(raw) < 32:
                raise ValueError(raw)
            return raw

        return self._parse(name, None, parse, "at least 32 characters of random data", secret=True)

    def flag(self, name: str) -> bool:
        def parse(raw: str) -> bool:
            value = raw.lower()
            if value not in ("0", "1", "true", "false", "yes", "no"):
                raise ValueError(raw)
            return value in ("1", "true", "yes")

        return self._parse(name, False, parse, "1 or 0")

    def ports(self, name: str, default: Tuple[int, ...]) -> Tuple[int, ...]:
        def parse(raw: str) -> Tuple[int, ...]:
            ports = tuple(int(part.strip()) for part in raw.split(",") if part.strip())
            if any(not 0 < p < 65536 for p in ports):
                raise ValueError(raw)
            return ports

        return self._parse(name, default, parse, "comma-separated port numbers")

    def networks(self, name: str) -> Tuple[IPNetwork, ...]:
        def parse(raw: str) -> Tuple[IPNetwork, ...]:
            return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip())

        return self._parse(name, (), parse, "comma-separated IP addresses or CIDR networks")
