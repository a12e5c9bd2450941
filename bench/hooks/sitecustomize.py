"""Hooks into the processes of a stack that bench starts (``python -m bench --profile ... --patch ...``).

bench puts this directory on PYTHONPATH of the stack it starts; Python imports ``sitecustomize`` in every
process, which looks at its own command line to know its role (rasa, actions, bot).

- BENCH_PROFILE=rasa,actions,bot: the listed processes run under cProfile from start to exit and write
  BENCH_PROFILE_DIR/<role>.prof at exit (Rasa, rasa_sdk and aiohttp exit normally on SIGTERM).
- BENCH_PATCH=validator,sqlite-wal,keepalive,eventcache: prototypes of fixes, applied in the Rasa process only, to measure
  their gain before they are made in bot/ (see docs/benchmarks.md):
  * ``validator``: Rasa's RemoteAction checks every action-server response with ``jsonschema.validate``,
    which re-checks the (large) events schema against the meta-schema on each call (~35 ms CPU); use
    one validator built once instead (same schema, same errors).
  * ``sqlite-wal``: the SQLite tracker store with a connection pool and WAL mode with synchronous=NORMAL
    (no fsync per commit; the Rasa event loop blocks on every commit otherwise).
  * ``keepalive``: Rasa's EndpointConfig.request opens a new aiohttp ClientSession (a new TCP connection
    to the action server) for every custom action call; share one session per endpoint.
  * ``eventcache``: cache Event.resolve_by_type (it scans all Event subclasses per deserialised event).
"""
import os


def _role() -> str:
    try:
        with open("/proc/self/cmdline", "rb") as f:
            cmd = " ".join(a.decode("utf-8", "replace") for a in f.read().split(b"\0") if a)
    except OSError:
        return ""
    if "rasa_sdk" in cmd or "actions.server" in cmd:
        return "actions"
    if "rasa run" in cmd:
        return "rasa"
    if "bot.cli serve" in cmd:
        return "bot"
    return ""


def _patch_validator() -> None:
    from jsonschema import ValidationError, validators
    from rasa.core.actions import action

    cache = {}

    def _validate_action_result(self, result):
        schema = self.action_response_format_spec()
        validator = cache.get("v")
        if validator is None:
            cls = validators.validator_for(schema)
            cls.check_schema(schema)
            validator = cache["v"] = cls(schema)
        try:
            validator.validate(result)
            return True
        except ValidationError as e:
            e.message += (". Failed to validate Action server response from API, make sure your response from "
                          "the Action endpoint is valid.")
            raise e

    action.RemoteAction._validate_action_result = _validate_action_result


def _patch_keepalive() -> None:
    """One aiohttp session (keep-alive connections) per endpoint instead of a new one per request."""
    from rasa.utils import endpoints

    original = endpoints.EndpointConfig.session
    sessions = {}

    class _Shared:
        def __init__(self, session):
            self.session = session

        async def __aenter__(self):
            return self.session

        async def __aexit__(self, *exc):
            return False

    def session(self):
        shared = sessions.get(id(self))
        if shared is None or shared.closed:
            shared = sessions[id(self)] = original(self)
        return _Shared(shared)

    endpoints.EndpointConfig.session = session


def _patch_eventcache() -> None:
    """Event.resolve_by_type walks every Event subclass for each event it deserialises; remember the answers."""
    from rasa.shared.core import events

    original = events.Event.resolve_by_type
    known = {}

    def resolve_by_type(type_name, default=None):
        cls = known.get(type_name)
        if cls is None:
            cls = original(type_name, default)
            if cls is not None and cls is not default:
                known[type_name] = cls
        return cls

    events.Event.resolve_by_type = staticmethod(resolve_by_type)


def _patch_sqlite_wal() -> None:
    """What docs/benchmarks.md proposes for bot/rasa_stores.py: for SQLite, a pooled engine (SQLAlchemy 1.4
    gives file databases a NullPool: a new connection for every retrieve and save) whose connections use
    WAL with synchronous=NORMAL (a commit no longer waits for fsync)."""
    import sqlalchemy as sa
    from rasa.core import tracker_store

    original = tracker_store.SQLTrackerStore.__init__

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if self.engine.dialect.name != "sqlite":
            return
        engine = sa.create_engine(self.engine.url, poolclass=sa.pool.QueuePool, pool_size=2, max_overflow=8,
                                  connect_args={"check_same_thread": False, "timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        self.engine.dispose()
        self.engine = engine
        self.sessionmaker = sa.orm.session.sessionmaker(bind=engine)

    tracker_store.SQLTrackerStore.__init__ = __init__


_ROLE = _role() if (os.environ.get("BENCH_PROFILE") or os.environ.get("BENCH_PATCH")) else ""

if _ROLE == "rasa":
    _patches = {"validator": _patch_validator, "sqlite-wal": _patch_sqlite_wal, "keepalive": _patch_keepalive,
                "eventcache": _patch_eventcache}
    for _name in filter(None, os.environ.get("BENCH_PATCH", "").split(",")):
        _patches[_name]()

if _ROLE and _ROLE in set(os.environ.get("BENCH_PROFILE", "").split(",")):
    import atexit
    import cProfile

    _profile = cProfile.Profile()
    _out = os.path.join(os.environ.get("BENCH_PROFILE_DIR", "."), f"{_ROLE}.prof")

    def _dump() -> None:
        _profile.disable()
        _profile.dump_stats(_out)

    atexit.register(_dump)
    _profile.enable()
