"""Compare NLU pipelines on the held-out set. Run by hand (not collected by pytest):

    RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=3 \
        .venv/bin/python tests/nlu/compare_pipelines.py [--only project,stock] [--out DIR] [--json F]

For each candidate pipeline it trains an NLU-only model on data/nlu into a temporary directory
(never models/), times the training (wall clock of `rasa train nlu`, one training at a time), loads
it with rasa.core.agent.Agent.load, parses every message of tests/nlu/test_nlu.yml once with
Agent.parse_message in this process (after 5 warm-up parses) and reports intent macro-F1,
track_order recall, entity exact match, in-scope fallback rate, out-of-scope caught, parse latency
p50/p95. It also sweeps the FallbackClassifier threshold on the raw classifier ranking.

Candidate "project" is the `pipeline:` of ./config.yml, i.e. what `make train` ships.
Output: Markdown tables on stdout (pasted into docs/nlu-evaluation.md), optional JSON.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import yaml  # noqa: E402

import nlu_eval  # noqa: E402

PROJECT = Path(__file__).resolve().parents[2]

FALLBACK = {"name": "FallbackClassifier", "threshold": 0.3, "ambiguity_threshold": 0.1}

# (a) what `rasa init` generates in Rasa 3.6 (the commented default pipeline).
STOCK = [
    {"name": "WhitespaceTokenizer"},
    {"name": "RegexFeaturizer"},
    {"name": "LexicalSyntacticFeaturizer"},
    {"name": "CountVectorsFeaturizer"},
    {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
    {"name": "DIETClassifier", "epochs": 100, "constrain_similarities": True},
    {"name": "EntitySynonymMapper"},
    {"name": "ResponseSelector", "epochs": 100, "constrain_similarities": True},
    dict(FALLBACK),
]

_SPARSE = [
    {"name": "WhitespaceTokenizer"},
    {"name": "RegexFeaturizer", "case_sensitive": False},
    {"name": "CountVectorsFeaturizer"},
    {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
]
_REGEX = {"name": "RegexEntityExtractor", "case_sensitive": False, "use_lookup_tables": False,
          "use_regexes": True, "use_word_boundaries": True}

CANDIDATES = {
    "stock": STOCK,
    # (b) light: sparse bag-of-words/char n-grams + logistic regression; entities from regexes.
    "light-lr-regex": _SPARSE + [
        {"name": "LogisticRegressionClassifier", "max_iter": 300},
        _REGEX,
        dict(FALLBACK),
    ],
    # (c) light + learned entities: CRF with the regex matches as token features. The tokenizer
    # splits '#' off so "#1001" gives the token "1001".
    "light-lr-crf": [
        {"name": "WhitespaceTokenizer", "token_pattern": "[^#]+"},
        *_SPARSE[1:],
        {"name": "LogisticRegressionClassifier", "max_iter": 300},
        {"name": "CRFEntityExtractor"},
        dict(FALLBACK),
    ],
    # (b2) light with word bigrams as well ("update on my order" vs "update my order").
    "light-lr-regex-bigram": [
        {"name": "WhitespaceTokenizer"},
        {"name": "RegexFeaturizer", "case_sensitive": False},
        {"name": "CountVectorsFeaturizer", "min_ngram": 1, "max_ngram": 2},
        {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
        {"name": "LogisticRegressionClassifier", "max_iter": 300},
        _REGEX,
        dict(FALLBACK),
    ],
    # (b3) as b2 without RegexFeaturizer. Rasa 3.6's RegexFeaturizer emits no features for an
    # empty or whitespace-only message, and LogisticRegressionClassifier then fails with
    # "X has N features, but LogisticRegression is expecting N+3" (one per regex).
    "light-lr-regex-bigram-noregexfeat": [
        {"name": "WhitespaceTokenizer"},
        {"name": "CountVectorsFeaturizer", "min_ngram": 1, "max_ngram": 2},
        {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
        {"name": "LogisticRegressionClassifier", "max_iter": 300},
        _REGEX,
        dict(FALLBACK),
    ],
    # (d) DIET for intents only (fewer epochs), regexes for entities.
    "diet50-regex": _SPARSE + [
        {"name": "DIETClassifier", "epochs": 50, "constrain_similarities": True,
         "entity_recognition": False},
        _REGEX,
        dict(FALLBACK),
    ],
}

BLIND_SET = Path(__file__).resolve().parent / "blind_nlu.yml"
THRESHOLDS = [0.0, 0.1, 0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7]


def project_pipeline():
    return yaml.safe_load((PROJECT / "config.yml").read_text())["pipeline"]


def train(name, pipeline, workdir: Path) -> tuple:
    cfg = workdir / f"{name}.yml"
    cfg.write_text(yaml.safe_dump({"recipe": "default.v1", "language": "en",
                                   "assistant_id": "compare", "pipeline": pipeline,
                                   "policies": []}, sort_keys=False))
    out = workdir / name
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "rasa", "train", "nlu", "--config", str(cfg),
         "--nlu", str(PROJECT / "data" / "nlu"), "--out", str(out), "--fixed-model-name", name],
        # own working dir and no graph cache: otherwise a later candidate reuses the cached
        # featurizers of an earlier one and its training time looks shorter than it is
        cwd=out, env=dict(os.environ, RASA_MAX_CACHE_SIZE="0"), capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"training {name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return next(out.glob("*.tar.gz")), seconds


def load_agent(model: Path):
    from rasa.core.agent import Agent

    return Agent.load(str(model))


def evaluate_model(model: Path, examples):
    from rasa.core.agent import Agent

    t0 = time.perf_counter()
    agent = Agent.load(str(model))
    load_s = time.perf_counter() - t0
    parsed = asyncio.run(nlu_eval.parse_all(agent, examples))
    return parsed, load_s


def threshold_of(pipeline):
    for c in pipeline:
        if c["name"] == "FallbackClassifier":
            return c.get("threshold", 0.3), c.get("ambiguity_threshold", 0.1)
    return 0.0, 0.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="comma-separated candidate names (default: all + project)")
    ap.add_argument("--out", help="work directory for configs/models (default: a temp dir)")
    ap.add_argument("--json", help="write all numbers to this JSON file")
    ap.add_argument("--errors", action="store_true", help="print every miss")
    args = ap.parse_args(argv)
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # rasa's structlog prints every parse at DEBUG otherwise
    logging.getLogger().setLevel(logging.WARNING)

    candidates = {"project": project_pipeline(), **CANDIDATES}
    if args.only:
        candidates = {k: candidates[k] for k in args.only.split(",")}
    workdir = Path(args.out or tempfile.mkdtemp(prefix="nlu-compare-"))
    workdir.mkdir(parents=True, exist_ok=True)
    examples = nlu_eval.load_examples()
    blind = nlu_eval.load_examples(BLIND_SET)
    print(f"held-out set: {len(examples)} messages; work dir {workdir}", file=sys.stderr)

    results = {}
    rows = []
    for name, pipeline in candidates.items():
        print(f"training {name} ...", file=sys.stderr, flush=True)
        model, train_s = train(name, pipeline, workdir)
        parsed, load_s = evaluate_model(model, examples)
        rep = nlu_eval.evaluate(parsed)
        blind_rep = nlu_eval.evaluate(asyncio.run(nlu_eval.parse_all(load_agent(model), blind)))
        thr, amb = threshold_of(pipeline)
        sweep = nlu_eval.sweep(parsed, THRESHOLDS, amb)
        results[name] = {
            "pipeline": pipeline, "train_s": train_s, "load_s": load_s,
            "threshold": thr, "report": {k: v for k, v in vars(rep).items()},
            "sweep": [{"threshold": t, "macro_f1": r.macro_f1,
                       "in_scope_fallback": r.in_scope_fallback_rate,
                       "oos_caught": r.oos_caught,
                       "track_order_recall": r.per_intent["track_order"]["recall"]}
                      for t, r in sweep],
        }
        results[name]["blind"] = {k: v for k, v in vars(blind_rep).items()}
        rows.append((name, rep, train_s, load_s, thr, blind_rep))
        print(f"  {name}: F1 {rep.macro_f1:.3f} train {train_s:.0f}s", file=sys.stderr)
        if args.errors:
            for e in rep.errors:
                print("   ", e, file=sys.stderr)

    print("| pipeline | intent macro-F1 | accuracy | track_order recall | order_number exact "
          "| email exact | postcode exact | entity false pos. | in-scope fallback | OOS caught "
          "| parse p50 ms | parse p95 ms | train s | load s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, r, train_s, load_s, thr, _ in rows:
        fp = sum(r.entity_false_positives.values())
        print(f"| {name} (fallback {thr}) | {r.macro_f1:.3f} | {r.accuracy:.3f} "
              f"| {r.per_intent['track_order']['recall']:.3f} "
              f"| {r.entity_exact['order_number']:.3f} | {r.entity_exact['email']:.3f} "
              f"| {r.entity_exact['postcode']:.3f} | {fp} "
              f"| {r.in_scope_fallback_rate:.3f} | {r.oos_caught:.3f} "
              f"| {r.latency_p50_ms:.1f} | {r.latency_p95_ms:.1f} | {train_s:.0f} | {load_s:.1f} |")
    print(f"\nSecond held-out set ({BLIND_SET.name}, {len(blind)} messages, written after the "
          "data freeze; see docs/nlu-evaluation.md):\n")
    print("| pipeline | intent macro-F1 | accuracy | track_order recall | order_number exact "
          "| email exact | postcode exact | in-scope fallback | OOS caught |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, _, _, _, thr, b in rows:
        print(f"| {name} (fallback {thr}) | {b.macro_f1:.3f} | {b.accuracy:.3f} "
              f"| {b.per_intent['track_order']['recall']:.3f} "
              f"| {b.entity_exact['order_number']:.3f} | {b.entity_exact['email']:.3f} "
              f"| {b.entity_exact['postcode']:.3f} "
              f"| {b.in_scope_fallback_rate:.3f} | {b.oos_caught:.3f} |")
    if args.errors:
        for name, _, _, _, _, b in rows:
            for e in b.errors:
                print(f"   [blind {name}]", e, file=sys.stderr)
    for name in results:
        print(f"\nThreshold sweep, {name} (ambiguity_threshold "
              f"{threshold_of(candidates[name])[1]}):\n")
        print("| threshold | in-scope fallback | OOS caught | macro-F1 | track_order recall |")
        print("|---|---|---|---|---|")
        for s in results[name]["sweep"]:
            print(f"| {s['threshold']:.2f} | {s['in_scope_fallback']:.3f} | {s['oos_caught']:.3f} "
                  f"| {s['macro_f1']:.3f} | {s['track_order_recall']:.3f} |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
