#!/usr/bin/env python3
"""Writes Rasa NLU training files from the public corpora in ``shared/corpora``.

Reads the Bitext customer-service train split (``bitext_train.csv``) and CLINC150's train/val
splits (``clinc150_train_val.json``), maps their labels onto this bot's intents (contract C6 plus
``store_info``, ``invoice`` and ``complaint``; the mapping tables below are the reviewed decision,
explained in docs/training.md), takes a fixed, reproducible sample per source label, drops texts the project already has
(hand-written data wins; the held-out sets in tests/nlu/ stay unseen), and writes

    data/nlu/corpus/bitext.yml      (Bitext order_id spans annotated as order_number)
    data/nlu/corpus/clinc150.yml
    data/nlu/corpus/LICENSE-bitext-CDLA-Sharing-1.0.txt

each with a header naming the source file, its upstream commit and its license. The output is
committed; rerun after changing a mapping or a sample size::

    python3 scripts/build_corpus_nlu.py [--corpora ../shared/corpora] [--out data/nlu/corpus]
    (default corpora directory: $TRULYBOT_CORPORA_DIR, else ``shared/corpora`` beside the repository)
    python3 scripts/build_corpus_nlu.py --check     # exit 1 if the committed files differ

Standard library + PyYAML only (PyYAML is only used to quote strings safely).
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import yaml

PROJECT = Path(__file__).resolve().parents[1]
DEFAULT_CORPORA = Path(os.environ.get("TRULYBOT_CORPORA_DIR") or PROJECT.parent / "shared" / "corpora")
DEFAULT_OUT = PROJECT / "data" / "nlu" / "corpus"

BITEXT_FILE = "bitext_train.csv"
BITEXT_LICENSE = "LICENSE-bitext-CDLA-Sharing-1.0.txt"
BITEXT_SOURCE = ("Bitext Customer Service Tagged Training Dataset for Intent Detection, train split: "
                 "data/train/Bitext_Sample_Customer_Service_Training_Dataset.csv from "
                 "github.com/bitext/customer-support-intent-detection-training-dataset")
BITEXT_COMMIT = "e970229e6473109417301b5edddb283917a10aac"
CLINC_FILE = "clinc150_train_val.json"
CLINC_SOURCE = ("CLINC150 (Larson et al., EMNLP 2019), splits train, val, oos_train, oos_val of "
                "data/data_full.json from github.com/clinc/oos-eval")
CLINC_COMMIT = "828f8093932c8fe6ca7936c3d2e52903b1c523de"

OUT_OF_SCOPE = "out_of_scope"


def project_files() -> List[Path]:
    """Hand-written training data and held-out sets: corpus rows with the same text are dropped."""
    return (sorted((PROJECT / "data" / "nlu").rglob("*.yml"))
            + [PROJECT / "tests" / "nlu" / "test_nlu.yml", PROJECT / "tests" / "nlu" / "blind_nlu.yml"])

# Bitext intent -> bot intent. Every one of the 27 Bitext intents is listed.
BITEXT_MAP: Dict[str, str] = {
    "track_order": "track_order",
    "cancel_order": "cancel_order",
    # A fee question asks about the store's cancellation terms; it is not a request to cancel.
    "check_cancellation_fee": "store_info",
    "change_order": "change_order",
    "change_shipping_address": "change_order",
    "set_up_shipping_address": "change_order",
    "get_refund": "return_refund",
    "track_refund": "return_refund",
    "check_refund_policy": "return_refund",
    "delivery_options": "delivery_info",
    "delivery_period": "delivery_info",
    "contact_human_agent": "human_handoff",
    "contact_customer_service": "human_handoff",
    "check_payment_methods": "store_info",
    "check_invoice": "invoice",
    "get_invoice": "invoice",
    "complaint": "complaint",
    "payment_issue": "complaint",
    "place_order": OUT_OF_SCOPE,
    "review": OUT_OF_SCOPE,
    "newsletter_subscription": OUT_OF_SCOPE,
    "create_account": OUT_OF_SCOPE,
    "delete_account": OUT_OF_SCOPE,
    "edit_account": OUT_OF_SCOPE,
    "switch_account": OUT_OF_SCOPE,
    "recover_password": OUT_OF_SCOPE,
    "registration_problems": OUT_OF_SCOPE,
}

# CLINC150 small talk that this bot answers. `maybe` ("no idea", "i'm unsure") is left out: it is
# neither an answer to a yes/no question nor a request the bot should refuse. Every other CLINC
# intent (banking, travel, home, auto, work, meta, other small talk) and `oos` is out of scope.
CLINC_MAP: Dict[str, str] = {
    "greeting": "greet",
    "goodbye": "goodbye",
    "thank_you": "thank",
    "yes": "affirm",
    "no": "deny",
    "cancel": "deny",
    "are_you_a_bot": "bot_challenge",
    "what_can_i_ask_you": "help",
}
CLINC_EXCLUDED = frozenset({"maybe"})

# Sample sizes (examples kept per *source* label). Chosen so that `make train` stays well inside its
# time budget and no source swamps the hand-written data: see docs/training.md.
BITEXT_PER_INTENT = 80
CLINC_SMALLTALK_PER_INTENT = 50
CLINC_OOS_PER_INTENT = 7
CLINC_OOS_QUERIES = 200  # of the 200 `oos` queries (train + val)

_NORMALISE = re.compile(r"[^a-z0-9]+")


def normalised(text: str) -> str:
    """Lower-case text with punctuation and spacing collapsed: the key for duplicates."""
    return _NORMALISE.sub(" ", text.lower()).strip()


def stable_rank(text: str) -> str:
    """A fixed pseudo-random order (independent of Python version and hash seed)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def sample(rows: Sequence[dict], n: int) -> List[dict]:
    """Up to ``n`` rows with distinct normalised text, in a fixed pseudo-random order."""
    seen, out = set(), []
    for row in sorted(rows, key=lambda r: stable_rank(r["text"])):
        key = normalised(row["text"])
        if key and key not in seen:
            seen.add(key)
            out.append(row)
        if len(out) >= n:
            break
    return out


