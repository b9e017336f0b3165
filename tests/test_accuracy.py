"""Accuracy on the hand-written dev set (corpus/dev.jsonl) must meet the checker-core bar.

The dev set is evaluation data: rules are never tuned to one of its notes without a
regression case in tests/data. The numbers are reported in the README by
``cdt-nlp evaluate corpus/dev.jsonl``.
"""

from __future__ import annotations

import pytest

from cdt_nlp.catalog import ITEMS
from cdt_nlp.evaluate import evaluate_items, read_labelled

from .conftest import ROOT


@pytest.fixture(scope="module")
def dev_report(checker):
    return evaluate_items(read_labelled(ROOT / "corpus" / "dev.jsonl"), checker)


def test_accuracy_dev_set_is_large_and_varied():
    notes = read_labelled(ROOT / "corpus" / "dev.jsonl")
    assert len(notes) >= 150
    assert len({n.style for n in notes}) >= 3
    assert {n.best_code for n in notes if n.best_code} >= {c for c in (n.target_code for n in notes) if c} - {None}


def test_accuracy_item_micro_f1(dev_report):
    assert dev_report.micro("present").f1 >= 0.95


@pytest.mark.parametrize("item", ITEMS)
def test_accuracy_each_item_f1(dev_report, item):
    assert dev_report.present[item].f1 >= 0.90


def test_accuracy_missing_class_f1(dev_report):
    assert dev_report.micro("missing").f1 >= 0.90
