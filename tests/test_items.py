"""Item detection and context rules, one data-driven case per behaviour (tests/data/item_cases.jsonl)."""

from __future__ import annotations

import pytest

from cdt_nlp.catalog import ITEMS

from .conftest import DATA, read_jsonl

CASES = read_jsonl(DATA / "item_cases.jsonl")


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_items_case(checker, case):
    result = checker.check(case["text"], code="D0370").items[case["item"]]
    assert result.present is case["present"]
    if case["reason"] is not None:
        assert result.reason == case["reason"]


@pytest.mark.parametrize("item", ITEMS)
def test_items_every_item_has_present_and_absent_cases(item):
    kinds = {c["present"] for c in CASES if c["item"] == item}
    assert kinds == {True, False}


@pytest.mark.parametrize(
    "reason", ["negated", "deferred", "empty", "other_person", "hypothetical", "no_clinical_reason", "not_imaging"]
)
def test_items_every_context_rule_is_covered(reason):
    assert any(c["reason"] == reason for c in CASES)


@pytest.mark.parametrize(
    ("text", "trigger_section"),
    [("IMPRESSION: consistent with sialolithiasis. US L SMG done.", "impression")],
)
def test_items_spans_record_trigger_and_section(nlp, text, trigger_section):
    doc = nlp(text)
    spans = [s for s in doc.spans["cdt_items"] if s.label_ == "interpretation"]
    assert spans
    assert all(s._.cdt["trigger"] for s in spans)
    assert any(s._.cdt["section"] == trigger_section for s in spans)
    assert all(s._.cdt["status"] == "present" for s in spans)


@pytest.mark.parametrize(
    ("text", "item"),
    [("CC: L parotid swelling x3 mo.\nUS L parotid done.\nFINDINGS: 2 cm hypoechoic mass.", "findings")],
)
def test_items_evidence_offsets_point_into_the_note(checker, text, item):
    evidence = checker.check(text, code="D0370").items[item].evidence
    assert evidence
    for ev in evidence:
        assert text[ev.start : ev.end] == ev.text
