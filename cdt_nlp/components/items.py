"""Item detection: finds evidence for the six documentation checklist items.

Evidence comes from two sources, both described in ``resources/items.json``:

* sections whose header names the item (``IMPRESSION:`` -> interpretation);
  an empty or placeholder body ("CC:", "Plan: ___", "Indication: per
  protocol") becomes evidence with an absent status;
* cue patterns anywhere in the text, each with optional conditions on its
  sentence (``needs`` a term set such as imaging words, ``excludes`` clinical
  exam words, ``excludes_after_colon`` a sentence filter that the part of the
  sentence before the match's clause ends with, as in "read by me: 6 mm stone")
  and on the section it sits in.

Each evidence span lands in ``doc.spans["cdt_items"]`` labelled with the item;
``span._.cdt`` holds the trigger, section, kind (head/content/section),
sentence offsets and, after the context component, the status.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, Span

from .. import fastre
from ..rules import compile_list, compile_terms, load_rules, validate_rules
from ._state import doc_text, rules_from_disk, rules_to_disk, sentence_bounds, set_meta, token_range
from .sections import FIELD_SPLIT, OTHER_ENCOUNTER_SECTIONS, SPACES, Section

SPAN_KEY = "cdt_items"
ITEMS = ("chief_complaint", "anatomical_region", "findings", "interpretation", "rationale", "follow_up")
_CUE_FIELDS = {
    "kind",
    "pattern",
    "needs",
    "section_needs",
    "excludes",
    "exclude_sections",
    "excludes_same_sentence",
    "excludes_after_colon",
    "affirms",
}
_ITEM_FIELDS = {
    "sections",
    "cues",
    "placeholders",
    "placeholders_override_cues",
    "section_requires_cue",
    "impression_needs_conclusion",
    "section_excludes",
}
#: a line break or an export's field separator
_LINE_OR_FIELD = re.compile(r"[\n\r]|" + FIELD_SPLIT.pattern, re.IGNORECASE)
_REFERRAL = re.compile(r"refer", re.IGNORECASE)
#: a body made of measurements ("RL 5.8 x 4.1 mm, 3.9 mm to IAN") restates findings
_MEASUREMENT = re.compile(r"\d+(\.\d+)?\s?(mm|cm|%|x\b)", re.IGNORECASE)
#: a line break, as typed or as an HTML export leaves it ("CC:<br>Gland: ...")
_LINE_BREAK = re.compile(r"\n|<br\s*/?>", re.IGNORECASE)
#: an item's label whose field is a template blank ("Tx plan / Next steps: *** ...")
_LABEL_BLANK = re.compile(r"[^:.\n]{0,30}:[ \t]*(?:\*{3,}|_{3,}|\?{3,}|\[\s*\])")
#: a list entry's number ("1.", "2)", "a)") left after splitting a body into sentences
_LIST_NUMBER = re.compile(r"^\s*(?:\d{1,2}|[a-z])\s*[.)]?\s*$|^\s*(?:\d{1,2}|[a-z])[.)]\s+")
#: where a body's first statement ends: a stop that is not a title's ("Dr.") or a decimal's, ";", a
#: line break or a field separator
_FIRST_BREAK = re.compile(r"(?<![Dd]r)(?<![Mm]rs)(?<![Mm][rs])\.(?!\d)|[;\n|]")
#: sections that count as an imaging report's body for the ``imaging`` need
IMAGING_SECTIONS = frozenset({"findings", "impression", "technique"})
HISTORY_SECTIONS = frozenset({"chief_complaint", "history"})
#: how far into a note "the opening lines" reach, in characters
NOTE_START_CHARS = 250
#: sections whose header alone on a line, followed by unrelated text, counts as empty
DETACHED_HEADER_CHECK = frozenset({"chief_complaint", "history"})
#: sections that never hold the imaging report's body
NON_REPORT_SECTIONS = frozenset({"chief_complaint", "history", "rationale", "plan", "objective"})
#: sentence filters that look only at a content cue's clause (between ":" or ";" breaks): a reason
#: or a capture statement in one clause does not cancel a result stated in the next
CLAUSE_FILTERS = frozenset({"purpose", "plain_film", "capture_without_result", "image_quality", "treatment_history"})
#: excluded term sets that, like the CLAUSE_FILTERS, only exclude a content cue in its own clause
CLAUSE_SETS = frozenset({"technique"})


def _first_line_end(text: str, section: Section) -> int:
    """Where the first line (or export field) with text of a section's body ends: a placeholder
    status speaks for that line; a later line of the body ("Report: pending" then "RTC 2 wks")
    is content of its own."""
    body_start, end = section.body_start, section.end
    pos = body_start
    while pos < end:
        m = _LINE_OR_FIELD.search(text, pos, end)
        stop = m.start() if m else end
        if text[pos:stop].strip(" \t:.-,;|"):
            return stop
        if m is None:
            return end
        pos = m.end()
    return end


def cue_pattern(item: str, pattern: str | list[str]) -> str:
    """A cue's regex source: one string, or a list of alternatives (one per line in the file,
    tried in order) joined into one alternation."""
    if isinstance(pattern, str):
        return pattern
    if not pattern or not all(isinstance(alt, str) and alt for alt in pattern):
        raise ValueError(f"items.json: a cue of '{item}' needs a pattern or a non-empty list of alternatives")
    return "|".join(pattern)


class ItemDetector:
    """Find evidence spans for the six checklist items."""

    def __init__(self, nlp: Language, name: str = "cdt_items") -> None:
        self.name = name
        self.set_rules({"items": load_rules("items.json"), "lexicon": load_rules("lexicon.json")})

    def set_rules(self, rules: dict[str, Any]) -> None:
        items = validate_rules("items.json", rules["items"])
        lexicon = validate_rules("lexicon.json", rules["lexicon"])
        sets = lexicon["term_sets"]
        # everything is built first and set together at the end: a rule error leaves the detector
        # with its previous, working rules
        compiled_sets = {name: compile_list(terms) for name, terms in sets.items()}
        filters = {
            name: fastre.compile("|".join(f"(?:{p})" for p in pats), re.IGNORECASE)
            for name, pats in items.get("sentence_filters", {}).items()
        }
        #: name -> (the filter, the filter or term set that cancels it)
        combined = {
            name: (
                filters[spec["filter"]],
                compiled_sets[spec["unless_set"]] if "unless_set" in spec else filters[spec["unless"]],
            )
            for name, spec in items.get("combined_filters", {}).items()
            if not name.startswith("_")
        }
        compiled_items: dict[str, dict[str, Any]] = {}
        for item, spec in items["item_rules"].items():
            if item not in ITEMS:
                raise ValueError(f"items.json: unknown item '{item}'")
            unknown = set(spec) - _ITEM_FIELDS
            if unknown:
                raise ValueError(f"items.json: item '{item}' has unknown fields {sorted(unknown)}")
            cues = []
            for cue in spec.get("cues", []):
                bad = set(cue) - _CUE_FIELDS
                if bad:
                    raise ValueError(f"items.json: cue of '{item}' has unknown fields {sorted(bad)}")
                named = set(cue.get("excludes_same_sentence", ())) | set(cue.get("excludes_after_colon", ()))
                unknown_filters = named - set(filters) - set(combined)
                unknown_sets = set(cue.get("excludes", ())) - set(compiled_sets)
                if unknown_filters or unknown_sets:
                    raise ValueError(
                        f"items.json: cue of '{item}' excludes unknown filters or term sets "
                        f"{sorted(unknown_filters | unknown_sets)}"
                    )
                # each "needs" entry is a set of alternatives ("imaging|referral"), split once here
                needs = tuple(tuple(need.split("|")) for need in cue.get("needs", ()))
                # extra needs inside the named sections ("plan": a reason there must be for imaging)
                section_needs = {
                    name: tuple(tuple(need.split("|")) for need in extra)
                    for name, extra in cue.get("section_needs", {}).items()
                }
                cues.append(
                    {
                        **cue,
                        "regex": compile_terms(cue_pattern(item, cue["pattern"]), sets),
                        "needs": needs,
                        "section_needs": section_needs,
                    }
                )
            unknown_filters = set(spec.get("section_excludes", ())) - set(filters)
            if unknown_filters:
                raise ValueError(
                    f"items.json: item '{item}' section_excludes unknown filters {sorted(unknown_filters)}"
                )
            placeholders = spec.get("placeholders")
            compiled_items[item] = {
                # sentence filters that make a section of this item say nothing about it when its
                # first sentence matches ("Dx: generalized periodontitis, stage III": a clinical dx)
                "section_excludes": tuple(spec.get("section_excludes", ())),
                "section_requires_cue": bool(spec.get("section_requires_cue", False)),
                "needs_conclusion": bool(spec.get("impression_needs_conclusion", False)),
                "sections": frozenset(spec.get("sections", [])),
                "cues": cues,
                "placeholder": compile_list(placeholders) if placeholders else None,
                # a body that is wholly a placeholder is one even when the placeholder itself holds a
                # cue ("Patient presents for scheduled appointment")
                "placeholders_win": bool(spec.get("placeholders_override_cues", False)),
            }
        self.rules = {"items": items, "lexicon": lexicon}
        self._sets, self._filters, self._combined, self._items = compiled_sets, filters, combined, compiled_items

    # -- helpers ---------------------------------------------------------------
    def term_set(self, name: str) -> Any:
        """The compiled term set ``name`` of ``lexicon.json`` (``KeyError`` when it has none)."""
        return self._sets[name]

    @staticmethod
    def section_at(sections: list[Section], char: int, starts: list[int] | None = None) -> Section | None:
        """The section holding ``char`` (sections are sorted and disjoint); ``starts``: their
        start offsets, when the caller looks up many positions."""
        if starts is None:
            starts = [s.start for s in sections]
        k = bisect_right(starts, char) - 1
        if k >= 0 and char < sections[k].end:
            return sections[k]
        return None

    @staticmethod
    def _found(pattern: Any, sent: int, sent_text: str, memo: dict, whole: bool = False) -> bool:
        """Whether ``pattern`` occurs in the sentence starting at character ``sent`` (``whole``:
        is the whole trimmed sentence), remembered for the rest of the doc: many cues test the
        same sentence."""
        key = (id(pattern), whole, sent, len(sent_text))
        hit = memo.get(key)
        if hit is None:
            found = pattern.fullmatch(sent_text.strip(" .;:\n\t|")) if whole else pattern.search(sent_text)
            hit = memo[key] = found is not None
        return hit

    def _need_met(
        self, need: tuple[str, ...], sent: int, sent_text: str, section: Section | None, facts: Any, memo: dict
    ) -> bool:
        for alt in need:
            if alt == "history_section":
                if section is not None and section.name in HISTORY_SECTIONS:
                    return True
            elif alt == "imaging":
                if section is not None and section.name in IMAGING_SECTIONS:
                    return True
                if self._found(self._sets["imaging"], sent, sent_text, memo):
                    return True
            elif alt == "note_start":
                # the opening lines of a note are where the complaint and history usually sit
                if sent < NOTE_START_CHARS:
                    return True
            elif alt == "imaging_note":
                if (
                    facts is not None
                    and facts.imaging_performed
                    and (section is None or section.name not in NON_REPORT_SECTIONS)
                ):
                    return True
            elif alt == "referral":
                if self._found(_REFERRAL, sent, sent_text, memo):
                    return True
            elif self._found(self._sets[alt], sent, sent_text, memo):
                return True
        return False

    def _placeholder_sentence(
        self, placeholder: Any, text: str, sent_start: int, sent_end: int, section: Section | None, memo: dict
    ) -> bool:
        """Whether a cue's sentence is wholly a placeholder; when the sentence opens with its
        section's header ("CC: patient here for scan."), the part after the header."""
        if section is not None and sent_start < section.body_start < sent_end:
            sent_start = section.body_start
        return self._found(placeholder, sent_start, text[sent_start:sent_end], memo, whole=True)

    @staticmethod
    def _clause(text: str, sent_start: int, sent_end: int, start: int, end: int) -> tuple[int, str, str]:
        """The part of a sentence around ``start:end`` between clause breaks (":" or ";"), as
        (its start, its text, the sentence before it)."""
        lo = max(text.rfind(":", sent_start, start), text.rfind(";", sent_start, start), sent_start - 1) + 1
        breaks = [i for i in (text.find(":", end, sent_end), text.find(";", end, sent_end)) if i != -1]
        hi = min(breaks, default=sent_end)
        return lo, text[lo:hi], text[sent_start:lo]

    def _filter_hit(self, name: str, start: int, text: str, memo: dict) -> bool:
        """Whether the sentence filter ``name`` (``sentence_filters`` in items.json, or one of its
        ``combined_filters``: "a follow-up verb unless imaging is named", "referred unless as a
        result of the scan") flags ``text``, which starts at character ``start``."""
        found = self._found
        combined = self._combined.get(name)
        if combined is None:
            return found(self._filters[name], start, text, memo)
        base, unless = combined
        return found(base, start, text, memo) and not found(unless, start, text, memo)

    def _plain_film_leads(self, lead: str) -> bool:
        """Whether the last imaging named before a clause is a plain film ("Pano 3/3: roots
        overlap the canal"), not a 3D study ("... on the pano, so I took a CBCT: ...")."""
        plain = [m.end() for m in self._filters["plain_film"].finditer(lead)]
        if not plain:
            return False
        other = [m.end() for m in self._sets["imaging"].finditer(lead) if m.end() not in plain]
        return max(plain) > max(other, default=-1)

    def _under_film_header(
        self, section: Section | None, clause: Callable[[], tuple[int, str, str]], memo: dict
    ) -> bool:
        """Whether a clause sits in a section headed by a plain film ("DPT: LR8 impacted; the roots
        darken over the canal") and neither it nor the sentence before it names other imaging: the
        film's result, as if the film were named in the sentence."""
        if section is None or not section.header or self._filters["plain_film"].search(section.header) is None:
            return False
        start, text, lead = clause()
        return not self._found(self._filters["study_named"], start, text, memo) and self._plain_film_leads(
            f"{section.header}: {lead}"
        )

    def _cue_allowed(
        self,
        cue: dict[str, Any],
        sent: int,
        sent_text: str,
        section: Section | None,
        facts: Any,
        memo: dict,
        clause: Callable[[], tuple[int, str, str]] | None = None,
    ) -> bool:
        """Whether a cue match may count: its sentence meets the cue's needs (plus its
        ``section_needs`` for the section it sits in) and has none of its exclusions. For a content
        cue, ``clause()`` gives (start, text, the sentence before it): the CLAUSE_FILTERS then look
        at the clause only, and a plain film excludes the match when it is named in the clause or
        is the last imaging named before it. The clause is only worked out when the whole sentence
        would be excluded (a clause is part of it)."""
        if section is not None and section.name in cue.get("exclude_sections", ()):
            return False
        needs = cue["needs"]
        if section is not None and section.name in cue["section_needs"]:
            needs = needs + cue["section_needs"][section.name]
        for need in needs:
            if not self._need_met(need, sent, sent_text, section, facts, memo):
                return False
        in_report_section = section is not None and section.name in IMAGING_SECTIONS
        found = self._found
        for name in cue.get("excludes", ()):
            if not in_report_section and found(self._sets[name], sent, sent_text, memo):
                if clause is not None and name in CLAUSE_SETS:
                    # "Ltd FOV CBCT 5x5 (acq + read by me): PARL 3 mm": the field is said before the
                    # colon; a label alone before it ("Field: ... 10 x 10 cm") still names the topic
                    start, text, lead = clause()
                    if len(lead.split()) > 2 and not found(self._sets[name], start, text, memo):
                        continue
                return False
        after_colon = cue.get("excludes_after_colon", ())
        if after_colon and clause is not None:
            # "US L SMG done and read by me: 6 mm stone": what follows the colon of a sentence that
            # says the study was done here is its result, not a complaint
            _, _, lead = clause()
            if lead.rstrip().endswith(":") and any(self._filter_hit(name, sent, lead, memo) for name in after_colon):
                return False
        for name in cue.get("excludes_same_sentence", ()):
            if not self._filter_hit(name, sent, sent_text, memo):
                if name == "plain_film" and clause is not None and self._under_film_header(section, clause, memo):
                    return False
                continue
            if clause is None or name not in CLAUSE_FILTERS:
                return False
            start, text, lead = clause()
            if self._filter_hit(name, start, text, memo) or (name == "plain_film" and self._plain_film_leads(lead)):
                return False
        return True

    def _add(self, doc: Doc, spans: list[Span], seen: set, item: str, start: int, end: int, **meta: Any) -> None:
        tokens = token_range(doc, start, end)
        if tokens is not None and (item, *tokens) not in seen:
            self._keep(doc, spans, seen, item, tokens, meta)

    @staticmethod
    def _keep(doc: Doc, spans: list[Span], seen: set, item: str, tokens: tuple[int, int], meta: dict) -> None:
        """Add the evidence span of ``item`` over ``tokens`` (not yet in ``seen``) with ``meta``."""
        seen.add((item, *tokens))
        span = Span(doc, *tokens, label=item)
        spans.append(span)
        set_meta(span, item, **meta)

    # -- main ------------------------------------------------------------------
    def __call__(self, doc: Doc) -> Doc:
        text = doc_text(doc)
        sections: list[Section] = doc._.cdt_sections or []
        spans: list[Span] = []
        seen: set = set()
        sent_tokens, sents = sentence_bounds(doc)  # first tokens, (start char, end char)
        facts = doc._.cdt_facts
        section_starts = [s.start for s in sections]
        sentence_starts = [start for start, _ in sents]
        memo: dict = {}  # per-sentence pattern tests, shared by every cue of this doc
        for item, spec in self._items.items():
            for section in sections:
                if section.name not in spec["sections"]:
                    continue
                self._section_evidence(doc, spans, seen, item, spec, section, sents, sentence_starts)
            placeholder = spec["placeholder"]
            for cue in spec["cues"]:
                kind = cue.get("kind", "content")
                for m in cue["regex"].finditer(text):
                    start, end = m.span()
                    if start == end or not text[start:end].strip():
                        continue
                    k = bisect_right(section_starts, start) - 1
                    section = sections[k] if k >= 0 and start < sections[k].end else None
                    if (
                        k >= 0
                        and start < sections[k].body_start
                        and not (item == "anatomical_region" and sections[k].name == "other")
                    ):
                        # the header itself: the section evidence speaks for it; but a site named in
                        # a label no section is known by ("Limited CBCT #19 taken and read by me:")
                        # is still the site
                        continue
                    if section is not None and section.name in OTHER_ENCOUNTER_SECTIONS:
                        continue  # copied forward from an earlier visit: documents nothing of this one
                    tokens = token_range(doc, start, end)  # None: no tokens there (as Doc.char_span)
                    if tokens is None or (item, *tokens) in seen:
                        continue  # or evidence already kept there
                    sent_start, sent_end = sents[bisect_right(sent_tokens, tokens[0]) - 1]
                    if (
                        section is not None
                        and section.body_status is not None
                        and start < _first_line_end(text, section)
                    ):
                        continue  # inside a placeholder body ("RTC ***"): the section evidence speaks
                    sent_text = text[sent_start:sent_end]
                    clause = None
                    if kind == "content":
                        clause = partial(self._clause, text, sent_start, sent_end, start, end)
                    if not self._cue_allowed(cue, sent_start, sent_text, section, facts, memo, clause):
                        continue
                    meta: dict[str, Any] = {
                        "trigger": m.group(0),
                        "kind": kind,
                        "affirms": cue.get("affirms", True),
                        "section": section.name if section else None,
                        "sentence": (sent_start, sent_end),
                        "source": "cue",
                    }
                    if kind == "head" and _LABEL_BLANK.match(text, end):
                        meta["status"] = "no_clinical_reason" if item == "rationale" else "empty"
                    elif placeholder is not None and self._placeholder_sentence(
                        placeholder, text, sent_start, sent_end, section, memo
                    ):
                        # the whole sentence is a non-answer ("per protocol", "no follow-up arranged")
                        meta["status"] = "no_clinical_reason" if item == "rationale" else "negated"
                    self._keep(doc, spans, seen, item, tokens, meta)
        doc.spans[SPAN_KEY] = sorted(spans, key=lambda s: (s.start, s.end))
        return doc

    def is_placeholder(self, item: str, text: str) -> bool:
        """Whether ``text`` (a sentence) is wholly one of ``item``'s placeholders ("per protocol")."""
        placeholder = self._items[item]["placeholder"]
        return placeholder is not None and placeholder.fullmatch(text.strip()) is not None

    def sentence_filter(self, name: str) -> Any:
        """The compiled sentence filter ``name`` of ``items.json`` (``KeyError`` when it has none)."""
        return self._filters[name]

    @staticmethod
    def _only_placeholders(placeholder: Any, body: str, first: str) -> bool:
        """Whether a body says nothing but non-answers: its first sentence, or every sentence and
        list entry ("1. Risks, benefits and alternatives discussed. 2. Follow-up: [not set]")."""
        if placeholder.fullmatch(first):
            return True
        parts = [_LIST_NUMBER.sub("", part).strip(" .;:-\n\t|") for part in _FIRST_BREAK.split(body)]
        parts = [part for part in parts if part]
        return len(parts) > 1 and all(placeholder.fullmatch(part) for part in parts)

    def _section_evidence(self, doc, spans, seen, item, spec, section, sents, sentence_starts) -> None:
        body = doc_text(doc)[section.body_start : section.end]
        first_sent_end = section.end
        # only sentences starting at or after the header can qualify: start the walk there
        for sent_start, sent_end in sents[bisect_left(sentence_starts, section.start) :]:
            if sent_end > section.body_start and sent_start >= section.start:
                if sent_end > section.body_start + len(body) - len(body.lstrip()):
                    first_sent_end = min(section.end, sent_end)
                    break
        status = section.body_status
        if status is None and spec["placeholder"] is not None:
            clean = SPACES.sub(" ", body).strip(" .;:-\n\t|")
            first = _FIRST_BREAK.split(body.strip(" .;:-\n\t|"), maxsplit=1)[0].strip()
            has_cue = any(c["regex"].search(clean) for c in spec["cues"] if c.get("kind") != "head")
            placeholder = spec["placeholder"]
            whole = spec["placeholders_win"] and placeholder.fullmatch(clean)
            if not clean or whole or (not has_cue and self._only_placeholders(placeholder, body, first)):
                status = "no_clinical_reason" if item == "rationale" else "empty"
        if status is None and _LINE_BREAK.match(body.lstrip(" \t")) and spec["cues"]:
            # header alone on its line: the next line must be about this item
            first_line = next((line for line in _LINE_BREAK.split(body) if line.strip()), "")
            if not any(c["regex"].search(first_line) for c in spec["cues"] if c.get("kind") != "head"):
                if section.name in DETACHED_HEADER_CHECK:
                    status = "empty"
        if status is None and spec["needs_conclusion"] and len(_MEASUREMENT.findall(body)) >= 2:
            # an impression that only repeats measurements draws no conclusion
            if not any(c["regex"].search(body) for c in spec["cues"] if c.get("kind") != "head"):
                status = "restates_findings"
        if status is None and spec["section_excludes"]:
            opening = doc_text(doc)[section.body_start : max(section.body_start, first_sent_end)]
            if any(self._filters[name].search(opening) for name in spec["section_excludes"]):
                status = "not_imaging"
        if status is None and spec["section_requires_cue"]:
            if not any(c["regex"].search(body) for c in spec["cues"]):
                status = "not_specific"
        meta = dict(
            trigger=section.header,
            kind="section",
            section=section.name,
            source="section",
            sentence=(section.start, first_sent_end),
        )
        if status is not None:
            meta["status"] = status
        self._add(doc, spans, seen, item, section.start, max(section.body_start, first_sent_end), **meta)

    # -- serialisation ---------------------------------------------------------
    def to_disk(self, path: str | Path, *, exclude: tuple = ()) -> None:
        rules_to_disk(path, self.rules)

    def from_disk(self, path: str | Path, *, exclude: tuple = ()) -> ItemDetector:
        self.set_rules(rules_from_disk(path))
        return self

    def initialize(self, get_examples=None, *, nlp: Language | None = None, rules: dict | None = None) -> None:
        if rules is not None:
            self.set_rules(rules)


@Language.factory("cdt_nlp_items", default_config={})
def make_item_detector(nlp: Language, name: str) -> ItemDetector:
    return ItemDetector(nlp, name)
