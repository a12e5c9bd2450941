"""The NLU evaluation protocol (docs/nlu-evaluation.md): ``make eval`` runs it.

For each candidate pipeline (the project's ``config.yml`` and Rasa's stock ``rasa init`` pipeline,
plus optional extra candidates), trained and tested the same way in the same run:

- **leave-one-source-out** (LOSO): for each source of training data (``bitext``: the generated
  ``data/nlu/corpus/bitext.yml``; ``clinc``: ``data/nlu/corpus/clinc150.yml``; ``hand``: every other
  file under ``data/nlu/``), train on the other sources *minus their near duplicates of the test
  source* and test on that source;
- **stratified k-fold** over all training examples;
- **blind**: train on everything, test on ``tests/nlu/blind_nlu.yml``.

Reported per run: intent macro-F1 (over the intents present in the test set; ``nlu_fallback`` counts
as ``out_of_scope``), per-intent recall, out-of-scope recall, in-scope fallback rate, order-number
exact match, a confusion matrix, parse latency, training time. The table is printed; everything is
written as JSON and Markdown to ``--out`` (default ``var/nlu-eval/``).

Run::

    .venv/bin/python -m tests.nlu.protocol [--quick] [--candidates project,stock] [--folds 5]

Training runs ``rasa train nlu`` in a subprocess per model (no graph cache), parsing happens in this
process with ``Agent.parse_message``.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import yaml

from tests.nlu import nlu_eval

PROJECT = Path(__file__).resolve().parents[2]
DATA = PROJECT / "data" / "nlu"
CORPUS = DATA / "corpus"
BLIND_SET = Path(__file__).resolve().parent / "blind_nlu.yml"
SOURCES = ("bitext", "clinc", "hand")
THRESHOLDS = [0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]

# What `rasa init` writes into config.yml in Rasa 3.6 (the commented-out default pipeline).
STOCK_PIPELINE = [
    {"name": "WhitespaceTokenizer"},
    {"name": "RegexFeaturizer"},
    {"name": "LexicalSyntacticFeaturizer"},
    {"name": "CountVectorsFeaturizer"},
    {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
    {"name": "DIETClassifier", "epochs": 100, "constrain_similarities": True},
    {"name": "EntitySynonymMapper"},
    {"name": "ResponseSelector", "epochs": 100, "constrain_similarities": True},
    {"name": "FallbackClassifier", "threshold": 0.3, "ambiguity_threshold": 0.1},
]


def project_pipeline() -> List[dict]:
    return yaml.safe_load((PROJECT / "config.yml").read_text())["pipeline"]


def _replace(pipeline: List[dict], name: str, **changes) -> List[dict]:
    return [dict(c, **changes) if c["name"] == name else dict(c) for c in pipeline]


def candidates(stock_epochs: int) -> Dict[str, List[dict]]:
    """Candidate pipelines by name; ``stock`` may run with fewer epochs (said in the report)."""
    project = project_pipeline()
    at = next(i for i, c in enumerate(project) if c["name"] == "LogisticRegressionClassifier")
    return {
        "project": project,
        "stock": _replace(_replace(STOCK_PIPELINE, "DIETClassifier", epochs=stock_epochs),
                          "ResponseSelector", epochs=stock_epochs),
        "diet30-regex": project[:at] + [{"name": "DIETClassifier", "epochs": 30,
                                         "constrain_similarities": True,
                                         "entity_recognition": False}] + project[at + 1:],
        "lr-words-only": [c for c in project if c.get("analyzer") != "char_wb"],
    }


@dataclass
class Labelled:
    """A training example with the source it came from."""

    example: nlu_eval.Example
    source: str
    message: object  # rasa Message, to write training files


def source_of(path: Path) -> str:
    if path.parent == CORPUS:
        return {"bitext.yml": "bitext", "clinc150.yml": "clinc"}[path.name]
    return "hand"


def load_training() -> Tuple[List[Labelled], List[object]]:
    """All intent examples under data/nlu with their source, and the regex features."""
    from rasa.shared.nlu.training_data.loading import load_data

    examples, regexes = [], []
    for path in sorted(DATA.rglob("*.yml")):
        data = load_data(str(path))
        regexes.extend(data.regex_features)
        for m in data.intent_examples:
            ex = nlu_eval.Example(
                text=m.get("text"), intent=m.get("intent"),
                entities=tuple(sorted((e["entity"], e["value"]) for e in m.get("entities") or [])))
            examples.append(Labelled(ex, source_of(path), m))
    return examples, regexes


_WORD = re.compile(r"[a-z]+|\d+")


def shingle(text: str) -> frozenset:
    """Word set with every number as one token: the near-duplicate key."""
    return frozenset("<num>" if w.isdigit() else w for w in _WORD.findall(text.lower()))


def near_duplicates(train: Sequence[Labelled], test: Sequence[Labelled], jaccard: float = 0.8
                    ) -> set:
    """Indexes into ``train`` whose word set has Jaccard similarity >= ``jaccard`` with a test one."""
    test_sets = [shingle(t.example.text) for t in test]
    exact = set(test_sets)
    postings: Dict[str, List[int]] = defaultdict(list)
    for i, s in enumerate(test_sets):
        for w in s:
            postings[w].append(i)
    out = set()
    for j, tr in enumerate(train):
        s = shingle(tr.example.text)
        if s in exact:
            out.add(j)
            continue
        if not s:
            continue
        # a candidate shares at least one of the rarer words (a near duplicate shares most words)
        rare = sorted(s, key=lambda w: len(postings.get(w, ())))[: max(1, len(s) - int(len(s) * jaccard))]
        cands = {i for w in rare for i in postings.get(w, ())}
        for i in cands:
            t = test_sets[i]
            inter = len(s & t)
            if inter / (len(s) + len(t) - inter) >= jaccard:
                out.add(j)
                break
    return out


def stratified_folds(items: Sequence[Labelled], k: int) -> List[List[int]]:
    """k index lists; each intent's examples dealt round-robin in a fixed (text-sorted) order."""
    by_intent: Dict[str, List[int]] = defaultdict(list)
    for i, it in enumerate(items):
        by_intent[it.example.intent].append(i)
    folds: List[List[int]] = [[] for _ in range(k)]
    offset = 0
    for intent in sorted(by_intent):
        idx = sorted(by_intent[intent], key=lambda i: (stable_rank(items[i].example.text), i))
        for n, i in enumerate(idx):
            folds[(n + offset) % k].append(i)
        offset += len(idx)
    return folds


