"""``python -m bench`` (``make bench``, ``make bench ARGS=--quick``): TrulyBot against stock Rasa in one run.

Phases: (1) our stack (``trulybot up``, demo mode, free ports, temp data dir): shopper-mix load sweep
with 80 ms and 0 ms of added store latency, the comparable script sweep, 1,000 idle sockets, widget
first render; (2) stock Rasa 3.6 (``rasa init`` defaults trained on our data, ``rasa run`` REST channel,
no action server): the comparable script sweep; (3) NLU on the held-out set for both models.
Prints the tables and writes bench/results/latest.json (and a timestamped copy). See docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from bench import procs, stock
from bench.machine import describe
from bench.report import render, targets
from bench.scenarios import COMPARABLE, SHOPPER_MIX
from bench.stack import BENCH_NEW_SESSIONS_PER_STORE

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
RESULTS = HERE / "results"

# Closed loop ("sweep"): every shopper sends its next message as soon as it has the answer: capacity and
# latency under saturation. Paced: 64 shoppers who pause 3 s on average (uniform 1.5-4.5 s) before each
# message, the fastest pace the gateway lets a real session sustain (20 messages a minute): the latency
# target of DESIGN.md is checked on this run with 0 ms of added store latency.
PLANS = {
    "quick": {"sweep": [1, 16], "latencies": [80, 0], "duration": 5.0, "warmup": 1.0,
              "comparable_duration": 4.0, "paced": {"concurrency": 64, "think_ms": 3000.0, "duration": 8.0, "warmup": 2.5, "latencies": [0]},
              "idle_sockets": 1000, "widget_runs": 3,
              "replicas": {"concurrency": 16, "duration": 6.0, "warmup": 1.5}, "longconv": {"turns": 62, "conversations": 2}},
    "full": {"sweep": [1, 8, 64, 256], "latencies": [80, 0], "duration": 20.0, "warmup": 3.0,
             "comparable_duration": 15.0, "paced": {"concurrency": 64, "think_ms": 3000.0, "duration": 30.0, "warmup": 4.5, "latencies": [80, 0]},
             "idle_sockets": 1000, "widget_runs": 5,
             "replicas": {"concurrency": 64, "duration": 20.0, "warmup": 3.0}, "longconv": {"turns": 62, "conversations": 4}},
}


class timed:
    """``with timed(out, "phase"):`` adds the phase's wall seconds to ``out["timings"]``."""

    def __init__(self, out: Dict[str, Any], name: str) -> None:
        self.out, self.name = out, name

    def __enter__(self) -> None:
        self.t0 = time.monotonic()

    def __exit__(self, *exc: Any) -> None:
        self.out.setdefault("timings", {})[self.name] = round(time.monotonic() - self.t0, 1)


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="reduced sweep (1 and 16 shoppers), short phases: < 3 min")
    ap.add_argument("--sweep", help="comma-separated shopper counts (default 1,8,64,256; quick 1,16)")
    ap.add_argument("--latencies", help="comma-separated added store latencies in ms (default 80,0)")
    ap.add_argument("--duration", type=float, help="measured seconds per load phase")
    ap.add_argument("--warmup", type=float, help="unmeasured seconds before each load phase")
    ap.add_argument("--think-ms", type=float, default=0.0,
                    help="mean pause between a shopper's turns in the sweep (uniform 0.5x-1.5x); default 0 = closed loop")
    ap.add_argument("--paced", help="shoppers,think_ms of the paced run (default 64,3000)")
    ap.add_argument("--skip", default="",
                    help="comma-separated: load,comparable,stock,idle,widget,nlu,dashboard,longconv,replicas")
    ap.add_argument("--out", type=Path, default=RESULTS / "latest.json", help="JSON result file")
    ap.add_argument("--no-progress", action="store_true", help="no progress bars")
    ap.add_argument("--profile", default="",
                    help="comma-separated stack processes to run under cProfile (rasa,actions,bot); "
                         "profiles go to bench/results/profile-<time>/ and the top functions are printed")
    ap.add_argument("--stack-env", action="append", default=[], metavar="NAME=VALUE",
                    help="extra environment for our stack, e.g. SANIC_WORKERS=2 with "
                         "TRULYBOT_LOCK_STORE_URL=redis://127.0.0.1:6379/13 (repeatable; recorded in the JSON)")
    return ap.parse_args(argv)


