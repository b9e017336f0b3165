"""Scoring a note against the checklist of the code the biller means to submit."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc, Span

from .catalog import ITEMS, Catalog, CodeInfo
from .checks import CheckContext, run_checks
from .components._state import doc_text, meta_of
from .components.items import SPAN_KEY as ITEM_KEY
from .pipeline import load
from .rules import load_rules
from .textio import MAX_CHARS, original_span, prepare_note

#: where the shipped suggester lives (a checkout's models/ folder); CDT_NLP_MODEL overrides it
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "suggester"
DEFAULT_ITEM_MODEL_DIR = DEFAULT_MODEL_DIR.parent / "sentence_items"
MAX_SUGGESTIONS = 3

#: items whose evidence must come from imaging actually done (or read) in this note
IMAGING_ITEMS = frozenset({"findings", "interpretation"})
#: sentence filters (items.json) that keep a sentence from being an item's learned evidence,
#: whatever the classifier says: a sentence saying the study was done or read here, or a line
#: recording a film taken ("Post op PA taken."), is no complaint; a request by the patient or
#: family is no clinical reason; a payer's decision ("We are appealing the denial of D0391
#: (interpretation of ...)") is neither a reason nor a read, nor is a code's descriptor ("Billed:
#: D0367 CBCT both jaws, capture and interpretation"); and a sentence that opens by negating
#: a visit or plan ("No further appointments booked."), says the plan is not made ("Plan to be
#: discussed."), names today's visit ("Pt seen for recall.") or defers the provider's own read
#: ("Will read later myself.") is no plan
LEARNED_VETOES = {
    "chief_complaint": ("study_done_here", "film_taken_line"),
    "rationale": ("patient_request", "payer_decision"),
    "interpretation": ("payer_decision", "code_descriptor"),
    "follow_up": ("negated_plan", "plan_not_made", "deferred_read", "consent_boilerplate", "visit_reason_recall"),
}
#: which absent status wins when an item has several kinds of absent evidence
REASON_PRIORITY = (
    "deferred",
    "negated",
    "empty",
    "restates_findings",
    "no_clinical_reason",
    "not_specific",
    "other_person",
    "hypothetical",
    "not_imaging",
)
EXPLICIT_ABSENCE = frozenset({"deferred", "negated", "empty", "restates_findings"})
CHECK_WEIGHT = 1.0
MAX_EVIDENCE = 3


@dataclass
class Evidence:
    """A quoted piece of the note, by character offsets."""

    text: str
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "start": self.start, "end": self.end}


@dataclass
class ItemResult:
    present: bool
    required: bool
    evidence: list[Evidence] = field(default_factory=list)
    reason: str | None = None
    #: what found a present item: "rules" (cues and headers) or "classifier" (the sentence-item
    #: classifier, with its probability in ``confidence``); ``None`` when absent
    found_by: str | None = None
    confidence: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "present": self.present,
            "required": self.required,
            "evidence": [e.to_dict() for e in self.evidence],
            "reason": self.reason,
            "found_by": self.found_by,
            "confidence": self.confidence,
        }


@dataclass
class Warning:
    check: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"check": self.check, "message": self.message}


@dataclass
class CheckResult:
    """The result of checking one note against one code; ``to_dict()`` is the JSON schema."""

    code: str
    score: float
    checklist: list[str]
    items: dict[str, ItemResult]
    missing: list[str]
    fixes: list[str]
    warnings: list[Warning]
    suggestions: list[dict[str, Any]] = field(default_factory=list)
    mismatch: bool = False
    doc: Doc | None = field(default=None, repr=False, compare=False)
    #: the suggester's probability that the note documents no catalog service (None without a model)
    no_service_probability: float | None = None

    def quoting(self, original: str, index: list[int] | None) -> CheckResult:
        """This result with its evidence quoted from ``original``, the text the pipeline's input
        was normalised from (``index`` from :func:`cdt_nlp.textio.normalise_text`). ``doc`` keeps
        the normalised text, so its offsets are the pipeline's, not the evidence's."""
        if index is None:
            return self
        items = {}
        for name, r in self.items.items():
            evidence = []
            for ev in r.evidence:
                start, end = original_span(index, ev.start, ev.end)
                evidence.append(Evidence(original[start:end], start, end))
            items[name] = replace(r, evidence=evidence)
        return replace(self, items=items)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "score": self.score,
            "checklist": list(self.checklist),
            "items": {name: r.to_dict() for name, r in self.items.items()},
            "missing": list(self.missing),
            "fixes": list(self.fixes),
            "warnings": [w.to_dict() for w in self.warnings],
            "suggestions": list(self.suggestions),
            "no_service_probability": self.no_service_probability,
            "mismatch": self.mismatch,
        }

    @property
    def best_is_no_service(self) -> bool:
        """Whether the suggester's best reading is that the note documents no catalog service."""
        return no_service_is_best(self.suggestions, self.no_service_probability)


