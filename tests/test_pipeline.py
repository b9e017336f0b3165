"""The spaCy pipeline: registered factories, serialisation round trips, spacy.load of a saved pipeline."""

from __future__ import annotations

import json

import pytest
import spacy

import cdt_nlp
from cdt_nlp.pipeline import PIPE_NAMES

NOTE = (
    "CC: L submandibular swelling x3 mo.\nUS L SMG performed.\n"
    "FINDINGS: 4 mm echogenic focus with shadowing in Wharton's duct.\n"
    "IMPRESSION: interpretation deferred to OMFS radiologist.\nPLAN: refer to OMFS."
)


def _summary(doc):
    return sorted((s.label_, s.start_char, s.end_char, s._.cdt.get("status")) for s in doc.spans["cdt_items"])


@pytest.mark.parametrize("text", [NOTE])
def test_pipeline_load_builds_named_components(nlp, text):
    assert tuple(nlp.pipe_names) == PIPE_NAMES
    doc = nlp(text)
    assert "cdt_items" in doc.spans and "cdt_sections" in doc.spans and "cdt_facts" in doc.spans


@pytest.mark.parametrize("text", [NOTE])
def test_pipeline_round_trip_with_spacy_load(nlp, tmp_path, text):
    nlp.to_disk(tmp_path / "pipe")
    reloaded = spacy.load(tmp_path / "pipe")
    assert reloaded.pipe_names == nlp.pipe_names
    assert _summary(reloaded(text)) == _summary(nlp(text))


@pytest.mark.parametrize("name", PIPE_NAMES)
def test_pipeline_component_to_disk_from_disk_keeps_rules(nlp, tmp_path, name):
    component = nlp.get_pipe(name)
    component.to_disk(tmp_path / name)
    saved = json.loads((tmp_path / name / "rules.json").read_text("utf-8"))
    fresh = cdt_nlp.load().get_pipe(name)
    fresh.from_disk(tmp_path / name)
    assert fresh.rules == component.rules == saved


@pytest.mark.parametrize("text", ["IMPRESSION: stone"])
def test_pipeline_changed_rules_survive_serialisation(tmp_path, text):
    nlp = cdt_nlp.load()
    sections = nlp.get_pipe("cdt_sections")
    rules = json.loads(json.dumps(sections.rules))
    for rule in rules["section_rules"]:
        if rule["section"] == "impression":
            rule["headers"] = [h for h in rule["headers"] if h != "impression"]
    spoken = rules["spoken_headers"]["headers"]  # and the dictated phrases that stand for it
    rules["spoken_headers"]["headers"] = {k: v for k, v in spoken.items() if v != "impression"}
    sections.initialize(rules=rules)
    assert [s.name for s in nlp(text)._.cdt_sections] == ["other"]
    nlp.to_disk(tmp_path / "pipe")
    reloaded = spacy.load(tmp_path / "pipe")
    assert [s.name for s in reloaded(text)._.cdt_sections] == ["other"]


@pytest.mark.parametrize("factory", ["cdt_nlp_sections", "cdt_nlp_items", "cdt_nlp_service", "cdt_nlp_context"])
def test_pipeline_factories_are_registered(factory):
    nlp = spacy.blank("en")
    assert factory in nlp.factory_names


def test_context_not_evidence_rule_drops_the_span_and_leaves_the_others():
    """A NOT_EVIDENCE trigger removes the cue's evidence span altogether (neither present nor
    absent); without that rule the same span stays, read as a negated complaint."""
    text = "CBCT of #30 read by me; no lesion. Pt c/o pain LR x2 wks."
    nlp = cdt_nlp.load()

    def complaint_spans():
        doc = nlp(text)
        return [
            (text[s.start_char : s.end_char], s._.cdt.get("status"))
            for s in doc.spans["cdt_items"]
            if s.label_ == "chief_complaint"
        ]

    kept = complaint_spans()
    assert ("lesion", "negated") not in kept and ("lesion", "present") not in kept
    assert any(status == "present" for _, status in kept)  # the real complaint is untouched
    context = nlp.get_pipe("cdt_context")
    rules = json.loads(json.dumps(context.rules))
    rules["context_rules"] = [r for r in rules["context_rules"] if r["category"] != "NOT_EVIDENCE"]
    context.initialize(rules=rules)
    assert ("lesion", "negated") in complaint_spans()