class Progress:
    """A tqdm bar per load phase (stderr), in seconds, with live turns/s and errors."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def phase(self, desc: str, total: float, unit: str = "s"):
        if not self.enabled:
            return lambda elapsed, result: None, lambda: None
        from tqdm import tqdm

        bar = tqdm(total=round(total, 1), desc=desc, unit=unit, file=sys.stderr, leave=False,
                   bar_format="{desc:<38} {percentage:3.0f}%|{bar:24}| {n:.0f}/{total:.0f} " + unit + "{postfix}")

        def tick(elapsed: float, result) -> None:
            bar.n = round(min(elapsed, total), 1)
            ok = sum(1 for t in result.turns if t.ok)
            bar.set_postfix_str(f"turns {ok} errors {sum(result.errors.values())}", refresh=False)
            bar.refresh()

        return tick, bar.close


def role(name: str) -> str:
    """'rasa-1234' (a second Sanic worker) -> 'rasa'."""
    head, _, tail = name.rpartition("-")
    return head if head and tail.isdigit() else name


async def load_phase(target, scenarios, concurrency: int, plan: Dict[str, Any], pids, progress: Progress,
                     latency_ms: float, duration: float, think_ms: float, label: str,
                     warmup: Optional[float] = None, stack=None) -> Dict[str, Any]:
    from bench.load import run_load

    hits0 = stack.store_hits() if stack is not None else None
    tcp0 = procs.tcp_counters()
    warmup = plan["warmup"] if warmup is None else warmup
    tick, close = progress.phase(f"{label} c={concurrency}", warmup + duration)
    sampler = procs.Sampler(pids).start()
    cpu0 = procs.self_cpu_seconds()
    try:
        result = await run_load(target, scenarios, concurrency, duration, warmup, latency_ms, think_ms,
                                on_tick=tick)
    finally:
        usage = sampler.stop()
        close()
    result.client_cpu_s = procs.self_cpu_seconds() - cpu0
    result.processes = {name: u.as_dict() for name, u in usage.items()}
    summary = result.summary()
    summary["peak_total_rss_mb"] = round(sampler.peak_total / 1024 / 1024, 1)
    summary["load_average"] = [round(x, 2) for x in os.getloadavg()]
    # CPU is read over the whole phase (warm-up and drain included), so divide by every turn answered in it.
    ok = result.all_turns
    cpu: Dict[str, float] = {}
    for name, u in usage.items():
        cpu[role(name)] = cpu.get(role(name), 0.0) + u.cpu_s
    summary["cpu_s_by_role"] = {k: round(v, 2) for k, v in cpu.items()}
    tcp1 = procs.tcp_counters()
    # Namespace-wide counters (other programs on the machine count too): accept queues that overflowed
    # drop SYNs, which the client retransmits after 1 s, 3 s, 7 s: long latency tails.
    summary["tcp_counters_delta"] = {k: tcp1[k] - tcp0.get(k, 0) for k in tcp1}
    summary["cpu_ms_per_turn"] = {k: round(v * 1000 / ok, 1) for k, v in cpu.items()} if ok else {}
    summary["cpu_ms_per_turn"]["client"] = round(result.client_cpu_s * 1000 / ok, 1) if ok else None
    if hits0 is not None:
        hits1 = stack.store_hits()
        calls = sum(hits1.values()) - sum(hits0.values())
        lookups = result.all_by_kind.get("lookup", 0)
        summary["store_calls"] = calls
        summary["store_calls_per_lookup_turn"] = round(calls / lookups, 2) if lookups else None
    lat = summary["latency"]
    say(f"{label} c={concurrency}: {summary['turns_per_s']} turns/s, p50 {lat['p50_ms']} ms, p95 {lat['p95_ms']} ms, "
        f"errors {summary['errors']}, unexpected {summary['unexpected_replies']}")
    return summary


async def our_phases(stack, plan: Dict[str, Any], skip: set, progress: Progress, out: Dict[str, Any],
                     think_ms: float) -> None:
    from bench.idle import idle_sockets
    from bench.load import WidgetTarget

    target = WidgetTarget(stack.ws_url, stack.base_url)
    pids = stack.processes()
    if "load" not in skip:
        with timed(out, "trulybot closed-loop sweep"):
            for latency in plan["latencies"]:
                stack.set_latency(latency)
                for concurrency in plan["sweep"]:
                    out["load"].append(await load_phase(
                        target, SHOPPER_MIX, concurrency, plan, lambda: pids, progress, latency, plan["duration"],
                        think_ms, f"shopper mix, store +{latency:g} ms", stack=stack))
        with timed(out, "trulybot paced"):
            paced = plan["paced"]
            for latency in paced["latencies"]:
                stack.set_latency(latency)
                out["paced"].append(await load_phase(
                    target, SHOPPER_MIX, paced["concurrency"], plan, lambda: pids, progress, latency,
                    paced["duration"], paced["think_ms"], f"paced mix, store +{latency:g} ms", warmup=paced["warmup"],
                    stack=stack))
        stack.set_latency(0)
    if "comparable" not in skip:
        with timed(out, "trulybot comparable"):
            for concurrency in plan["sweep"]:
                out["comparable"]["trulybot"].append(await load_phase(
                    target, COMPARABLE, concurrency, plan, lambda: pids, progress, 0, plan["comparable_duration"],
                    think_ms, "comparable script, TrulyBot"))
    if "idle" not in skip:
        count = plan["idle_sockets"]
        say(f"opening {count} idle widget sockets")
        tick, close = progress.phase(f"{count} idle sockets", count, "sockets")
        try:
            with timed(out, "idle sockets"):
                out["idle_sockets"] = await idle_sockets(stack.ws_url, stack.base_url, pids["bot"], count,
                                                         progress=lambda n: tick(n, _NoTurns))
        finally:
            close()
        say(f"idle sockets: {out['idle_sockets']}")


class _NoTurns:
    turns: list = []
    errors: dict = {}


async def stock_phases(rasa, plan: Dict[str, Any], progress: Progress, out: Dict[str, Any], think_ms: float) -> None:
    from bench.load import RestTarget

    target = RestTarget(rasa.base_url)
    pids = rasa.processes()
    for concurrency in plan["sweep"]:
        out["comparable"]["stock"].append(await load_phase(
            target, COMPARABLE, concurrency, plan, lambda: pids, progress, 0, plan["comparable_duration"], think_ms,
            "comparable script, stock Rasa"))


def replica_phases(plan: Dict[str, Any], progress: Progress, out: Dict[str, Any], tmp: Path) -> None:
    """The shopper mix (store +0 ms, closed loop) through HAProxy with 1 and then 2 replicas.

    Both runs use the same topology (``trulybot up [--replicas 2]``, PostgreSQL app database and tracker
    store, Redis) so only the replica count differs. Needs HAProxy and the PostgreSQL and Redis of
    ``TRULYBOT_BENCH_POSTGRES_URL`` / ``TRULYBOT_BENCH_REDIS_URL`` (default: the test servers' URLs of
    ``tests/support/servers.py``, i.e. ``TRULYBOT_TEST_*`` or the local servers).
    """
    from bench.load import WidgetTarget
    from tests.support.topology import Topology, haproxy_available

    from tests.support import servers

    postgres = os.environ.get("TRULYBOT_BENCH_POSTGRES_URL") or servers.POSTGRES_URL
    redis = os.environ.get("TRULYBOT_BENCH_REDIS_URL") or servers.REDIS_URL
    missing = [name for name, ok in (("haproxy", haproxy_available()),
                                     ("PostgreSQL on 127.0.0.1:5432", servers.answers("127.0.0.1", 5432) or "TRULYBOT_BENCH_POSTGRES_URL" in os.environ),
                                     ("Redis on 127.0.0.1:6379", servers.answers("127.0.0.1", 6379) or "TRULYBOT_BENCH_REDIS_URL" in os.environ)) if not ok]
    if missing:
        out["replicas"] = {"skipped": "needs " + ", ".join(missing)}
        say(f"replicas: skipped ({out['replicas']['skipped']})")
        return
    shape = plan["replicas"]
    rows = []
    out["replicas"] = {"concurrency": shape["concurrency"], "rows": rows}
    for replicas in (1, 2):
        say(f"replicas: starting trulybot up {'--replicas 2 ' if replicas > 1 else ''}(HAProxy, PostgreSQL, Redis)")
        topo = Topology(tmp / f"replicas-{replicas}", postgres, redis, replicas=replicas,
                        TRULYBOT_LOG_LEVEL="WARNING", TRULYBOT_RESTART_LIMIT="0", TRULYBOT_STARTUP_TIMEOUT="600",
                        TRULYBOT_NEW_SESSIONS_PER_STORE=str(BENCH_NEW_SESSIONS_PER_STORE))
        try:
            try:
                topo.wait_ready(660)
            except AssertionError as exc:  # the other phases' results still count
                out["replicas"]["error"] = f"{replicas} replica(s) did not start: {str(exc)[-600:]}"
                say(f"replicas: {out['replicas']['error']}")
                return
            pids = lambda: {procs.name_of(procs.cmdline(pid)) + f"-{pid}": pid  # noqa: E731
                            for pid in procs.descendants(topo.process.pid)}
            row = asyncio.run(load_phase(
                WidgetTarget(topo.ws_url, topo.base_url), SHOPPER_MIX, shape["concurrency"], plan, pids, progress, 0,
                shape["duration"], 0.0, f"shopper mix, {replicas} replica{'s' if replicas > 1 else ''}",
                warmup=shape["warmup"]))
            row["replicas"] = replicas
            rows.append(row)
        finally:
            topo.close()


def longconv_phase(model: Path, plan: Dict[str, Any], out: Dict[str, Any]) -> None:
    """Turn cost by conversation length (``bench.longconv``), with Rasa's own length-dependent code, then ours."""
    shape = plan["longconv"]
    argv = ["bench.longconv", str(model), "--turns", str(shape["turns"]), "--conversations", str(shape["conversations"])]
    out["longconv"] = {"rasa_default": run_json(argv + ["--baseline"], 900), "trulybot": run_json(argv, 900)}
    for name, res in out["longconv"].items():
        say(f"long conversation ({name}): CPU ms turn 5 {res.get('cpu_ms_turn5')}, turn 50 {res.get('cpu_ms_turn50')}, "
            f"ratio {res.get('ratio_cpu')}")