def no_service_is_best(suggestions: list[dict[str, Any]], no_service_probability: float | None) -> bool:
    """Whether "no catalog service" is more probable than every suggested code (``suggestions``
    and ``no_service_probability`` as in :meth:`CheckResult.to_dict`; False without a model)."""
    if no_service_probability is None:
        return False
    return no_service_probability > (suggestions[0]["probability"] if suggestions else 0.0)


@lru_cache(maxsize=1)
def _fix_texts() -> dict[str, Any]:
    return load_rules("fixes.json")


def _clip(text: str, start: int, end: int, limit: int = 240) -> Evidence:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end - start > limit:
        end = start + limit
    return Evidence(text[start:end], start, end)


class Checker:
    """Check chart notes against a CDT code's documentation checklist.

    Parameters
    ----------
    nlp:
        A pipeline from :func:`cdt_nlp.load` (built once and reused).
    catalog:
        The code catalog; defaults to the packaged one.
    max_chars:
        Longest note accepted.
    suggester:
        A :class:`~cdt_nlp.suggester.CodeSuggester`, ``None`` for no code suggestions, or
        ``"default"`` to load the shipped model (checksum-verified) when it is present.

    Examples
    --------
    >>> from cdt_nlp import Checker
    >>> result = Checker().check("IMPRESSION: deferred to OMFR.", code="D0370")
    >>> result.items["interpretation"].present
    False
    """

    def __init__(
        self,
        nlp: Language | None = None,
        catalog: Catalog | None = None,
        max_chars: int = MAX_CHARS,
        suggester: Any = "default",
        sentence_items: Any = "default",
    ) -> None:
        self.nlp = nlp if nlp is not None else load()
        self.catalog = catalog if catalog is not None else Catalog.default()
        self.max_chars = max_chars
        if isinstance(suggester, str) and suggester == "default":
            suggester = default_suggester()
        self.suggester = suggester
        if isinstance(sentence_items, str) and sentence_items == "default":
            sentence_items = default_sentence_items()
        self.sentence_items = sentence_items
        if self.nlp.max_length < max_chars:
            self.nlp.max_length = max_chars + 1

    def check(self, note: str | bytes, code: str) -> CheckResult:
        """Score one note against one code. Raises :class:`cdt_nlp.CdtError` on bad input."""
        info = self.catalog.get(code)
        original, text, index = prepare_note(note, self.max_chars)
        return self.score_doc(self.nlp(text), info).quoting(original, index)

    def check_many(self, notes, code: str, batch_size: int = 64):
        """Score many notes (already valid text) against one code, using ``nlp.pipe``."""
        info = self.catalog.get(code)
        prepared = (prepare_note(n, self.max_chars) for n in notes)
        for doc, (original, index) in self.nlp.pipe(
            ((text, (original, index)) for original, text, index in prepared), batch_size=batch_size, as_tuples=True
        ):
            yield self.score_doc(doc, info).quoting(original, index)

    # -- scoring ---------------------------------------------------------------
    @property
    def _measurement(self) -> Any:
        """The pipeline's own measurement terms ("3.9 x 2.2 cm", "4 mm"), the findings cue's."""
        return self.nlp.get_pipe("cdt_items").term_set("measurement")

    def item_results(
        self, doc: Doc, info: CodeInfo, learned: bool = True, labelled_first: bool = True
    ) -> dict[str, ItemResult]:
        """Presence, evidence and reason for each of the six items (``required`` from ``info``);
        ``learned=False``: the rules' answer alone, without the sentence classifier;
        ``labelled_first=False``: quotes in the evidence's order, not the item's field first."""
        facts = doc._.cdt_facts
        by_item: dict[str, list[Span]] = {item: [] for item in ITEMS}
        for span in doc.spans.get(ITEM_KEY, []):
            by_item[span.label_].append(span)
        results = {}
        # sentences that arrange what happens next ("Pt to come back for results once the read is
        # in"): a result deferred there is the plan's, not an empty field of the report
        plan_sentences = {
            meta_of(s).get("sentence") for s in by_item["follow_up"] if meta_of(s).get("status") == "present"
        }
        for item in ITEMS:
            statuses = _statuses(item, by_item[item], facts, self._measurement, plan_sentences)
            present_spans = [(s, m) for s, m, st in statuses if st == "present"]
            if present_spans:
                reason, chosen = None, present_spans
            else:
                reason = next((r for r in REASON_PRIORITY if any(st == r for _, _, st in statuses)), "not_found")
                chosen = [(s, m) for s, m, st in statuses if st == reason]
            evidence = _quotes(doc, item, chosen, labelled_first)
            if item == "interpretation" and reason == "not_found" and facts.read_elsewhere:
                reason = "deferred"  # "images sent to the radiologist" with no impression line at all
                flagged = [s for s in doc.spans.get("cdt_facts", []) if s.label_ == "flag:read_elsewhere"]
                evidence = [_clip(doc_text(doc), s.start_char, s.end_char) for s in flagged][:MAX_EVIDENCE]
            found_by = "rules" if present_spans else None
            results[item] = ItemResult(bool(present_spans), item in info.checklist, evidence, reason, found_by)
        if learned and self.sentence_items is not None:
            self._learned_items(doc, facts, results)
        return results

    def _learned_items(self, doc: Doc, facts: Any, results: dict[str, ItemResult]) -> None:
        """Items the rules found no trace of, found by the sentence classifier when one sentence
        reaches the item's threshold (see :mod:`cdt_nlp.sentence_items`). Imaging items need a
        study done here; a reason needs a study named."""
        scorer = self.sentence_items
        wanted = [
            item
            for item in scorer.items
            if results[item].reason == "not_found"
            and (item not in IMAGING_ITEMS or facts.imaging_performed)
            and (item != "rationale" or facts.service_mentioned)
        ]
        if not wanted:
            return
        text = doc_text(doc)
        sentences = [(s.start_char, s.end_char) for s in doc.sents if text[s.start_char : s.end_char].strip()]
        if not sentences:
            return
        proba = scorer.predict_proba([text[a:b] for a, b in sentences])
        detector = self.nlp.get_pipe("cdt_items")
        vetoes = {item: [detector.sentence_filter(name) for name in LEARNED_VETOES.get(item, ())] for item in wanted}
        for item in wanted:
            column = proba[:, scorer.items.index(item)]
            # a sentence already quoted for another item says something else ("Virtual implant apex
            # 1.1 mm from the canal" is the finding, not also the conclusion); rebuilt per item, since
            # an item found just before by the classifier has taken its sentence too
            taken = [
                (e.start, e.end)
                for other, r in results.items()
                if other not in (item, "anatomical_region") and r.present
                for e in r.evidence
            ]
            for best in np.argsort(-column, kind="stable"):
                if column[best] < scorer.thresholds[item]:
                    break
                start, end = sentences[best]
                sentence = text[start:end]
                if any(s < end and start < e for s, e in taken) or detector.is_placeholder(item, sentence):
                    continue
                if any(v.search(sentence) for v in vetoes[item]):
                    continue
                evidence = [_clip(text, start, end)]
                results[item] = replace(
                    results[item],
                    present=True,
                    evidence=evidence,
                    reason=None,
                    found_by="classifier",
                    confidence=round(float(column[best]), 3),
                )
                break

    def score_doc(self, doc: Doc, info: CodeInfo) -> CheckResult:
        items = self.item_results(doc, info)
        ctx = CheckContext(
            info=info,
            present={k: v.present for k, v in items.items()},
            reasons={k: v.reason for k, v in items.items()},
            facts=doc._.cdt_facts,
            catalog=self.catalog,
            text=doc_text(doc),
        )
        warnings: list[Warning] = []
        total = sum(info.checklist.values())
        passed = sum(w for item, w in info.checklist.items() if items[item].present)
        for name, failures in run_checks(ctx):
            total += CHECK_WEIGHT
            if failures:
                warnings.extend(Warning(name, m) for m in failures)
            else:
                passed += CHECK_WEIGHT
        suggestions: list[dict[str, Any]] = []
        mismatch = False
        no_service = None
        if self.suggester is not None:
            from .features import doc_features
            from .mismatch import mismatch_message
            from .suggester import NONE_LABEL

            ranked = self.suggester.suggest(doc_text(doc), doc_features(doc, items))
            suggestions = [s.to_dict() for s in islice((s for s in ranked if s.code != NONE_LABEL), MAX_SUGGESTIONS)]
            no_service = next((round(s.probability, 3) for s in ranked if s.code == NONE_LABEL), 0.0)
            mismatch = self.suggester.is_mismatch(info.code, ranked)
            if mismatch:
                top = ranked[0]
                text = mismatch_message(
                    self.catalog,
                    info,
                    top.code,
                    top.probability,
                    items["interpretation"].reason,
                    target_probability=self.suggester.target_probability(info.code, ranked),
                    confident=top.probability >= self.suggester.threshold,
                )
                warnings.append(Warning("code_mismatch", text))
        missing = [item for item in info.checklist if not items[item].present]
        fixes_cfg = _fix_texts()["fixes"]
        fixes = [fixes_cfg[item].format(image_noun=info.image_noun) for item in missing]
        score = round(100.0 * passed / total, 1) if total else 100.0
        return CheckResult(
            code=info.code,
            score=score,
            checklist=list(info.checklist),
            items=items,
            missing=missing,
            fixes=fixes,
            warnings=warnings,
            suggestions=suggestions,
            mismatch=mismatch,
            doc=doc,
            no_service_probability=no_service,
        )