def annotate(text: str, spans: Iterable[Tuple[int, int, str]]) -> str:
    """Rasa's inline entity syntax: ``[value](entity)`` for each (start, end, entity)."""
    out, pos = [], 0
    for start, end, entity in sorted(spans):
        out.append(text[pos:start])
        out.append(f"[{text[start:end]}]({entity})")
        pos = end
    out.append(text[pos:])
    return "".join(out)


def usable(text: str) -> bool:
    """Rasa reads brackets and parentheses as entity syntax: such texts are skipped."""
    return bool(text.strip()) and not any(c in text for c in "[](){}")


def read_bitext(path: Path) -> Dict[str, List[dict]]:
    """Bitext rows grouped by source intent: text, annotated text, tags."""
    groups: Dict[str, List[dict]] = defaultdict(list)
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            text = row["utterance"].strip()
            intent = row["intent"]
            if intent not in BITEXT_MAP:
                raise SystemExit(f"Bitext intent {intent!r} has no mapping in {__file__}")
            if not usable(text):
                continue
            spans = []
            if row["entity_type"] == "order_id":
                start, end = int(row["start_offset"]), int(row["end_offset"])
                if row["utterance"][start:end] != row["entity_value"]:
                    raise SystemExit(f"Bitext order_id span does not match its text: {row}")
                # offsets refer to the unstripped utterance
                shift = len(row["utterance"]) - len(row["utterance"].lstrip())
                spans.append((start - shift, end - shift, "order_number"))
            groups[intent].append({"text": text, "annotated": annotate(text, spans),
                                   "tags": row["tags"]})
    return groups


def read_clinc(path: Path) -> Dict[str, List[dict]]:
    """CLINC150 rows (train + val, and the oos splits as intent ``oos``) grouped by intent."""
    data = json.loads(path.read_text(encoding="utf-8"))
    groups: Dict[str, List[dict]] = defaultdict(list)
    for split in ("train", "val", "oos_train", "oos_val"):
        for text, intent in data[split]:
            text = text.strip()
            if usable(text):
                groups[intent].append({"text": text, "annotated": text, "tags": ""})
    return groups


def map_bitext(groups: Dict[str, List[dict]]) -> Dict[str, List[dict]]:
    out: Dict[str, List[dict]] = defaultdict(list)
    for source in sorted(groups):
        for row in sample(groups[source], BITEXT_PER_INTENT):
            out[BITEXT_MAP[source]].append(dict(row, source=source))
    return out


def map_clinc(groups: Dict[str, List[dict]]) -> Dict[str, List[dict]]:
    out: Dict[str, List[dict]] = defaultdict(list)
    for source in sorted(groups):
        if source in CLINC_EXCLUDED:
            continue
        if source in CLINC_MAP:
            rows, target = sample(groups[source], CLINC_SMALLTALK_PER_INTENT), CLINC_MAP[source]
        elif source == "oos":
            rows, target = sample(groups[source], CLINC_OOS_QUERIES), OUT_OF_SCOPE
        else:
            rows, target = sample(groups[source], CLINC_OOS_PER_INTENT), OUT_OF_SCOPE
        out[target].extend(dict(row, source=source) for row in rows)
    return out


def drop_cross_intent_duplicates(mapped: Dict[str, List[dict]]) -> Dict[str, List[dict]]:
    """A normalised text under two bot intents is dropped from both (Rasa refuses duplicates)."""
    owners: Dict[str, set] = defaultdict(set)
    for intent, rows in mapped.items():
        for row in rows:
            owners[normalised(row["text"])].add(intent)
    return {intent: [r for r in rows if len(owners[normalised(r["text"])]) == 1]
            for intent, rows in mapped.items()}


