"""Service facts: which imaging service the note describes, and how.

Finds modality mentions (ultrasound, cone beam CT, MRI, sialoendoscopy ...),
post-processing (fusion, simulation, subtraction), cone beam CT field of view,
capture statements, reads sent elsewhere, outside images, reports and contrast.
A modality mention in an order or plan ("CBCT ordered", "Plan: MRI") counts as
ordered, not performed. The facts feed the code-specific checks and, later,
the code suggester. Results: ``doc.spans["cdt_facts"]`` and ``doc._.cdt_facts``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, Span

from .. import fastre
from ..rules import compile_list, load_rules, validate_rules
from ._state import (
    doc_text,
    meta_of,
    rules_from_disk,
    rules_to_disk,
    sentence_tokens,
    set_meta,
    token_range,
    tokens_text,
)
from .items import ItemDetector
from .sections import OTHER_ENCOUNTER_SECTIONS

SPAN_KEY = "cdt_facts"
#: modalities whose capture or reading is a catalog service
CATALOG_MODALITIES = frozenset(
    {"ultrasound", "mri", "cbct", "sialoendoscopy", "sialography", "arthrography", "tmj_radiograph", "tomography"}
)
#: imaging whose ordering reason counts as a rationale (a medical CT too, not plain films)
ORDERABLE_MODALITIES = CATALOG_MODALITIES | {"ct"}
#: post-processing named only by a step or a tool that others share, resolved in this order: two
#: volumes registered or overlaid are a fusion unless a subtraction is named (a subtraction registers
#: its volumes too); a planning package's name ("Romexis") is a simulation unless another
#: post-processing is named ("ran volume subtraction ... in Romexis")
WEAK_POSTPROCESSING = (
    ("registration", "fusion", frozenset({"subtraction"})),
    ("simulation_software", "simulation", frozenset({"fusion", "subtraction"})),
)
#: modalities that produce a 3D volume (for fusion)
VOLUME_MODALITIES = frozenset({"cbct", "ct", "mri", "intraoral_scan", "facial_scan"})
PLAN_SECTIONS = frozenset({"plan"})
#: field-of-view patterns that qualify the others rather than name a field
FOV_QUALIFIERS = ("one_arch", "single_exposure", "large_field")
#: what may stand between a refusal and the study it names ("declined the CBCT")
_REFUSED_ARTICLE = re.compile(r"^\s*(?:(?:a|an|the|any|further|more|another|to have (?:a|an|the))\s+)?", re.IGNORECASE)
#: how many tokens of a study label's answer are searched for a negation
LABEL_ANSWER_TOKENS = 10
#: how far after a mention a post-negation is looked for: far enough for the site the study names
#: ("Ultrasound of her L parotid was not done")
POST_NEGATION_TOKENS = 8
#: tokens of the answer read after a question that names a study ("CBCT taken? N")
FORM_ANSWER_TOKENS = 2
#: a clause break followed by a subject: the words before it belong to another clause
_NEW_CLAUSE = re.compile(r"[,;:]\s+(?:i|we|she|he|they)\b", re.IGNORECASE)


@dataclass
class ServiceFacts:
    """What the note says was done, aggregated over the whole note."""

    performed: set[str] = field(default_factory=set)
    ordered: set[str] = field(default_factory=set)
    #: imaging mentioned as done before this encounter ("CBCT last month showed ...")
    prior: set[str] = field(default_factory=set)
    postprocessing: set[str] = field(default_factory=set)
    fields_of_view: list[str] = field(default_factory=list)
    volumes: set[str] = field(default_factory=set)
    capture: bool = False
    read_elsewhere: bool = False
    outside_images: bool = False
    report: bool = False
    contrast: bool = False
    #: the note says this provider read the images ("taken & read by me")
    own_read: bool = False
    #: the note has both a findings and an impression section with content (a report)
    report_sections: bool = False
    #: only another provider's written report was seen, not the images ("images not available")
    images_unavailable: bool = False
    #: the studies an own-read or a read-elsewhere statement is about: those named in its sentence,
    #: else the last one named before it ("CBCT read by me ... MRI acquired. Sent to radiology for
    #: the report": the MRI is read elsewhere, the CBCT here)
    own_read_of: set[str] = field(default_factory=set)
    read_elsewhere_of: set[str] = field(default_factory=set)
    #: the images were read elsewhere and that reader's report is quoted in the note ("Their report
    #: rec'd today, pasted below"): its findings and impression sections are not this provider's read
    quoted_outside_report: bool = False

    @property
    def named_fields_of_view(self) -> list[str]:
        """The fields of view stated, in order, after the qualifying statements are applied.

        A size or "large FOV" alone (``large_field``) reads as both jaws unless an arch or the
        joints are named; "lower jaw not included" (``one_arch``) overrides both jaws;
        "single exposure" (``single_exposure``) makes one joint's volume a limited field, not a
        TMJ series.
        """
        found = list(dict.fromkeys(self.fields_of_view))
        drop = set(FOV_QUALIFIERS)
        if "one_arch" in found:
            drop.add("both_jaws")
        if "single_exposure" in found:
            drop.add("tmj")
        named_arch = {"maxilla", "mandible", "tmj"} & set(found)
        out = []
        for name in found:
            if name == "large_field":  # a size alone reads as both jaws unless an arch or joint is named
                if named_arch or "one_arch" in found:
                    continue
                name = "both_jaws"
            if name not in drop and name not in out:
                out.append(name)
        return out

    @property
    def imaging_performed(self) -> bool:
        """True when a catalog imaging service (or a read of outside images) was done."""
        return (
            bool(self.performed & (CATALOG_MODALITIES | {"unspecified_imaging"}))
            or bool(self.postprocessing)
            or self.outside_images
            or (self.report_sections and not self.plain_films_only)
        )

    @property
    def plain_films_only(self) -> bool:
        """True when every study done at this visit is a plain film (a pano, periapicals): a report
        in the note is then that film's report, not a catalog service's."""
        return bool(self.performed) and not self.performed & (CATALOG_MODALITIES | {"unspecified_imaging"})

    @property
    def service_mentioned(self) -> bool:
        """True when a catalog service is done, read or at least ordered in the note."""
        return self.imaging_performed or bool((self.ordered | self.performed) & ORDERABLE_MODALITIES)

    def to_dict(self) -> dict[str, Any]:
        return {
            "performed": sorted(self.performed),
            "ordered": sorted(self.ordered),
            "prior": sorted(self.prior),
            "postprocessing": sorted(self.postprocessing),
            "fields_of_view": list(dict.fromkeys(self.fields_of_view)),
            "volumes": sorted(self.volumes),
            "capture": self.capture,
            "read_elsewhere": self.read_elsewhere,
            "outside_images": self.outside_images,
            "report": self.report,
            "contrast": self.contrast,
            "own_read": self.own_read,
            "images_unavailable": self.images_unavailable,
        }


def _not_done(facts: ServiceFacts, modalities: frozenset[str]) -> None:
    """Move the performed ``modalities`` (and any unnamed imaging) to ordered: the note says they were
    not done at this visit, so nothing was captured either."""
    stopped = facts.performed & (modalities | {"unspecified_imaging"})
    facts.ordered |= stopped - {"unspecified_imaging"}
    facts.performed -= stopped
    if not facts.performed & CATALOG_MODALITIES:
        facts.capture = False  # a capture flag belongs to a study still done ("MRI aborted; arthrogram taken")


class ServiceDetector:
    """Extract service facts from a note."""

    def __init__(self, nlp: Language, name: str = "cdt_service", order_window: int = 8) -> None:
        self.name = name
        self.order_window = order_window
        self.set_rules(load_rules("service.json"))

    def set_rules(self, rules: dict[str, Any]) -> None:
        self.rules = validate_rules("service.json", rules)
        spec = rules["service_rules"]
        self._groups: list[tuple[str, str, Any]] = []
        for group in ("modalities", "postprocessing", "fields_of_view"):
            for name, pats in spec[group].items():
                self._groups.append((group, name, compile_list(pats)))
        for flag in (
            "capture",
            "read_elsewhere",
            "outside_images",
            "report",
            "contrast",
            "own_read",
            "images_unavailable",
        ):
            self._groups.append(("flag", flag, compile_list(spec[flag])))
        # "{study}" in an order pattern: a study named right after the order words ("need CBCT ...")
        self._orders = compile_list(spec["orders"], {"study": spec.get("order_study_words", [])})
        self._prior = compile_list(spec["prior"])
        # "done at/by ..." points to an earlier study unless the sentence says it was this visit
        self._prior_elsewhere = compile_list(spec["prior_elsewhere"])
        self._same_visit = compile_list(spec["same_visit"])
        self._negations = compile_list(spec["negations"])
        self._post_negations = compile_list(spec["post_negations"])
        self._label_negations = compile_list(spec.get("label_negations", []))
        # "Why an MRI?", "An MRI shows the disc": what a kind of study can do, not one of this visit
        self._generic_subjects = compile_list(spec.get("generic_subjects", []))
        self._generic_claims = compile_list(spec.get("generic_claims", []))
        # "CBCT to r/o a second canal - pt declined": proposed, refused later in the sentence
        self._refusals = compile_list(spec["refusals"]) if spec.get("refusals") else None
        #: each modality's pattern, to tell which study a refusal names ("... and she declined CBCT")
        self._modalities = [(name, regex) for group, name, regex in self._groups if group == "modalities"]
        self._fov_context = compile_list(spec["fov_context"])
        # "patient moved, scan aborted" cancels the capture unless the note says it was retaken
        self._aborted = compile_list(spec["aborted"])
        self._reacquired = compile_list(spec["reacquired"])
        # "None of these services has been performed yet" (a pre-treatment estimate): all still planned
        self._none_yet = compile_list(spec.get("none_performed_yet", []))
        self._report_received = compile_list(spec.get("report_received", []))
        # one RE2 pass over the note says which mention patterns can match in it at all
        self._prescan = fastre.PatternSet([regex for _, _, regex in self._groups])

    @staticmethod
    def _fov_window(doc: Doc, first: int, name: str) -> str:
        """Where a field-of-view mention (starting at token ``first``) needs its imaging context:
        its sentence, and for a qualifier the sentence before too ("CBCT of the maxilla taken.
        Lower jaw not included.")."""
        start, end = sentence_tokens(doc, first)
        if name in FOV_QUALIFIERS and start > 0:
            start = sentence_tokens(doc, start - 1)[0]
        return tokens_text(doc, start, end)

    def _refuses_another(self, refused: str, name: str | None) -> bool:
        """Whether the text right after a refusal (``refused``) names a study other than ``name``
        ("transcranial TMJ films taken because ... she declined CBCT": the films were taken)."""
        refused = _REFUSED_ARTICLE.sub("", refused, count=1)
        for other, regex in self._modalities:
            m = regex.search(refused)
            if m is not None and m.start() == 0:
                return other != name
        return False

    def mention_status(self, doc: Doc, start: int, end: int, section_name: str | None, name: str | None = None) -> str:
        """``ordered``, ``negated`` ("nothing fused"), ``prior`` (done before this visit, or named in
        text copied forward from an earlier note) or ``present``, for a mention of the study
        ``name``."""
        if section_name in PLAN_SECTIONS:
            return "ordered"
        if section_name in OTHER_ENCOUNTER_SECTIONS:
            return "prior"
        first, last = token_range(doc, start, end)
        sent_start, sent_end = sentence_tokens(doc, first)
        # the text around the mention, inside its sentence
        window_start = max(sent_start, first - self.order_window)
        window = tokens_text(doc, window_start, min(sent_end, last + 4))
        # a new clause with its own subject before the mention starts the window ("which cone beam
        # can't show, I imaged the joints with MRI": the first clause is about another study)
        lead = len(tokens_text(doc, window_start, first))
        clause_starts = [m.start() + 1 for m in _NEW_CLAUSE.finditer(window, 0, lead)]
        if clause_starts:
            window = window[clause_starts[-1] :]
        before = tokens_text(doc, max(sent_start, first - 4), first)
        after_end = min(sent_end, last + POST_NEGATION_TOKENS)
        if after_end == sent_end < len(doc) and doc[sent_end - 1].text == "?":
            # a form's question and its answer ("US performed today? N - unit booked")
            after_end = min(len(doc), sent_end + FORM_ANSWER_TOKENS)
        after = tokens_text(doc, last, after_end)
        if self._negations.search(before) or self._post_negations.search(after):
            return "negated"
        if last < sent_end and doc[last].text == ":":
            # a study used as a label: its short answer may say it was not done further on ("CBCT:
            # discussed with mom, not taken")
            answer = tokens_text(doc, last, min(sent_end, last + LABEL_ANSWER_TOKENS))
            if self._label_negations.search(answer):
                return "negated"
        if self._generic_subjects.search(before) and self._generic_claims.search(after):
            return "negated"
        rest = tokens_text(doc, last, sent_end)
        refusal = self._refusals.search(rest) if self._refusals is not None else None
        if refusal is not None and not self._refuses_another(rest[refusal.end() :], name):
            return "ordered"  # proposed and refused: not done, but the reason for it still stands
        if self._orders.search(window):
            return "ordered"
        if self._prior.search(window):
            return "prior"
        if self._prior_elsewhere.search(window) and not self._same_visit.search(tokens_text(doc, sent_start, sent_end)):
            return "prior"
        return "present"

    def __call__(self, doc: Doc) -> Doc:
        facts = ServiceFacts()
        sections = doc._.cdt_sections or []
        section_starts = [s.start for s in sections]
        spans: list[Span] = []
        outside: list[Span] = []
        text = doc_text(doc)
        groups = self._groups
        for k in self._prescan.candidates(text):
            group, name, regex = groups[k]
            for m in regex.finditer(text):
                tokens = token_range(doc, m.start(), m.end())
                if tokens is None:
                    continue
                section = ItemDetector.section_at(sections, m.start(), section_starts)
                section_name = section.name if section else None
                if group != "modalities" and section_name in OTHER_ENCOUNTER_SECTIONS:
                    continue  # how an earlier visit's study was taken, read or processed says nothing of this one
                status = "present"
                if section is not None and section.body_status == "empty" and m.start() < section.body_start:
                    # a template label left blank ("Reason for CBCT: ***") documents nothing
                    if group not in ("modalities", "postprocessing"):
                        continue
                    status = "negated"
                elif group in ("modalities", "postprocessing"):
                    status = self.mention_status(doc, m.start(), m.end(), section_name, name)
                if group == "fields_of_view" and not self._fov_context.search(self._fov_window(doc, tokens[0], name)):
                    continue  # "maxilla ... mandible" in a findings list is not a field of view
                span = Span(doc, *tokens, label=f"{group}:{name}")
                spans.append(span)
                set_meta(span, trigger=m.group(0), section=section_name, status=status)
                if group == "modalities":
                    if status != "negated":
                        {"present": facts.performed, "ordered": facts.ordered, "prior": facts.prior}[status].add(name)
                    if name in VOLUME_MODALITIES:
                        facts.volumes.add(name)
                elif group == "postprocessing":
                    if status not in ("ordered", "negated"):
                        facts.postprocessing.add(name)
                elif group == "fields_of_view":
                    facts.fields_of_view.append(name)
                elif name == "outside_images":
                    outside.append(span)
                else:
                    setattr(facts, name, True)
        facts.outside_images = any(not self._earlier_outside_study(span, spans, facts) for span in outside)
        for weak, meant, unless in WEAK_POSTPROCESSING:
            if weak in facts.postprocessing:
                facts.postprocessing.discard(weak)
                if not facts.postprocessing & unless:
                    facts.postprocessing.add(meant)
        if facts.performed or facts.capture:
            stopped = self._capture_abandoned(doc, text, sections, section_starts, spans)
            if stopped:
                _not_done(facts, stopped)
        if self._none_performed_yet(text, sections, section_starts):
            _not_done(facts, CATALOG_MODALITIES | VOLUME_MODALITIES)  # nor any merge of their volumes
            facts.postprocessing.clear()
        with_content = {s.name for s in sections if s.body_status is None}
        facts.report_sections = {"findings", "impression"} <= with_content
        if facts.read_elsewhere and not facts.own_read and self._report_received.search(text) is not None:
            facts.quoted_outside_report = True
            facts.report_sections = False
        facts.own_read_of = self._read_subjects(doc, spans, "flag:own_read")
        facts.read_elsewhere_of = self._read_subjects(doc, spans, "flag:read_elsewhere")
        doc.spans[SPAN_KEY] = spans
        doc._.cdt_facts = facts
        return doc

    @staticmethod
    def _read_subjects(doc: Doc, spans: list[Span], label: str) -> set[str]:
        """The performed studies that the ``label`` statements (who read the images) are about: the
        studies named in the statement's sentence, else the last one named before it."""
        named = sorted(
            (s.start, s.label_.split(":", 1)[1])
            for s in spans
            if s.label_.startswith("modalities:") and meta_of(s).get("status") == "present"
        )
        subjects: set[str] = set()
        for span in spans:
            if span.label_ != label:
                continue
            lo, hi = sentence_tokens(doc, span.start)
            here = {name for start, name in named if lo <= start < hi}
            if not here:
                before = [name for start, name in named if start < span.start]
                here = {before[-1]} if before else set()
            subjects |= here
        return subjects

    def _none_performed_yet(self, text: str, sections: list, section_starts: list[int]) -> bool:
        """True when the note says none of its imaging has been done yet ("No imaging has been
        performed yet for this plan"), outside text copied from an earlier visit."""
        for m in self._none_yet.finditer(text):
            section = ItemDetector.section_at(sections, m.start(), section_starts)
            if section is None or section.name not in OTHER_ENCOUNTER_SECTIONS:
                return True
        return False

    @staticmethod
    def _earlier_outside_study(span: Span, spans: list[Span], facts: ServiceFacts) -> bool:
        """True when an outside-images mention names an earlier study of another kind than the one
        done at this visit ("compared with the 2021 outside CT" in a note whose CBCT was taken
        today): a comparison, not a read of someone else's images."""
        named = [s for s in spans if s.label_.startswith("modalities:") and s.start < span.end and span.start < s.end]
        if not named or any(meta_of(s).get("status") != "prior" for s in named):
            return False
        earlier = {s.label_.split(":", 1)[1] for s in named}
        return bool(facts.performed & CATALOG_MODALITIES) and not earlier & facts.performed

    def _capture_abandoned(
        self, doc: Doc, text: str, sections: list, section_starts: list[int], spans: list[Span]
    ) -> frozenset[str]:
        """The catalog modalities whose capture was stopped at this visit before a volume was taken
        ("patient moved, scan aborted") with no sentence saying it was then retaken; empty when
        none was. The stop must be said in a sentence about imaging (a modality, "scan", "volume"
        ...), so "procedure aborted" in an operative note leaves its pre-op scan alone. A stop that
        names its study stops only that one ("MRI attempted in Sept - aborted" leaves today's
        arthrogram done); one that names none ("scan aborted") stops them all."""
        modality_spans = [s for s in spans if s.label_.startswith("modalities:")]
        stopped: frozenset[str] = frozenset()
        stop_end = 0  # the token after the sentence that says the scan was stopped
        for m in self._aborted.finditer(text):
            section = ItemDetector.section_at(sections, m.start(), section_starts)
            if section is not None and section.name in OTHER_ENCOUNTER_SECTIONS:
                continue
            tokens = token_range(doc, m.start(), m.end())
            if tokens is None:
                continue
            lo, hi = sentence_tokens(doc, tokens[0])
            named = CATALOG_MODALITIES & {s.label_.split(":", 1)[1] for s in modality_spans if lo <= s.start < hi}
            if named or self._fov_context.search(tokens_text(doc, lo, hi)):
                stopped, stop_end = named or CATALOG_MODALITIES, hi
                break
        if not stopped:
            return stopped
        # a later sentence saying a study it names was captured ("2 failed attempts awake ... 08:14
        # CBCT both jaws captured" under sedation): the scan was taken after all
        present = [
            s.start for s in spans if s.label_.startswith("modalities:") and meta_of(s).get("status") == "present"
        ]
        for s in spans:
            if s.label_ == "flag:capture" and s.start >= stop_end:
                c_lo, c_hi = sentence_tokens(doc, s.start)
                if any(c_lo <= t < c_hi for t in present):
                    return frozenset()
        for m in self._reacquired.finditer(text):
            tokens = token_range(doc, m.start(), m.end())
            if tokens is None:
                continue
            lo, hi = sentence_tokens(doc, tokens[0])
            if not self._orders.search(tokens_text(doc, lo, hi)):
                return frozenset()  # retaken in this visit ("rescanned, diagnostic"), not planned ("rescan next week")
        return stopped

    def to_disk(self, path: str | Path, *, exclude: tuple = ()) -> None:
        rules_to_disk(path, self.rules)

    def from_disk(self, path: str | Path, *, exclude: tuple = ()) -> ServiceDetector:
        self.set_rules(rules_from_disk(path))
        return self

    def initialize(self, get_examples=None, *, nlp: Language | None = None, rules: dict | None = None) -> None:
        if rules is not None:
            self.set_rules(rules)


@Language.factory("cdt_nlp_service", default_config={"order_window": 8})
def make_service_detector(nlp: Language, name: str, order_window: int) -> ServiceDetector:
    return ServiceDetector(nlp, name, order_window=order_window)