def _statuses(
    item: str, spans: list[Span], facts: Any, measurement: Any, plan_sentences: set = frozenset()
) -> list[tuple[Span, dict, str]]:
    """Each evidence span with its final status after the note-level rules (``measurement``: the
    pattern of a measured finding; ``plan_sentences``: the (start, end) of sentences that state a
    follow-up)."""

    def measured_finding(span: Span, meta: dict) -> bool:
        if item != "findings":
            return False
        start, end = meta.get("sentence", (span.start_char, span.end_char))
        return measurement.search(doc_text(span.doc)[start:end]) is not None

    out = []
    for span in spans:
        meta = meta_of(span)
        status = meta.get("status", "present")
        if status == "present" and meta.get("affirms") is False:
            continue  # a mention such as "discuss the findings" shows nothing by itself
        if status == "present" and (
            (item in IMAGING_ITEMS and not facts.imaging_performed)
            or (item == "rationale" and not facts.service_mentioned)
        ):
            status = "not_imaging"
        out.append((span, meta, status))
    if item in IMAGING_ITEMS:
        # an explicit "IMPRESSION: deferred" outweighs loose wording elsewhere, unless the item's
        # own header or name is affirmed somewhere
        explicit = [
            (m.get("kind") == "section" or (m.get("kind") == "head" and not _plan_for_results(m, plan_sentences)), st)
            for _, m, st in out
        ]
        if any(e and st in EXPLICIT_ABSENCE for e, st in explicit) and not any(
            e and st == "present" for e, st in explicit
        ):
            out = [(s, m, "overridden" if st == "present" else st) for s, m, st in out]
        if facts.quoted_outside_report and item == "interpretation":
            # the impression of the other reader's report quoted in the note is theirs
            out = [(s, m, "deferred" if st == "present" else st) for s, m, st in out]
        # the read went to someone else and nothing says this provider read it (no own read, no
        # findings-and-impression report, no post-processing done here): loose conclusion-like
        # wording in the text ("most likely a reactive node") is not this provider's interpretation,
        # and a technique line or exam text is no finding of the study; a measured finding ("duct
        # 3 mm", a technologist's record of what was on screen) stays
        if facts.read_elsewhere and not (facts.own_read or facts.report_sections or facts.postprocessing):
            out = [
                (
                    s,
                    m,
                    "deferred" if st == "present" and m.get("kind") == "content" and not measured_finding(s, m) else st,
                )
                for s, m, st in out
            ]
    elif item == "follow_up":
        # an empty or deferred plan field ("F/U:" with nothing after it) outweighs loose wording
        # elsewhere ("Imaging appt - ..."), unless a plan header or word is affirmed somewhere; "plan"
        # negated in passing ("her insurance plan denied it") is no such field
        fields = [st for _, m, st in out if m.get("kind") == "section"]
        heads = [st for _, m, st in out if m.get("kind") in ("head", "section")]
        if any(st in ("empty", "deferred") for st in fields) and "present" not in heads:
            out = [(s, m, "overridden" if st == "present" else st) for s, m, st in out]
    return out


