"""Shared NLU evaluation helpers for the held-out set (tests/nlu/test_nlu.yml).

Used by test_nlu_evaluation.py (floors) and protocol.py (the evaluation protocol, `make eval`).
Not a test module (pytest only collects test_*.py).

Conventions (see docs/nlu-evaluation.md):
- a prediction of ``nlu_fallback`` counts as ``out_of_scope`` for intent F1 (contract C6);
- the *in-scope fallback rate* is the share of in-scope messages (gold != out_of_scope) that fell
  back to ``nlu_fallback``;
- entity *exact match* for entity type E is measured over the messages whose gold annotation
  contains E: the set of extracted E values must equal the gold set exactly (no '#', same case);
  false positives (E extracted where none was annotated) are counted separately.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

HERE = Path(__file__).resolve().parent
TEST_SET = HERE / "test_nlu.yml"
FALLBACK = "nlu_fallback"
OUT_OF_SCOPE = "out_of_scope"
ENTITIES = ("order_number", "email", "postcode")


@dataclass
class Example:
    text: str
    intent: str
    entities: Tuple[Tuple[str, str], ...]


@dataclass
class Parsed:
    example: Example
    intent: str  # final intent, possibly nlu_fallback
    confidence: float
    ranking: List[Tuple[str, float]]  # classifier ranking without nlu_fallback
    entities: Tuple[Tuple[str, str], ...]
    latency_ms: float


@dataclass
class Report:
    n: int
    accuracy: float
    macro_f1: float
    per_intent: Dict[str, Dict[str, float]]
    in_scope_fallback_rate: float
    oos_caught: float
    entity_exact: Dict[str, float]
    entity_support: Dict[str, int]
    entity_false_positives: Dict[str, int]
    latency_p50_ms: float
    latency_p95_ms: float
    errors: List[str] = field(default_factory=list)

    def floors_failures(self) -> List[str]:
        """The issue #4 floors; an empty list means all are met."""
        out = []
        if self.macro_f1 < 0.95:
            out.append(f"intent macro-F1 {self.macro_f1:.3f} < 0.95")
        if self.per_intent["track_order"]["recall"] < 0.97:
            out.append(f"track_order recall {self.per_intent['track_order']['recall']:.3f} < 0.97")
        for ent in ("order_number", "email"):
            if self.entity_exact[ent] < 0.97:
                out.append(f"{ent} exact match {self.entity_exact[ent]:.3f} < 0.97")
        if self.in_scope_fallback_rate > 0.03:
            out.append(f"in-scope fallback rate {self.in_scope_fallback_rate:.3f} > 0.03")
        return out


def load_examples(path: Path = TEST_SET) -> List[Example]:
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [
        Example(
            text=m.get("text"),
            intent=m.get("intent"),
            entities=tuple(sorted((e["entity"], e["value"]) for e in m.get("entities") or [])),
        )
        for m in data.intent_examples
    ]


async def parse_all(agent: Any, examples: Sequence[Example], warmup: int = 5) -> List[Parsed]:
    """Parses every example once (after a few warm-up parses), timing each parse_message call."""
    for ex in examples[:warmup]:
        await agent.parse_message(ex.text)
    out = []
    for ex in examples:
        t0 = time.perf_counter()
        result = await agent.parse_message(ex.text)
        ms = (time.perf_counter() - t0) * 1000
        out.append(to_parsed(ex, result, ms))
    return out


def to_parsed(ex: Example, result: Dict[str, Any], latency_ms: float = 0.0) -> Parsed:
    intent = result.get("intent") or {}
    ranking = [
        (r["name"], float(r["confidence"]))
        for r in result.get("intent_ranking") or []
        if r.get("name") != FALLBACK
    ]
    ranking.sort(key=lambda r: -r[1])
    ents = tuple(sorted((e["entity"], str(e["value"])) for e in result.get("entities") or []))
    return Parsed(ex, intent.get("name") or "", float(intent.get("confidence") or 0.0), ranking, ents,
                  latency_ms)