def stable_rank(text: str) -> str:
    """A fixed pseudo-random order, independent of Python's hash seed."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def write_training(items: Sequence[Labelled], regexes: Sequence[object], path: Path) -> None:
    from rasa.shared.nlu.training_data.training_data import TrainingData

    data = TrainingData(training_examples=[it.message for it in items], regex_features=list(regexes))
    path.write_text(data.nlu_as_yaml(), encoding="utf-8")


def train_model(pipeline: List[dict], nlu_file: Path, workdir: Path, name: str) -> Tuple[Path, float]:
    """``rasa train nlu`` in a subprocess; returns the model path and the wall-clock seconds."""
    cfg = workdir / f"{name}-config.yml"
    cfg.write_text(yaml.safe_dump({"recipe": "default.v1", "language": "en", "assistant_id": "eval",
                                   "pipeline": pipeline, "policies": []}, sort_keys=False))
    out = workdir / name
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "rasa", "train", "nlu", "--config", str(cfg), "--nlu", str(nlu_file),
         "--out", str(out), "--fixed-model-name", name],
        cwd=out, env=dict(os.environ, RASA_MAX_CACHE_SIZE="0", RASA_TELEMETRY_ENABLED="false",
                          TF_CPP_MIN_LOG_LEVEL="3"),
        capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"training {name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return next(out.glob("*.tar.gz")), seconds


def parse_with(model: Path, examples: Sequence[nlu_eval.Example]) -> List[nlu_eval.Parsed]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    try:
        return asyncio.run(nlu_eval.parse_all(agent, examples))
    finally:
        del agent
        gc.collect()


def confusion(parsed: Sequence[nlu_eval.Parsed]) -> Dict[str, Dict[str, int]]:
    """gold intent -> predicted intent (``nlu_fallback`` kept as its own column) -> count."""
    out: Dict[str, Counter] = defaultdict(Counter)
    for p in parsed:
        out[p.example.intent][p.intent] += 1
    return {g: dict(c) for g, c in sorted(out.items())}


def summarise(parsed: Sequence[nlu_eval.Parsed], threshold: Optional[float] = None) -> dict:
    preds = None
    if threshold is not None:
        preds = [nlu_eval.apply_threshold(p, threshold) for p in parsed]
    rep = nlu_eval.evaluate(parsed, preds)
    oos = [p for p in parsed if p.example.intent == nlu_eval.OUT_OF_SCOPE]
    return {
        "n": rep.n,
        "macro_f1": rep.macro_f1,
        "accuracy": rep.accuracy,
        "track_order_recall": rep.per_intent.get("track_order", {}).get("recall"),
        "oos_recall": rep.oos_caught if oos else None,
        "in_scope_fallback": rep.in_scope_fallback_rate,
        "order_number_exact": rep.entity_exact["order_number"],
        "order_number_support": rep.entity_support["order_number"],
        "order_number_false_pos": rep.entity_false_positives["order_number"],
        "recall": {k: v["recall"] for k, v in rep.per_intent.items()},
        "support": {k: v["support"] for k, v in rep.per_intent.items()},
        "p50_ms": rep.latency_p50_ms,
        "p95_ms": rep.latency_p95_ms,
        "errors": rep.errors[:200],
    }


def threshold_of(pipeline: List[dict]) -> Tuple[float, float]:
    for c in pipeline:
        if c["name"] == "FallbackClassifier":
            return c.get("threshold", 0.3), c.get("ambiguity_threshold", 0.1)
    return 0.0, 0.0


def plan(items: Sequence[Labelled], folds: int, quick: bool) -> List[Tuple[str, List[int], List[int]]]:
    """(run name, train indexes, test indexes) for every run of the protocol."""
    runs = []
    for src in SOURCES:
        test = [i for i, it in enumerate(items) if it.source == src]
        rest = [i for i, it in enumerate(items) if it.source != src]
        dups = near_duplicates([items[i] for i in rest], [items[i] for i in test])
        train = [i for n, i in enumerate(rest) if n not in dups]
        runs.append((f"loso-{src}", train, test))
    fold_sets = stratified_folds(items, folds)
    for f, test in enumerate(fold_sets[:1] if quick else fold_sets):
        held = set(test)
        runs.append((f"kfold-{f + 1}", [i for i in range(len(items)) if i not in held], test))
    runs.append(("blind", list(range(len(items))), []))
    return runs


def run(names: Sequence[str], folds: int, quick: bool, stock_epochs: int, out_dir: Path,
        log=print, only: Optional[Sequence[str]] = None) -> dict:
    """Every run of the plan (or only those named in ``only``) for every candidate in ``names``."""
    examples, regexes = load_training()
    blind = nlu_eval.load_examples(BLIND_SET)
    pipelines = candidates(stock_epochs)
    runs = [r for r in plan(examples, folds, quick) if not only or r[0] in only]
    results: dict = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                     "machine": machine(), "quick": quick, "folds": folds,
                     "stock_epochs": stock_epochs, "load_average_start": os.getloadavg(),
                     "data": dict(Counter(e.source for e in examples)),
                     "pipelines": {n: pipelines[n] for n in names}, "runs": {}}
    with tempfile.TemporaryDirectory(prefix="nlu-eval-") as tmp:
        work = Path(tmp)
        for run_name, train_idx, test_idx in runs:
            nlu_file = work / f"{run_name}.yml"
            write_training([examples[i] for i in train_idx], regexes, nlu_file)
            test = blind if run_name == "blind" else [examples[i].example for i in test_idx]
            for name in names:
                model, seconds = train_model(pipelines[name], nlu_file, work, f"{run_name}-{name}")
                parsed = parse_with(model, test)
                model.unlink()
                threshold, _ = threshold_of(pipelines[name])
                summary = summarise(parsed)
                summary.update(train_s=seconds, n_train=len(train_idx), confusion=confusion(parsed),
                               sweep={str(t): {k: v for k, v in summarise(parsed, t).items()
                                               if k in ("macro_f1", "oos_recall", "in_scope_fallback")}
                                      for t in THRESHOLDS} if threshold else {})
                results["runs"].setdefault(run_name, {})[name] = summary
                write_results(results, names, out_dir)
                log(f"{run_name:12s} {name:14s} train {len(train_idx):5d} test {len(test):5d} "
                    f"F1 {summary['macro_f1']:.3f} track {fmt(summary['track_order_recall'])} "
                    f"OOS {fmt(summary['oos_recall'])} fallback {summary['in_scope_fallback']:.3f} "
                    f"order# {summary['order_number_exact']:.3f} ({seconds:.0f} s)")
    write_results(results, names, out_dir)
    return results


def write_results(results: dict, names: Sequence[str], out_dir: Path) -> None:
    """(Re)writes results.json and report.md with the runs finished so far."""
    results["aggregate"] = aggregate(results["runs"], names)
    results["load_average_last"] = os.getloadavg()
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(results, indent=1, sort_keys=True))
    (out_dir / "report.md").write_text(markdown(results, names))


def pooled(runs: dict, prefix: str, name: str) -> Optional[dict]:
    """Mean over the runs whose name starts with ``prefix`` (LOSO sources or k-fold folds)."""
    rows = [r[name] for k, r in runs.items() if k.startswith(prefix) and name in r]
    if not rows:
        return None

    def mean(key):
        vals = [r[key] for r in rows if r.get(key) is not None]
        return sum(vals) / len(vals) if vals else None

    out = {k: mean(k) for k in ("macro_f1", "track_order_recall", "oos_recall", "in_scope_fallback",
                                "order_number_exact", "p50_ms", "train_s")}
    recall: Dict[str, List[float]] = defaultdict(list)
    for r in rows:
        for intent, value in r["recall"].items():
            recall[intent].append(value)
    out["recall"] = {k: sum(v) / len(v) for k, v in recall.items()}
    return out


def aggregate(runs: dict, names: Sequence[str]) -> dict:
    return {name: {"loso": pooled(runs, "loso-", name), "kfold": pooled(runs, "kfold-", name),
                   "blind": runs.get("blind", {}).get(name)} for name in names}


def fmt(v) -> str:
    return "—" if v is None else f"{v:.3f}"


def markdown(results: dict, names: Sequence[str]) -> str:
    lines = [f"NLU protocol run {results['date']} on {results['machine']}"
             f"{' (quick: one k-fold fold)' if results['quick'] else ''}; "
             f"k = {results['folds']}; stock DIET/ResponseSelector epochs = {results['stock_epochs']}; "
             f"training examples by source: {results['data']}", ""]
    head = ("| run | pipeline | train | test | macro-F1 | track_order recall | OOS recall | "
            "in-scope fallback | order_number exact | parse p50 ms | train s |")
    lines += [head, "|" + "---|" * 11]
    for run_name, per in results["runs"].items():
        for name in names:
            if name in per:
                r = per[name]
                lines.append(f"| {run_name} | {name} | {r['n_train']} | {r['n']} | {fmt(r['macro_f1'])} | "
                             f"{fmt(r['track_order_recall'])} | {fmt(r['oos_recall'])} | "
                             f"{fmt(r['in_scope_fallback'])} | {fmt(r['order_number_exact'])} | "
                             f"{r['p50_ms']:.1f} | {r['train_s']:.0f} |")
    lines += ["", "Means (LOSO = mean over the three sources; k-fold = mean over folds):", "",
              "| pipeline | protocol | macro-F1 | track_order recall | OOS recall | in-scope fallback | "
              "order_number exact |", "|" + "---|" * 7]
    for name in names:
        for proto in ("loso", "kfold"):
            a = results["aggregate"][name][proto]
            if a:
                lines.append(f"| {name} | {proto} | {fmt(a['macro_f1'])} | {fmt(a['track_order_recall'])} | "
                             f"{fmt(a['oos_recall'])} | {fmt(a['in_scope_fallback'])} | "
                             f"{fmt(a['order_number_exact'])} |")
    intents = sorted({i for n in names for p in ("loso", "kfold")
                      for i in ((results["aggregate"][n][p] or {}).get("recall") or {})})
    lines += ["", "Per-intent recall (mean over runs where the intent is in the test set):", "",
              "| intent | " + " | ".join(f"{n} {p}" for n in names for p in ("loso", "kfold")) + " |",
              "|" + "---|" * (1 + 2 * len(names))]
    for intent in intents:
        cells = [fmt(((results["aggregate"][n][p] or {}).get("recall") or {}).get(intent))
                 for n in names for p in ("loso", "kfold")]
        lines.append(f"| {intent} | " + " | ".join(cells) + " |")
    for name in names:
        lines += ["", f"Confusion matrix, {name}, all k-fold folds pooled (rows gold, columns predicted):", ""]
        pooled_cm: Dict[str, Counter] = defaultdict(Counter)
        for run_name, per in results["runs"].items():
            if run_name.startswith("kfold-") and name in per:
                for g, row in per[name]["confusion"].items():
                    pooled_cm[g].update(row)
        cols = sorted({c for row in pooled_cm.values() for c in row})
        lines += ["| gold \\ predicted | " + " | ".join(cols) + " |", "|" + "---|" * (1 + len(cols))]
        for g in sorted(pooled_cm):
            lines.append(f"| {g} | " + " | ".join(str(pooled_cm[g].get(c, "")) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Run the NLU evaluation protocol.")
    parser.add_argument("--quick", action="store_true", help="one k-fold fold instead of all")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--candidates", default="project,stock",
                        help="comma-separated: project, stock, diet30-regex, lr-words-only")
    parser.add_argument("--stock-epochs", type=int, default=100)
    parser.add_argument("--out", type=Path, default=PROJECT / "var" / "nlu-eval")
    parser.add_argument("--runs", default="",
                        help="comma-separated run names to do only those, e.g. kfold-2,kfold-3")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.candidates.split(",") if n.strip()]
    unknown = [n for n in names if n not in candidates(args.stock_epochs)]
    if unknown or args.folds < 2:
        parser.error(f"unknown candidate(s) {unknown}" if unknown else "--folds must be >= 2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    logging.getLogger().setLevel(logging.WARNING)
    only = [r.strip() for r in args.runs.split(",") if r.strip()]
    results = run(names, args.folds, args.quick, args.stock_epochs, args.out,
                  log=lambda s: print(s, flush=True), only=only)
    print()
    print((args.out / "report.md").read_text())
    print(f"written: {args.out / 'results.json'}, {args.out / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
