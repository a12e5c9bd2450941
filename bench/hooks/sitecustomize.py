"""Profile stack processes with cProfile (``python -m bench --profile rasa,actions,bot``).

bench puts this directory on PYTHONPATH of the stack it starts; Python imports ``sitecustomize`` in every
process. Only a process whose role (from its command line) is listed in BENCH_PROFILE profiles itself,
from start to exit, into BENCH_PROFILE_DIR/<role>.prof (written at exit: Rasa, rasa_sdk and aiohttp
exit normally on SIGTERM).
"""
import os

_roles = {r for r in os.environ.get("BENCH_PROFILE", "").split(",") if r}
if _roles:
    try:
        with open("/proc/self/cmdline", "rb") as _f:
            _cmd = " ".join(a.decode("utf-8", "replace") for a in _f.read().split(b"\0") if a)
    except OSError:
        _cmd = ""
    _role = ("actions" if "rasa_sdk" in _cmd else "rasa" if "rasa run" in _cmd else
             "bot" if "bot.cli serve" in _cmd else None)
    if _role in _roles:
        import atexit
        import cProfile
        import signal

        _profile = cProfile.Profile()
        _out = os.path.join(os.environ.get("BENCH_PROFILE_DIR", "."), f"{_role}.prof")

        def _dump() -> None:
            _profile.disable()
            _profile.dump_stats(_out)

        atexit.register(_dump)
        _profile.enable()