_ANNOTATION = re.compile(r"\[([^\]]+)\]\([^)]*\)")


def project_texts(paths: Iterable[Path]) -> set:
    """Normalised texts of the hand-written training data and held-out sets (Rasa YAML files)."""
    out = set()
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or []:
            examples = block.get("examples") or []
            if isinstance(examples, str):
                examples = [ln.strip()[2:] for ln in examples.splitlines() if ln.strip().startswith("- ")]
            else:
                examples = [ex["text"] for ex in examples]
            out.update(normalised(_ANNOTATION.sub(r"\1", ex)) for ex in examples)
    return out


def drop_texts(mapped: Dict[str, List[dict]], texts: set) -> Dict[str, List[dict]]:
    """Corpus rows whose normalised text the project already has (hand-written data wins; held-out
    messages stay unseen)."""
    return {intent: [r for r in rows if normalised(r["text"]) not in texts] for intent, rows in mapped.items()}


def _quote(text: str) -> str:
    return yaml.safe_dump(text, default_style='"', width=10_000).strip()


def render(mapped: Dict[str, List[dict]], header: List[str], with_tags: bool) -> str:
    """A Rasa 3.1 YAML NLU file; each example carries its source label (and Bitext tags)."""
    lines = [f"# {line}" if line else "#" for line in header]
    lines += ['version: "3.1"', "nlu:"]
    for intent in sorted(mapped):
        rows = sorted(mapped[intent], key=lambda r: (r["source"], normalised(r["text"]), r["text"]))
        if not rows:
            continue
        lines.append(f"  - intent: {intent}")
        lines.append("    examples:")
        for row in rows:
            lines.append(f"      - text: {_quote(row['annotated'])}")
            meta = f"source: {row['source']}"
            if with_tags:
                meta += f", tags: {row['tags']}"
            lines.append(f"        metadata: {{{meta}}}")
    return "\n".join(lines) + "\n"


def header(source: str, commit: str, license_line: str) -> List[str]:
    return [
        "GENERATED by scripts/build_corpus_nlu.py; do not edit by hand (edit the script and rerun).",
        f"Source: {source}",
        f"Upstream commit: {commit}",
        f"License: {license_line}",
        "Label mapping and sample sizes: scripts/build_corpus_nlu.py and docs/training.md.",
        "Each example's metadata names its source label.",
    ]


def build(corpora: Path, out_dir: Path = DEFAULT_OUT) -> Dict[str, str]:
    """File name -> content of every generated file."""
    own = project_texts(sorted(set(project_files()) - set(out_dir.glob("*.yml"))))
    bitext = drop_texts(drop_cross_intent_duplicates(map_bitext(read_bitext(corpora / BITEXT_FILE))), own)
    clinc = drop_texts(drop_cross_intent_duplicates(map_clinc(read_clinc(corpora / CLINC_FILE))), own)
    return {
        "bitext.yml": render(bitext, header(
            BITEXT_SOURCE, BITEXT_COMMIT,
            f"CDLA-Sharing-1.0 (Bitext Innovations); full text in {BITEXT_LICENSE} beside this file.")
            + ["Tags: Bitext linguistic-variation tags (see the dataset's TAGS.md)."], with_tags=True),
        "clinc150.yml": render(clinc, header(
            CLINC_SOURCE, CLINC_COMMIT,
            "CC BY 3.0, attribution: Larson et al., \"An Evaluation Dataset for Intent Classification "
            "and Out-of-Scope Prediction\", EMNLP 2019."), with_tags=False),
        BITEXT_LICENSE: (corpora / BITEXT_LICENSE).read_text(encoding="utf-8"),
    }


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA,
                        help=f"directory holding the corpora (default {DEFAULT_CORPORA})")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"output directory (default {DEFAULT_OUT})")
    parser.add_argument("--check", action="store_true",
                        help="compare with the files in --out instead of writing; exit 1 on a difference")
    args = parser.parse_args(argv)
    for name in (BITEXT_FILE, CLINC_FILE, BITEXT_LICENSE):
        if not (args.corpora / name).is_file():
            print(f"error: {args.corpora / name} not found (use --corpora)", file=sys.stderr)
            return 2
    files = build(args.corpora, args.out)
    if args.check:
        stale = [n for n, text in files.items()
                 if not (args.out / n).is_file() or (args.out / n).read_text(encoding="utf-8") != text]
        for name in stale:
            print(f"{args.out / name} differs from what the script generates", file=sys.stderr)
        return 1 if stale else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (args.out / name).write_text(text, encoding="utf-8")
        print(f"wrote {args.out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