def log_summary(lines: List[str], top: int = 15) -> List[str]:
    """The stack's warning and error lines, digits masked, most frequent first (with counts)."""
    import collections
    import re

    counts: "collections.Counter[str]" = collections.Counter()
    for line in lines:
        if re.search(r"WARNING|ERROR|Traceback|Exception", line):
            counts[re.sub(r"\d+", "N", line)[:240]] += 1
    return [f"{n} x {text}" for text, n in counts.most_common(top)]


def print_profiles(folder: Path, top: int = 30) -> Dict[str, str]:
    """Print the top functions (cumulative and own time) of every profile in ``folder``."""
    import io
    import pstats

    found = {}
    for prof in sorted(folder.glob("*.prof")):
        buf = io.StringIO()
        stats = pstats.Stats(str(prof), stream=buf).strip_dirs()
        stats.sort_stats("cumulative").print_stats(top)
        stats.sort_stats("tottime").print_stats(top)
        (folder / f"{prof.stem}.txt").write_text(buf.getvalue())
        print(f"\n===== cProfile of {prof.stem} ({prof}) =====\n{buf.getvalue()}", file=sys.stderr)
        found[prof.stem] = str(prof)
    if not found:
        say(f"no profiles were written to {folder}")
    return found


def nlu_cache_file(model: Path) -> Path:
    """Where the NLU result of ``model`` on the current held-out sets is kept."""
    import hashlib

    digest = hashlib.sha256(model.read_bytes())
    for path in sorted((PROJECT / "tests" / "nlu").glob("*.y*ml")) + [HERE / "nlu.py"]:
        digest.update(path.read_bytes())
    return stock.CACHE / f"nlu-{model.parent.name}-{digest.hexdigest()[:16]}.json"