def _plan_for_results(meta: dict, plan_sentences: set) -> bool:
    """Whether a head cue is "results" in a sentence that arranges a follow-up ("Pt to come back
    for results once the read is in"): the plan to give the results, not a field left empty."""
    return meta.get("sentence") in plan_sentences and str(meta.get("trigger", "")).lower() in ("result", "results")


#: which evidence is quoted first: the item's own labelled field ("Impression: sialolith."), then
#: wording in the text, then a sentence that only names the item ("... interpreted by me.")
QUOTE_ORDER = {"section": 0, "content": 1, "head": 2}


def _quotes(doc: Doc, item: str, chosen: list[tuple[Span, dict]], labelled_first: bool = True) -> list[Evidence]:
    """Up to MAX_EVIDENCE distinct quotes (the first in the note): the sentence, or the match
    itself for a region; ``labelled_first``: the item's labelled field is quoted first, else the
    quotes keep the evidence's order."""
    evidence: list[tuple[int, Evidence]] = []
    seen = set()
    for span, meta in chosen:
        start, end = meta.get("sentence", (span.start_char, span.end_char))
        if item == "anatomical_region":
            start, end = span.start_char, span.end_char
        quote = _clip(doc_text(doc), start, end)
        if (quote.start, quote.end) not in seen:
            seen.add((quote.start, quote.end))
            evidence.append((QUOTE_ORDER.get(meta.get("kind", "content"), 1), quote))
        if len(evidence) >= MAX_EVIDENCE:
            break
    if labelled_first:
        evidence.sort(key=lambda pair: pair[0])
    return [quote for _, quote in evidence]


def default_suggester():
    """The shipped suggester (checksum-verified), or ``None`` when no model is installed."""
    from .suggester import MANIFEST_FILE, load_suggester

    directory = Path(os.environ.get("CDT_NLP_MODEL", DEFAULT_MODEL_DIR))
    if not (directory / MANIFEST_FILE).is_file():
        return None
    return load_suggester(directory)


def default_sentence_items():
    """The shipped sentence-item classifier (checksum-verified), or ``None`` when none is installed."""
    from .sentence_items import MANIFEST_FILE, load_sentence_items

    directory = Path(os.environ.get("CDT_NLP_ITEM_MODEL", DEFAULT_ITEM_MODEL_DIR))
    if not (directory / MANIFEST_FILE).is_file():
        return None
    return load_sentence_items(directory)
