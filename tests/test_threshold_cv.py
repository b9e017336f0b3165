"""Choosing the sentence classifier's thresholds by cross-validation (cdt_nlp.threshold_cv)."""

from pathlib import Path

from cdt_nlp.sentence_items import LEARNED_ITEMS
from cdt_nlp.threshold_cv import choose_threshold, folds, sweep

# (labelled present, found by the classifier, its probability, present as checked)
OUTCOMES = [
    (True, True, 0.95, True),  # found at any threshold up to 0.95
    (True, True, 0.72, True),  # found from 0.70 down
    (True, True, 0.62, True),
    (False, True, 0.66, True),  # a false find from 0.65 down
    (False, True, 0.58, True),
    (True, False, 0.0, True),  # the rules found it
    (False, False, 0.0, False),  # the rules said absent, the classifier had nothing
    (True, True, 0.30, False),  # never reaches a threshold of the grid
]


def test_sweep_counts_what_each_threshold_would_answer():
    rows = {r["threshold"]: r for r in sweep(OUTCOMES, grid=(0.9, 0.7, 0.6, 0.5))}
    assert rows[0.9]["learned_finds"] == 1 and rows[0.9]["learned_precision"] == 1.0
    assert rows[0.7]["learned_finds"] == 2
    assert rows[0.6]["learned_finds"] == 4 and rows[0.6]["learned_precision"] == 0.75
    assert rows[0.5]["learned_finds"] == 5
    # lowering the threshold finds more true items here until the false finds start
    assert rows[0.7]["f1"] > rows[0.9]["f1"]


def test_the_chosen_threshold_keeps_the_classifier_mostly_right():
    rows = sweep(OUTCOMES, grid=(0.9, 0.7, 0.6, 0.5))
    chosen = choose_threshold(rows, min_precision=0.8)
    assert chosen == 0.7  # 0.6 finds more but only 75% of its finds are right
    assert choose_threshold(rows, min_precision=0.7) in (0.6, 0.7)
    assert choose_threshold(rows, min_precision=1.01) == 0.9  # nothing qualifies: the strictest


def test_folds_keep_each_file_whole_and_use_every_file():
    paths = [Path(f"corpus/tune{i}.jsonl") for i in range(12)]
    groups = folds(paths, k=5)
    assert len(groups) == 5
    assert sorted(p for g in groups for p in g) == sorted(paths)
    assert all(len(g) >= 2 for g in groups)


def test_shipped_thresholds_are_in_the_grid_the_rule_chooses_from():
    from cdt_nlp.threshold_cv import GRID

    assert all(t in GRID for t in LEARNED_ITEMS.values())