class NluProcess:
    """``python -m bench.nlu --wait ...``: loads the models at once, parses when :meth:`run` is called."""

    def __init__(self, args: List[str]) -> None:
        env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="3", LOG_LEVEL="WARNING")
        self.err = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.nlu"] + args, cwd=PROJECT, env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err)

    def run(self, timeout: float = 600) -> Dict[str, Any]:
        import threading

        lines: List[str] = []
        ready = threading.Event()

        def read() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                lines.append(line)
                if line.startswith("READY"):
                    ready.set()
            ready.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        ready.wait(timeout)
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write("go\n")
            self.proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return {"error": "bench.nlu timed out"}
        reader.join(5)
        found = [line for line in lines if line.startswith("{")]
        if self.proc.returncode != 0 or not found:
            self.err.seek(0)
            return {"error": f"bench.nlu failed ({self.proc.returncode}): {self.err.read()[-1500:]}"}
        return json.loads(found[-1])

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def run_json(argv: List[str], timeout: float) -> Dict[str, Any]:
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="3", LOG_LEVEL="WARNING",
               SQLALCHEMY_SILENCE_UBER_WARNING="1")
    proc = subprocess.run([sys.executable, "-m"] + argv, cwd=PROJECT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"error": f"{' '.join(argv[:1])} failed ({proc.returncode}): {(proc.stderr or proc.stdout)[-1500:]}"}
    return json.loads(lines[-1])


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    plan = dict(PLANS["quick" if args.quick else "full"])
    if args.sweep:
        plan["sweep"] = [int(x) for x in args.sweep.split(",")]
    if args.latencies:
        plan["latencies"] = [float(x) for x in args.latencies.split(",")]
        plan["paced"] = {**plan["paced"], "latencies": [x for x in plan["paced"]["latencies"] if x in plan["latencies"]]
                         or plan["latencies"][-1:]}
    if args.duration:
        plan["duration"] = plan["comparable_duration"] = args.duration
    if args.warmup is not None:
        plan["warmup"] = args.warmup
    if args.paced:
        shoppers, think = args.paced.split(",")
        plan["paced"] = {**plan["paced"], "concurrency": int(shoppers), "think_ms": float(think)}
    skip = {s for s in args.skip.split(",") if s}
    progress = Progress(not args.no_progress)
    started = time.monotonic()
    machine = describe()
    say(f"{'quick' if args.quick else 'full'} run on {machine['cpu_model']}, {machine['cores']} cores, "
        f"{machine['ram_gb']} GB RAM, load average {machine['load_average_start']}")

    from bot.core.settings import load_settings
    from bot.rasa.training import current_model, latest_model

    settings = load_settings()
    model_dir = settings.model_dir if settings.model_dir.is_absolute() else PROJECT / settings.model_dir
    our_model = current_model(PROJECT, settings.model_dir)
    stale = our_model is None
    if stale:
        our_model = latest_model(model_dir)
        if our_model is None:
            say("error: no trained model in models/: run 'make train' (make bench does it first)")
            return 2
        say(f"WARNING: {our_model.name} is older than data/, domain.yml or config.yml (trulybot up serves it "
            f"anyway): run 'make train' for numbers of the current config")

    models: Dict[str, Any] = {"trulybot": {"model": our_model.name, "config": "config.yml", "stale": stale}}
    need_stock = not ({"stock", "nlu"} <= skip)
    stock_model = None
    if need_stock:
        stock_model, meta = stock.cached_model()
        if stock_model is None:
            say("NOTE: the stock Rasa baseline model is not cached yet: training it now (DIET + ResponseSelector "
                "+ UnexpecTED + TED, 100 epochs each: several minutes on 2 cores). Later runs reuse it; "
                "'make bench ARGS=--quick' then takes under 3 minutes.")
            stock_model, meta = stock.train(log=say)
        models["stock"] = {"model": str(stock_model.relative_to(PROJECT)), "config": "bench/stock_config.yml",
                           "train_s": meta.get("train_s"), "trained_at": meta.get("trained_at")}
    if "nlu" not in skip:
        project_copy, meta = stock.cached_model("project", PROJECT / "config.yml")
        if project_copy is None:
            say("NOTE: timing one training of our config.yml (once per change of data/, domain.yml, config.yml; "
                "about a minute)")
            project_copy, meta = stock.train("project", PROJECT / "config.yml", log=say)
        models["trulybot"]["train_s"] = meta.get("train_s")
        models["trulybot"]["trained_at"] = meta.get("trained_at")

    out: Dict[str, Any] = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "mode": "quick" if args.quick else "full",
        "machine": machine, "plan": {**plan, "think_ms": args.think_ms}, "models": models,
        "profiled": args.profile or None, "stack_env": args.stack_env or None,
        "stack": {}, "load": [], "paced": [], "comparable": {"trulybot": [], "stock": []},
        "idle_sockets": None, "widget": None, "nlu": None, "dashboard": None, "longconv": None, "replicas": None,
    }

    from bench.stack import StockRasa, TrulyBotStack

    with tempfile.TemporaryDirectory(prefix="trulybot-bench-") as tmp:
        say("starting the TrulyBot stack (trulybot up, demo mode, free ports)")
        t0 = time.monotonic()
        overrides: Dict[str, str] = {}
        profile_dir = None
        if args.profile:
            overrides["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE / "hooks"), str(PROJECT),
                                                                    os.environ.get("PYTHONPATH", "")]))
        for item in args.stack_env:
            name, _, value = item.partition("=")
            overrides[name] = value
            say(f"stack environment: {name}={value}")
        if args.profile:
            profile_dir = RESULTS / f"profile-{time.strftime('%Y%m%d-%H%M%S')}"
            profile_dir.mkdir(parents=True, exist_ok=True)
            overrides.update(BENCH_PROFILE=args.profile, BENCH_PROFILE_DIR=str(profile_dir))
            say(f"profiling {args.profile} with cProfile into {profile_dir} (slows them down: numbers are not comparable)")
        stack = TrulyBotStack(Path(tmp) / "var", **overrides)
        try:
            with timed(out, "trulybot startup"):
                stack.wait_ready()
            out["stack"]["startup_s"] = round(time.monotonic() - t0, 1)
            time.sleep(1.0)
            out["stack"]["rss_at_rest_mb"] = {n: round(procs.rss_bytes(p) / 2**20, 1) for n, p in stack.processes().items()}
            say(f"stack up in {out['stack']['startup_s']} s; RSS at rest {out['stack']['rss_at_rest_mb']}")
            asyncio.run(our_phases(stack, plan, skip, progress, out, args.think_ms))
            if "widget" not in skip:
                say("widget: size and first render in headless Chromium")
                from bench.widget import sizes

                with timed(out, "widget"):
                    out["widget"] = {"script": "bot/widget/widget.js", **sizes(),
                                     **run_json(["bench.widget", stack.base_url + "/demo", str(plan["widget_runs"])], 120)}
            out["stack"]["rss_end_mb"] = {n: round(procs.rss_bytes(p) / 2**20, 1) for n, p in stack.processes().items()}
            out["stack"]["vm_hwm_mb"] = {n: round(procs.hwm_bytes(p) / 2**20, 1) for n, p in stack.processes().items()}
        finally:
            stack.stop()
            out["stack"]["log_summary"] = log_summary(stack.lines)
        if profile_dir is not None:
            out["profiles"] = print_profiles(profile_dir)
        if "widget" in skip:
            from bench.widget import sizes

            out["widget"] = sizes()
        if "dashboard" not in skip:
            say("dashboard: render times of every page with a year of activity for one store")
            from bench.dashboard import bench_render

            with timed(out, "dashboard"):
                out["dashboard"] = bench_render(days=365, conversations_per_day=100 if args.quick else 200,
                                                repeat=3 if args.quick else 5)

        # The NLU process loads both models while stock Rasa starts (loading only), then parses on its own
        # before the stock load phases run.
        nlu_proc = None
        stock_nlu_cache = nlu_cache_file(stock_model) if stock_model is not None else None
        cached_stock_nlu = None
        if "nlu" not in skip:
            nlu_args = ["--wait", "--fast-paths", "trulybot", f"trulybot={our_model}"]
            if stock_model is not None:
                # Loading the stock model takes ~45 s; --quick reuses its last NLU result for the same model
                # and held-out sets (the numbers only change with them; parse latency is re-measured by full runs).
                if args.quick and stock_nlu_cache.exists():
                    cached_stock_nlu = json.loads(stock_nlu_cache.read_text())
                    say(f"NLU of the stock model: reusing the result measured at {cached_stock_nlu.get('measured_at')} "
                        f"({stock_nlu_cache.name}); a full run re-measures it")
                else:
                    nlu_args.append(f"stock={stock_model}")
            nlu_proc = NluProcess(nlu_args)
        rasa = None
        try:
            if "stock" not in skip and stock_model is not None:
                say("starting stock Rasa (rasa run, REST channel, no action server) and loading both models "
                    "for the NLU evaluation")
                t0 = time.monotonic()
                rasa = StockRasa(stock_model, Path(tmp), stock.STOCK_ENDPOINTS, stock.STOCK_CREDENTIALS)
                with timed(out, "stock startup (+ NLU model loading)"):
                    rasa.wait_ready()
                out["stock"] = {"startup_s": round(time.monotonic() - t0, 1),
                                "rss_at_rest_mb": round(procs.rss_bytes(rasa.process.pid) / 2**20, 1)}
            if nlu_proc is not None:
                say("NLU: held-out evaluation and parse latency of both models (own process)")
                with timed(out, "nlu"):
                    out["nlu"] = nlu_proc.run()
                if "stock" in out["nlu"] and "error" not in out["nlu"] and stock_nlu_cache is not None:
                    stock_nlu_cache.write_text(json.dumps({**out["nlu"]["stock"],
                                                           "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S")}))
                elif cached_stock_nlu is not None and "error" not in out["nlu"]:
                    out["nlu"]["stock"] = {**cached_stock_nlu, "cached": True}
            if rasa is not None:
                with timed(out, "stock comparable"):
                    asyncio.run(stock_phases(rasa, plan, progress, out, args.think_ms))
        finally:
            if rasa is not None:
                rasa.stop()
            if nlu_proc is not None:
                nlu_proc.kill()

        if "longconv" not in skip:
            say("long conversation: turn cost at turn 5 and turn 50 (own process, CPU time)")
            with timed(out, "long conversation"):
                longconv_phase(our_model, plan, out)
        if "replicas" not in skip:
            with timed(out, "replicas"):
                replica_phases(plan, progress, out, Path(tmp))

    out["elapsed_s"] = round(time.monotonic() - started, 1)
    out["targets"] = targets(out)
    text = render(out)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2, default=str))
    stamped = args.out.parent / f"{time.strftime('%Y%m%d-%H%M%S')}-{out['mode']}.json"
    stamped.write_text(json.dumps(out, indent=2, default=str))
    say(f"wrote {args.out.relative_to(PROJECT) if args.out.is_relative_to(PROJECT) else args.out} "
        f"(and {stamped.name}) in {out['elapsed_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
