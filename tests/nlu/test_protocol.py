"""The evaluation protocol's splitting (tests/nlu/protocol.py), on small made-up data (no training)."""
from __future__ import annotations

import json
from collections import Counter

from tests.nlu import nlu_eval, protocol


def _item(text: str, intent: str, source: str) -> protocol.Labelled:
    return protocol.Labelled(nlu_eval.Example(text, intent, ()), source, None)


def test_near_duplicates_ignore_numbers_and_case():
    train = [_item("Track order 1001 please", "track_order", "bitext"),
             _item("where is my parcel", "track_order", "bitext"),
             _item("book a flight to rome", "out_of_scope", "clinc")]
    test = [_item("track ORDER 99831 please", "track_order", "hand")]
    assert protocol.near_duplicates(train, test) == {0}


def test_near_duplicates_use_the_jaccard_bound():
    train = [_item("a b c d e f g h i j", "x", "bitext"), _item("a b c d e f g h", "x", "bitext")]
    test = [_item("a b c d e f g h i k", "x", "hand")]
    # 9 shared of 11 words (0.82) is a near duplicate; 8 of 10 (0.8) is one too; 0.9 bound: neither
    assert protocol.near_duplicates(train, test) == {0, 1}
    assert protocol.near_duplicates(train, test, jaccard=0.9) == set()


def test_stratified_folds_partition_and_spread_every_intent():
    items = [_item(f"msg {i}", "a" if i % 3 else "b", "hand") for i in range(30)]
    folds = protocol.stratified_folds(items, 3)
    flat = sorted(i for f in folds for i in f)
    assert flat == list(range(30))
    for fold in folds:
        counts = Counter(items[i].example.intent for i in fold)
        assert abs(counts["a"] - 20 / 3) < 1 and abs(counts["b"] - 10 / 3) < 1
    assert protocol.stratified_folds(items, 3) == folds  # fixed order


def test_plan_never_trains_on_the_held_out_source_or_its_near_duplicates():
    items = [_item("track order 1001", "track_order", "bitext"),
             _item("track order 2002", "track_order", "hand"),
             _item("where is my stuff", "track_order", "hand"),
             _item("hi", "greet", "clinc"),
             _item("hello there", "greet", "hand")]
    runs = {name: (train, test) for name, train, test in protocol.plan(items, 2, quick=True)}
    assert set(runs) == {"loso-bitext", "loso-clinc", "loso-hand", "kfold-1", "blind"}
    train, test = runs["loso-hand"]
    assert test == [1, 2, 4]
    assert train == [3]  # "track order 1001" is a near duplicate of "track order 2002"
    train, test = runs["loso-bitext"]
    assert test == [0] and 1 not in train and set(train) == {2, 3, 4}
    train, test = runs["kfold-1"]
    assert not set(train) & set(test) and sorted(train + test) == list(range(5))


def test_results_are_written_after_each_training(tmp_path):
    results = {"date": "d", "machine": "m", "quick": True, "folds": 3, "stock_epochs": 10, "data": {},
               "runs": {"loso-hand": {"project": {
                   "n": 1, "n_train": 2, "macro_f1": 0.5, "track_order_recall": None, "oos_recall": None,
                   "in_scope_fallback": 0.0, "order_number_exact": 1.0, "p50_ms": 1.0, "train_s": 3.0,
                   "recall": {"greet": 1.0}, "confusion": {"greet": {"greet": 1}}}}}}
    protocol.write_results(results, ["project"], tmp_path)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["aggregate"]["project"]["loso"]["macro_f1"] == 0.5
    assert len(saved["load_average_last"]) == 3
    assert "| loso-hand | project |" in (tmp_path / "report.md").read_text()
