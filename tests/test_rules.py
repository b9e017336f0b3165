"""Rule files: required top-level keys, unknown keys rejected, term-set references checked."""

from __future__ import annotations

import json
import re

import pytest

from cdt_nlp.components.items import ItemDetector, cue_pattern
from cdt_nlp.errors import CdtError
from cdt_nlp.rules import RULE_FILES, compile_terms, load_rules, validate_rules


@pytest.mark.parametrize("name", sorted(RULE_FILES))
def test_rules_packaged_files_load_and_round_trip(name):
    data = load_rules(name)
    assert validate_rules(name, json.loads(json.dumps(data))) == data


@pytest.mark.parametrize("name", ["sections.json", "items.json", "context.json"])
def test_rules_unknown_top_level_key_is_rejected(name):
    data = load_rules(name)
    data["sectoin_rules"] = []
    with pytest.raises(CdtError, match="unknown top-level keys"):
        validate_rules(name, data)


@pytest.mark.parametrize("name", ["sections.json", "catalog.json"])
def test_rules_missing_top_level_key_is_rejected(name):
    with pytest.raises(CdtError, match="top-level key"):
        validate_rules(name, {"something": []})


@pytest.mark.parametrize("pattern", ["{no_such_set}"])
def test_rules_unknown_term_set_is_rejected(pattern):
    with pytest.raises(CdtError, match="unknown term set"):
        compile_terms(pattern, {"symptom": ["pain"]})


@pytest.mark.parametrize(("entry", "text", "hit"), [("=US", "US L SMG", True), ("=US", "thank us", False)])
def test_rules_case_sensitive_entries(entry, text, hit):
    from cdt_nlp.rules import compile_list

    assert bool(compile_list([entry]).search(text)) is hit


def _boundary_wrapped_patterns():
    """Every pattern that rules.compile_terms/compile_list wraps in word boundaries."""
    for item, spec in load_rules("items.json")["item_rules"].items():
        for cue in spec.get("cues", []):
            yield f"items/{item}", cue_pattern(item, cue["pattern"])
        for pattern in spec.get("placeholders", []):
            yield f"items/{item}/placeholder", pattern
    for rule in load_rules("context.json")["context_rules"]:
        for pattern in rule["patterns"]:
            yield f"context/{rule['category']}", pattern
    for name, terms in load_rules("lexicon.json")["term_sets"].items():
        for pattern in terms:
            yield f"lexicon/{name}", pattern.lstrip("=")
    for group, value in load_rules("service.json")["service_rules"].items():
        lists = value.values() if isinstance(value, dict) else [value]
        for patterns in lists:
            for pattern in patterns:
                yield f"service/{group}", pattern


def test_rules_no_alternative_starts_or_ends_in_whitespace():
    """A space next to the added word boundary can never match (a bug this project had twice)."""
    bad = []
    for where, pattern in _boundary_wrapped_patterns():
        for alt in _top_level_alternatives(pattern):
            core = re.sub(r"(\(\?[=!][^()]*(\([^()]*\)[^()]*)*\))+$", "", alt)  # drop trailing lookaheads
            if core != core.strip(" ") or _ends_in_space(core):
                bad.append((where, alt))
    assert bad == []


def _ends_in_space(alt: str) -> bool:
    """True when every way through ``alt`` ends in a space, as in ``... (the |a |an )``."""
    if alt.endswith(" "):
        return True
    if not alt.endswith(")") or alt.endswith("\\)"):
        return False
    depth = 0
    for i in range(len(alt) - 1, -1, -1):
        if alt[i] == ")" and (i == 0 or alt[i - 1] != "\\"):
            depth += 1
        elif alt[i] == "(" and (i == 0 or alt[i - 1] != "\\"):
            depth -= 1
            if depth == 0:
                inner = re.sub(r"^\?(:|i:|-i:)", "", alt[i + 1 : -1])
                return all(_ends_in_space(a) for a in _top_level_alternatives(inner))
    return False


def _top_level_alternatives(pattern: str) -> list[str]:
    out, depth, current, escaped = [], 0, "", False
    for ch in pattern:
        if escaped:
            current, escaped = current + ch, False
            continue
        if ch == "\\":
            escaped = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            out.append(current)
            current = ""
            continue
        current += ch
    return [*out, current]


@pytest.mark.parametrize(
    ("field", "name"), [("excludes_same_sentence", "no_such_filter"), ("excludes", "no_such_term_set")]
)
def test_rules_item_cue_excluding_an_unknown_filter_fails_at_load(nlp, field, name):
    import copy

    detector = nlp.get_pipe("cdt_items")
    before = copy.deepcopy(detector.rules)
    rules = copy.deepcopy(detector.rules)
    rules["items"]["item_rules"]["findings"]["cues"][0][field] = [name]
    with pytest.raises(ValueError, match=name):
        detector.set_rules(rules)
    assert detector.rules == before  # a rule error leaves the previous rules in place
    doc = nlp("IMPRESSION: consistent with sialolithiasis. US L SMG done.")
    assert any(s.label_ == "interpretation" for s in doc.spans["cdt_items"])


def test_cue_pattern_may_be_a_list_of_alternatives():
    """A long cue is written one alternative per line; it matches like the same alternation
    written as one string, keeps the order of its alternatives, and an empty list is an error."""
    rules = {"items": load_rules("items.json"), "lexicon": load_rules("lexicon.json")}
    detector = ItemDetector.__new__(ItemDetector)  # rules only: no pipeline needed
    cue = rules["items"]["item_rules"]["follow_up"]["cues"][0]
    cue["pattern"] = ["recheck (in|at) \\d+", "recheck (in|at) \\d+ weeks", "recall"]
    detector.set_rules(rules)
    regex = detector._items["follow_up"]["cues"][0]["regex"]
    assert regex.search("Plan: recheck in 6 weeks.").group(0) == "recheck in 6"  # first alternative wins
    assert regex.search("We will recall her.") is not None
    assert regex.search("Plan: extraction.") is None
    cue["pattern"] = []
    with pytest.raises(ValueError, match="non-empty list"):
        detector.set_rules(rules)
