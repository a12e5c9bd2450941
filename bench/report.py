"""The stdout tables and the target checks of a bench run (pure functions of the result dict)."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from bench.stats import fmt, ratio, table

P95_TARGET_MS = 35.0
P99_TARGET_MS = 100.0
THROUGHPUT_RATIO_TARGET = 4.0  # comparable script, same run as stock
MIX_TURNS_TARGET = 150.0  # shopper mix turns/s, closed loop, store +0 ms
LENGTH_RATIO_TARGET = 1.2  # CPU of turn 50 / turn 5 of one conversation
IDLE_TARGET_MB = 200.0
STACK_TARGET_MB = 1536.0
WIDGET_TARGET_BYTES = 12 * 1024
DASHBOARD_TARGET_MS = 1000.0


def _find(rows: List[Dict[str, Any]], concurrency: int, latency: Optional[float] = None) -> Optional[Dict[str, Any]]:
    for row in rows:
        if row["concurrency"] == concurrency and (latency is None or row["store_latency_ms"] == latency):
            return row
    return None


def _lat(row: Optional[Dict[str, Any]], key: str, kind: Optional[str] = None) -> Optional[float]:
    if not row:
        return None
    src = row["latency_by_kind"].get(kind) if kind else row["latency"]
    return (src or {}).get(key)


def _check(name: str, value: Optional[float], target: str, met: Optional[bool], note: str = "") -> Dict[str, Any]:
    return {"target": name, "value": value, "goal": target, "met": met, "note": note}


def targets(out: Dict[str, Any]) -> List[Dict[str, Any]]:
    checks = []
    paced = out["plan"]["paced"]
    c = paced["concurrency"]
    row0 = _find(out.get("paced", []), c, 0)
    row80 = _find(out.get("paced", []), c, 80)
    p95 = _lat(row0, "p95_ms")
    note = (f"paced shopper mix, {c} shoppers pausing {paced['think_ms'] / 1000:g} s on average, store +0 ms; "
            f"lookup turns p95 {fmt(_lat(row0, 'p95_ms', 'lookup'))} ms")
    if row80:
        note += f"; store +80 ms: p95 {fmt(_lat(row80, 'p95_ms'))} ms (lookups {fmt(_lat(row80, 'p95_ms', 'lookup'))} ms)"
    checks.append(_check(f"p95 turn latency, {c} shoppers with order lookups (ms)", p95, f"<= {P95_TARGET_MS:g}",
                         None if p95 is None else p95 <= P95_TARGET_MS, note))
    p99 = _lat(row0, "p99_ms")
    checks.append(_check(f"p99 turn latency, {c} paced shoppers (ms)", p99, f"<= {P99_TARGET_MS:g}",
                         None if p99 is None else p99 <= P99_TARGET_MS, "same run"))

    mix0 = [r for r in out["load"] if r["store_latency_ms"] == 0]
    best = max(mix0, key=lambda r: r["turns_per_s"], default=None)
    checks.append(_check("shopper mix turns/s, closed loop, store +0 ms (best of the sweep)",
                         best["turns_per_s"] if best else None, f">= {MIX_TURNS_TARGET:g}",
                         None if best is None else best["turns_per_s"] >= MIX_TURNS_TARGET,
                         f"at {best['concurrency']} shoppers" if best else "not measured"))

    top_c = max((r["concurrency"] for r in out["load"]), default=None)
    if top_c is not None:
        top_rows = [r for r in out["load"] if r["concurrency"] == top_c]
        unavailable = sum(r.get("error_kinds", {}).get("error_unavailable", 0) for r in top_rows)
        checks.append(_check(f"'unavailable' answers at {top_c} closed-loop shoppers", unavailable, "0",
                             unavailable == 0, "store +" + " and +".join(f"{r['store_latency_ms']:g}" for r in top_rows) + " ms"))

    long = (out.get("longconv") or {}).get("trulybot") or {}
    base = (out.get("longconv") or {}).get("rasa_default") or {}
    r_len = long.get("ratio_cpu")
    checks.append(_check("turn 50 / turn 5 of one conversation, CPU (x)", r_len, f"<= {LENGTH_RATIO_TARGET:g}",
                         None if r_len is None else r_len <= LENGTH_RATIO_TARGET,
                         f"{long.get('cpu_ms_turn5')} -> {long.get('cpu_ms_turn50')} ms; with Rasa's own store, folds, copies "
                         f"and rule matching {base.get('cpu_ms_turn5')} -> {base.get('cpu_ms_turn50')} ms "
                         f"({base.get('ratio_cpu')}x)" if long else "not measured"))

    ours, theirs = out["comparable"]["trulybot"], out["comparable"]["stock"]
    common = sorted({r["concurrency"] for r in ours} & {r["concurrency"] for r in theirs})
    if common:
        top = common[-1]
        r = ratio(_find(ours, top)["turns_per_s"], _find(theirs, top)["turns_per_s"])
        checks.append(_check(f"throughput vs stock Rasa, comparable script, {top} clients (x)", r,
                             f">= {THROUGHPUT_RATIO_TARGET:g}x ('many times')",
                             None if r is None else r >= THROUGHPUT_RATIO_TARGET))
    else:
        checks.append(_check("throughput vs stock Rasa (x)", None, f">= {THROUGHPUT_RATIO_TARGET:g}x", None, "not measured"))

    idle = out.get("idle_sockets") or {}
    delta = idle.get("delta_mb")
    scaled = delta * 1000 / idle["sockets"] if delta is not None and idle.get("sockets") else None
    checks.append(_check("RSS of 1,000 idle sockets, bot service (MB)", scaled, f"< {IDLE_TARGET_MB:g}",
                         None if scaled is None else scaled < IDLE_TARGET_MB,
                         f"{idle.get('sockets')} sockets opened, {idle.get('failed')} failed" if idle else "not measured"))

    peaks = [r.get("peak_total_rss_mb") for r in out["load"] + out.get("paced", []) + out["comparable"]["trulybot"]
             if r.get("peak_total_rss_mb")]
    stack_peak = max(peaks) if peaks else None
    checks.append(_check("whole stack peak RSS under load (MB)", stack_peak, f"< {STACK_TARGET_MB:g}",
                         None if stack_peak is None else stack_peak < STACK_TARGET_MB,
                         "highest sum of all stack processes' RSS in one sample"))

    widget = out.get("widget") or {}
    gz = widget.get("gzip_bytes")
    checks.append(_check("widget script gzipped (KB)", gz / 1024 if gz else None, "< 12",
                         None if gz is None else gz < WIDGET_TARGET_BYTES))

    dash = out.get("dashboard") or {}
    worst = dash.get("worst_ms")
    checks.append(_check("slowest dashboard page, a year of activity (ms)", worst, f"<= {DASHBOARD_TARGET_MS:g}",
                         None if worst is None else worst <= DASHBOARD_TARGET_MS,
                         f"{dash.get('rows')} activity rows, SQLite" if dash else "not measured"))
    return checks


def _yes(met: Optional[bool]) -> str:
    return "–" if met is None else ("yes" if met else "NO")


def render(out: Dict[str, Any]) -> str:
    m = out["machine"]
    parts = [
        "",
        f"TrulyBot benchmark ({out['mode']}), {out['started_at']}: {m['cpu_model']}, {m['cores']} cores, "
        f"{m['ram_gb']} GB RAM, Python {m['python']}, Rasa {m['rasa']}, load average at start "
        f"{' '.join(str(x) for x in m['load_average_start'])}",
    ]
    if out.get("stack_env"):
        parts.append(f"STACK ENVIRONMENT: {' '.join(out['stack_env'])}")
    if out.get("profiled"):
        parts.append(f"PROFILED under cProfile: {out['profiled']} (timings inflated, not comparable)")
    if out["models"]["trulybot"].get("stale"):
        parts.append("WARNING: the served model is older than data/ + config (run make train)")

    # -- the one summary table: ours vs stock with ratios --------------------------------------------
    rows: List[List[str]] = []
    ours, theirs = out["comparable"]["trulybot"], out["comparable"]["stock"]
    for r in ours:
        s = _find(theirs, r["concurrency"])
        c = r["concurrency"]
        for label, key, digits in (("turns/s", "turns_per_s", 1), ("conversations/s", "conversations_per_s", 2)):
            a, b = r[key], s[key] if s else None
            # Too few whole conversations inside the window (slow turns) make a meaningless ratio.
            few = key == "conversations_per_s" and (r["conversations"] < 20 or not s or s["conversations"] < 20)
            rows.append([f"comparable script, {c} clients: {label}", fmt(a, digits), fmt(b, digits),
                         "–" if few else fmt(ratio(a, b), 2, "x")])
        for p in ("p50_ms", "p95_ms", "p99_ms"):
            a, b = _lat(r, p), _lat(s, p)
            rows.append([f"comparable script, {c} clients: turn {p[:3]} ms", fmt(a), fmt(b), fmt(ratio(a, b), 2, "x")])
        a = r["cpu_ms_per_turn"].get("rasa")
        b = sum(v for k, v in (s or {}).get("cpu_ms_per_turn", {}).items() if k.startswith("stock-rasa") and v) if s else None
        total = sum(v for k, v in r["cpu_ms_per_turn"].items() if k != "client" and v)
        rows.append([f"comparable script, {c} clients: Rasa CPU ms/turn", fmt(a), fmt(b), fmt(ratio(a, b), 2, "x")])
        rows.append([f"comparable script, {c} clients: all-process CPU ms/turn", fmt(total), fmt(b), fmt(ratio(total, b), 2, "x")])
        if r.get("errors") or (s and s.get("errors")):
            rows.append([f"comparable script, {c} clients: errors", str(r["errors"]), str(s["errors"] if s else "–"), ""])
    nlu = out.get("nlu") or {}
    if "trulybot" in nlu:
        a, b = nlu["trulybot"]["held_out"], (nlu.get("stock") or {}).get("held_out", {})
        for label, get, digits in (
            ("NLU parse p50 ms", lambda x: x.get("parse_p50_ms"), 2),
            ("NLU parse p95 ms", lambda x: x.get("parse_p95_ms"), 2),
            ("NLU intent macro-F1 (held-out)", lambda x: x.get("intent_macro_f1"), 3),
            ("NLU entity F1 (held-out)", lambda x: (x.get("entity") or {}).get("f1"), 3),
            ("NLU fallback rate (held-out)", lambda x: x.get("fallback_rate"), 3),
        ):
            va, vb = get(a), get(b) if b else None
            rows.append([label, fmt(va, digits), fmt(vb, digits), fmt(ratio(va, vb), 2, "x")])
        fast = (nlu.get("trulybot_fast_paths") or {}).get("held_out") or {}
        for label, key in (("NLU parse p50 ms, with TrulyBot's fast paths", "parse_p50_ms"),
                           ("NLU parse p95 ms, with TrulyBot's fast paths", "parse_p95_ms")):
            if fast.get(key) is not None:
                stock_value = b.get(key) if b else None
                rows.append([label, fmt(fast[key], 2), fmt(stock_value, 2), fmt(ratio(fast[key], stock_value), 2, "x")])
        if (nlu.get("stock") or {}).get("cached"):
            rows.append(["  (stock NLU figures reused from " + str(nlu["stock"].get("measured_at")) + ")", "", "", ""])
        if "blind" in nlu["trulybot"]:
            a, b = nlu["trulybot"]["blind"], (nlu.get("stock") or {}).get("blind", {})
            va, vb = a.get("intent_macro_f1"), b.get("intent_macro_f1") if b else None
            rows.append(["NLU intent macro-F1 (blind set)", fmt(va, 3), fmt(vb, 3), fmt(ratio(va, vb), 2, "x")])
    elif nlu.get("error"):
        rows.append(["NLU", "error: see JSON", "", ""])
    models = out["models"]
    ta, tb = models["trulybot"].get("train_s"), (models.get("stock") or {}).get("train_s")
    rows.append(["training s (full model, cached measurement)", fmt(ta, 0), fmt(tb, 0), fmt(ratio(ta, tb), 2, "x")])
    ra = (out["stack"].get("rss_at_rest_mb") or {}).get("rasa")
    rb = (out.get("stock") or {}).get("rss_at_rest_mb")
    rows.append(["Rasa server RSS at rest MB", fmt(ra, 0), fmt(rb, 0), fmt(ratio(ra, rb), 2, "x")])
    parts += ["", "TrulyBot vs stock Rasa 3.6 (ratio = TrulyBot / stock; comparable script = help, bot?, "
              "out of scope, thanks, bye: domain responses only)",
              table(["metric", "TrulyBot", "stock Rasa", "ratio"], rows)]

    # -- shopper mix load ------------------------------------------------------------------------------
    def mix_rows(results: List[Dict[str, Any]]) -> List[List[str]]:
        rows = []
        for r in results:
            cpu = r["cpu_ms_per_turn"]
            rows.append([
                f"+{r['store_latency_ms']:g} ms", str(r["concurrency"]), fmt(r["turns_per_s"]), fmt(r["conversations_per_s"], 2),
                fmt(_lat(r, "p50_ms")), fmt(_lat(r, "p95_ms")), fmt(_lat(r, "p99_ms")), fmt(_lat(r, "p95_ms", "lookup")),
                f"{r['errors']}/{r['unexpected_replies']}",
                "/".join(fmt(cpu.get(k), 0) for k in ("rasa", "actions", "bot", "client")),
                fmt(max((p["peak_rss_mb"] for n, p in r["processes"].items() if n == "rasa"), default=None), 0),
                fmt(r.get("peak_total_rss_mb"), 0),
            ])
        return rows

    headers = ["store", "shoppers", "turns/s", "conv/s", "p50 ms", "p95 ms", "p99 ms", "lookup p95", "err/unexp",
               "CPU ms/turn rasa/act/bot/client", "rasa RSS", "stack RSS"]
    if out["load"]:
        parts += ["", "Shopper mix over the widget socket, closed loop (track x2 stores, wrong email, cancel, out of "
                  "scope; new session and address per conversation)", table(headers, mix_rows(out["load"]))]
    for r in out["load"] + out.get("paced", []) + out["comparable"]["trulybot"] + out["comparable"]["stock"]:
        if r.get("error_kinds"):
            kinds = ", ".join(f"{k} x{v}" for k, v in sorted(r["error_kinds"].items(), key=lambda kv: -kv[1]))
            parts.append(f"  errors of {r['target']} {r['concurrency']} clients, store +{r['store_latency_ms']:g} ms"
                         f"{', paced' if r.get('think_ms') else ''}: {kinds}")
    if out.get("paced"):
        p = out["plan"]["paced"]
        parts += ["", f"Shopper mix, paced: {p['concurrency']} shoppers pausing {p['think_ms'] / 1000:g} s on average "
                  f"(uniform x0.5-1.5) before each message", table(headers, mix_rows(out["paced"]))]

    # -- memory, widget ------------------------------------------------------------------------------
    rows = []
    peak: Dict[str, float] = {}
    for r in out["load"] + out.get("paced", []) + out["comparable"]["trulybot"]:
        for name, p in r["processes"].items():
            peak[name] = max(peak.get(name, 0.0), p["peak_rss_mb"])
    rest = out["stack"].get("rss_at_rest_mb") or {}
    for name in rest:
        rows.append([name, fmt(rest.get(name), 0), fmt(peak.get(name), 0)])
    if rows:
        parts += ["", "Memory of the stack's processes (MB)", table(["process", "RSS at rest", "peak RSS under load"], rows)]
    idle = out.get("idle_sockets")
    if idle:
        parts.append(f"Idle sockets: {idle['sockets']} open after hello ({idle['failed']} failed) in {idle['open_s']} s: "
                     f"bot service RSS {idle['rss_before_mb']} -> {idle['rss_with_sockets_mb']} MB "
                     f"(+{idle['delta_mb']} MB, {idle['per_socket_kb']} KB/socket), {idle['rss_after_close_mb']} MB after close")
    w = out.get("widget") or {}
    if w:
        line = f"Widget {w.get('script')}: {w.get('raw_bytes')} B raw, {w.get('gzip_bytes')} B gzipped"
        if w.get("first_render_ms_median") is not None:
            line += (f"; first render (launcher in shadow root, cold cache) median {w['first_render_ms_median']} ms "
                     f"after navigation start over {w['runs']} runs {w['first_render_ms_all']}, "
                     f"DOMContentLoaded {w['dom_content_loaded_ms_median']} ms")
        elif w.get("error") or w.get("skipped"):
            line += f"; first render not measured: {w.get('error') or w.get('skipped')}"
        parts.append(line)

    dash = out.get("dashboard") or {}
    if dash.get("pages"):
        rows = [[page, fmt(v.get("median_ms"), 1), fmt(v.get("max_ms"), 1)] for page, v in dash["pages"].items()]
        parts += ["", f"Dashboard pages with {dash['days']} days of activity ({dash['rows']} rows, seeded in {dash['seed_seconds']} s)",
                  table(["page", "median ms", "max ms"], rows)]

    long = out.get("longconv") or {}
    if long.get("trulybot"):
        rows = []
        for name, label in (("rasa_default", "Rasa's own store, folds, copies, rule matching"), ("trulybot", "TrulyBot")):
            res = long.get(name) or {}
            rows.append([label, fmt(res.get("cpu_ms_turn5")), fmt(res.get("cpu_ms_turn50")), fmt(res.get("ratio_cpu"), 2, "x"),
                         fmt(res.get("wall_ms_turn5")), fmt(res.get("wall_ms_turn50")), str(res.get("events_at_end", "–"))])
        parts += ["", f"One long conversation (comparable script repeated, {long['trulybot'].get('turns')} turns, in-process "
                  "Agent, SQLite tracker store): median per turn over turns 1-10 and 46-55",
                  table(["", "CPU ms turn 5", "CPU ms turn 50", "ratio", "wall ms turn 5", "wall ms turn 50", "events"], rows)]

    reps = out.get("replicas") or {}
    if len(reps.get("rows") or []) == 2:
        rows = []
        for r in reps["rows"]:
            cpu = r["cpu_ms_per_turn"]
            total = sum(v for k, v in cpu.items() if k != "client" and v)
            rows.append([str(r["replicas"]), fmt(r["turns_per_s"]), fmt(_lat(r, "p50_ms")), fmt(_lat(r, "p95_ms")),
                         fmt(_lat(r, "p99_ms")), f"{r['errors']}/{r['unexpected_replies']}",
                         "/".join(fmt(cpu.get(k), 1) for k in ("rasa", "actions", "bot", "haproxy")),
                         fmt(total, 1), fmt(1000 / total if total else None, 0)])
        parts += ["", f"Replicas: shopper mix, {reps['concurrency']} closed-loop shoppers, store +0 ms, through HAProxy "
                  "(PostgreSQL, Redis); per core = 1000 / all-process CPU ms per turn",
                  table(["replicas", "turns/s", "p50 ms", "p95 ms", "p99 ms", "err/unexp",
                         "CPU ms/turn rasa/act/bot/haproxy", "all CPU ms/turn", "turns/s per core"], rows)]
    if reps.get("skipped") or reps.get("error"):
        parts.append(f"Replicas: not measured ({reps.get('skipped') or reps.get('error')})")

    # -- targets -----------------------------------------------------------------------------------------
    rows = [[t["target"], fmt(t["value"], 2 if (t["value"] or 0) < 20 else 0), t["goal"], _yes(t["met"]), t["note"]]
            for t in out["targets"]]
    parts += ["", "Targets (docs/benchmarks.md, DESIGN.md performance budget)",
              table(["target", "value", "goal", "met", "note"], rows), ""]
    return "\n".join(parts)