def apply_threshold(p: Parsed, threshold: float, ambiguity: float = 0.1) -> str:
    """What FallbackClassifier(threshold, ambiguity_threshold) would output for this ranking."""
    if not p.ranking:
        return FALLBACK
    top = p.ranking[0][1]
    if top < threshold:
        return FALLBACK
    if len(p.ranking) > 1 and top - p.ranking[1][1] < ambiguity:
        return FALLBACK
    return p.ranking[0][0]


def percentile(values: Iterable[float], q: float) -> float:
    vals = sorted(values)
    if not vals:
        return 0.0
    k = (len(vals) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(vals) - 1)
    return vals[lo] + (vals[hi] - vals[lo]) * (k - lo)


def evaluate(parsed: Sequence[Parsed], predicted: Optional[Sequence[str]] = None) -> Report:
    """Metrics for one run. ``predicted`` overrides the final intents (threshold sweeps)."""
    preds = list(predicted) if predicted is not None else [p.intent for p in parsed]
    gold = [p.example.intent for p in parsed]
    labels = sorted(set(gold))
    mapped = [OUT_OF_SCOPE if x == FALLBACK else x for x in preds]

    per_intent: Dict[str, Dict[str, float]] = {}
    f1s = []
    for lab in labels:
        tp = sum(1 for g, m in zip(gold, mapped) if g == lab and m == lab)
        fp = sum(1 for g, m in zip(gold, mapped) if g != lab and m == lab)
        fn = sum(1 for g, m in zip(gold, mapped) if g == lab and m != lab)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per_intent[lab] = {"precision": prec, "recall": rec, "f1": f1, "support": tp + fn}
        f1s.append(f1)

    in_scope = [i for i, g in enumerate(gold) if g != OUT_OF_SCOPE]
    oos = [i for i, g in enumerate(gold) if g == OUT_OF_SCOPE]
    in_scope_fb = sum(1 for i in in_scope if preds[i] == FALLBACK) / max(len(in_scope), 1)
    oos_caught = sum(1 for i in oos if mapped[i] == OUT_OF_SCOPE) / max(len(oos), 1)

    exact, support, fps = {}, {}, {}
    errors = []
    for ent in ENTITIES:
        hits = n = fp = 0
        for p in parsed:
            g = sorted(v for e, v in p.example.entities if e == ent)
            got = sorted(v for e, v in p.entities if e == ent)
            if g:
                n += 1
                if g == got:
                    hits += 1
                else:
                    errors.append(f"entity {ent}: {p.example.text!r} gold={g} got={got}")
            elif got:
                fp += 1
                errors.append(f"entity {ent} false positive: {p.example.text!r} got={got}")
        exact[ent] = hits / n if n else 1.0
        support[ent] = n
        fps[ent] = fp
    for p, pred in zip(parsed, preds):
        if (OUT_OF_SCOPE if pred == FALLBACK else pred) != p.example.intent:
            conf = p.ranking[0][1] if p.ranking else 0.0
            errors.append(f"intent: {p.example.text!r} gold={p.example.intent} got={pred} "
                          f"(top {p.ranking[0][0] if p.ranking else '-'} {conf:.2f})")

    lat = [p.latency_ms for p in parsed]
    return Report(
        n=len(parsed),
        accuracy=sum(1 for g, m in zip(gold, mapped) if g == m) / max(len(gold), 1),
        macro_f1=statistics.fmean(f1s) if f1s else 0.0,
        per_intent=per_intent,
        in_scope_fallback_rate=in_scope_fb,
        oos_caught=oos_caught,
        entity_exact=exact,
        entity_support=support,
        entity_false_positives=fps,
        latency_p50_ms=percentile(lat, 0.5),
        latency_p95_ms=percentile(lat, 0.95),
        errors=errors,
    )


def sweep(parsed: Sequence[Parsed], thresholds: Iterable[float], ambiguity: float = 0.1
          ) -> List[Tuple[float, Report]]:
    return [(t, evaluate(parsed, [apply_threshold(p, t, ambiguity) for p in parsed]))
            for t in thresholds]
