"""Hooks into the processes of a stack that bench starts (``python -m bench --profile ...``).

bench puts this directory on PYTHONPATH of the stack it starts; Python imports ``sitecustomize`` in every
process, which looks at its own command line to know its role (rasa, actions, bot).

- BENCH_PROFILE=rasa,actions,bot: the listed processes run under cProfile from start to exit and write
  BENCH_PROFILE_DIR/<role>.prof at exit (Rasa, rasa_sdk and aiohttp exit normally on SIGTERM).
The fixes once prototyped here (``--patch``) are now in the product: bot/rasa/speedups.py and the
pooled WAL engine of bot/rasa/stores.py (see docs/benchmarks.md).
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
    if "rasa run" in cmd or "bot.rasa.serve" in cmd:
        return "rasa"
    if "bot.process.cli serve" in cmd:
        return "bot"
    return ""


_ROLE = _role() if os.environ.get("BENCH_PROFILE") else ""

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
