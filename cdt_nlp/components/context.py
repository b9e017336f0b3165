"""Context handling (ConText-style): negation, deferral, hypotheticals, other people.

For each evidence span found by the item detector, looks for context triggers
in the same sentence, within a token window and not across a terminating
term, and sets the evidence status. Which items a category affects is data:
``"applies_to": ["interpretation", "findings:head"]`` means all interpretation
evidence but only findings evidence that names the item itself ("findings
pending"), since "no calculus seen" is a finding, not an absent one.
"""

from __future__ import annotations

from bisect import bisect_right
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, Span

from .. import fastre
from ..rules import compile_list, load_rules, validate_rules
from ._state import (
    contracted_length,
    doc_text,
    meta_of,
    rules_from_disk,
    rules_to_disk,
    sentence_bounds,
    set_meta,
)
from .items import SPAN_KEY as ITEM_KEY

STATUS_BY_CATEGORY = {
    "NEGATED": "negated",
    "DEFERRED": "deferred",
    "HYPOTHETICAL": "hypothetical",
    "OTHER_PERSON": "other_person",
}
#: a trigger of this category makes a cue no evidence of the item at all (dropped, neither
#: present nor absent): "no periapical lesion" is a negative finding of the scan, not a denied
#: complaint, and says nothing about why the patient came
NOT_EVIDENCE = "NOT_EVIDENCE"
_PRIORITY = [NOT_EVIDENCE, "OTHER_PERSON", "DEFERRED", "NEGATED", "HYPOTHETICAL"]


class ContextResolver:
    """Assign a status to every item evidence span from its sentence context."""

    def __init__(self, nlp: Language, name: str = "cdt_context", max_tokens: int = 12) -> None:
        self.name = name
        self.max_tokens = max_tokens
        self.set_rules(load_rules("context.json"))

    def set_rules(self, rules: dict[str, Any]) -> None:
        self.rules = validate_rules("context.json", rules)
        self.max_tokens = int(rules.get("scope", {}).get("max_tokens", self.max_tokens))
        self._rules = []
        for rule in rules["context_rules"]:
            self._rules.append(
                (
                    rule["category"],
                    rule["direction"],
                    frozenset(rule.get("applies_to", [])),
                    compile_list(rule["patterns"]),
                    int(rule.get("max_tokens", self.max_tokens)),
                )
            )
        # one RE2 pass over a sentence says which rules can match in it at all
        self._prescan = fastre.PatternSet([rule[3] for rule in self._rules])

    def applies(self, applies_to: frozenset[str], item: str, kind: str) -> bool:
        return item in applies_to or f"{item}:{kind}" in applies_to

    def triggers(self, text: str, base: int) -> list[tuple[str, str, frozenset[str], int, int, int]]:
        """Context triggers in a sentence (its ``text``, starting at character ``base`` of the
        doc): (category, direction, applies_to, start, end, max_tokens), in doc offsets."""
        found = []
        pseudo: list[tuple[int, int]] = []
        rules = self._rules
        for k in self._prescan.candidates(text):
            category, direction, applies_to, regex, max_tokens = rules[k]
            for m in regex.finditer(text):
                s, e = base + m.start(), base + m.end()
                if category == "PSEUDO":
                    pseudo.append((s, e))
                else:
                    found.append((category, direction, applies_to, s, e, max_tokens))
        return [t for t in found if t[0] == "TERMINATE" or not any(ps <= t[3] and t[4] <= pe for ps, pe in pseudo)]

    def modifier_for(self, span: Span, trigs: list, item: str, kind: str) -> tuple[str, str] | None:
        doc = span.doc
        terms = [t for t in trigs if t[0] == "TERMINATE"]
        hits: dict[str, str] = {}
        for category, direction, applies_to, s, e, max_tokens in trigs:
            if category == "TERMINATE" or not self.applies(applies_to, item, kind):
                continue
            if s < span.end_char and e > span.start_char:
                # a trigger overlapping the cue itself ("no follow-up") modifies it
                hits.setdefault(category, doc_text(doc)[s:e])
                continue
            if e <= span.start_char and direction in ("forward", "bidirectional"):
                lo, hi = e, span.start_char
            elif s >= span.end_char and direction in ("backward", "bidirectional"):
                lo, hi = span.end_char, s
            else:
                continue
            if contracted_length(doc, lo, hi) > max_tokens:
                continue
            if any(lo <= t[3] and t[4] <= hi for t in terms):
                continue
            hits.setdefault(category, doc_text(doc)[s:e])
        for category in _PRIORITY:
            if category in hits:
                return category, hits[category]
        return None

    def __call__(self, doc: Doc) -> Doc:
        cache: dict[int, list] = {}
        first_tokens, bounds = sentence_bounds(doc)
        text = doc_text(doc)
        spans = list(doc.spans.get(ITEM_KEY, []))
        dropped = set()
        for i, span in enumerate(spans):
            meta = meta_of(span)
            if meta.get("status") not in (None, "present"):
                continue  # set by the section rules (empty header, placeholder)
            k = bisect_right(first_tokens, span.start) - 1
            if k not in cache:
                start, end = bounds[k]
                cache[k] = self.triggers(text[start:end], start)
            found = self.modifier_for(span, cache[k], span.label_, meta.get("kind", "content"))
            if found is None:
                set_meta(span, status="present")
            elif found[0] == NOT_EVIDENCE:
                dropped.add(i)
            else:
                set_meta(span, status=STATUS_BY_CATEGORY[found[0]], modifier=found[1])
        if dropped:
            doc.spans[ITEM_KEY] = [span for i, span in enumerate(spans) if i not in dropped]
        return doc

    def to_disk(self, path: str | Path, *, exclude: tuple = ()) -> None:
        rules_to_disk(path, self.rules)

    def from_disk(self, path: str | Path, *, exclude: tuple = ()) -> ContextResolver:
        self.set_rules(rules_from_disk(path))
        return self

    def initialize(self, get_examples=None, *, nlp: Language | None = None, rules: dict | None = None) -> None:
        if rules is not None:
            self.set_rules(rules)


@Language.factory("cdt_nlp_context", default_config={"max_tokens": 12})
def make_context_resolver(nlp: Language, name: str, max_tokens: int) -> ContextResolver:
    return ContextResolver(nlp, name, max_tokens=max_tokens)
