"""Section and sentence detection for clinical notes.

Finds headers of the styles real notes use (SOAP ``S:/O:/A:/P:``, ``CC:``,
``HPI``, ``CLINICAL HISTORY``, ``FINDINGS``, ``IMPRESSION``, ``PLAN`` ...), in any
case, with or without a colon, run into the text or on their own line, or after
the field separators of one-line exports (``|``, ``///``, ``<br>``), and marks
sentence starts so later components can scope their rules. Text copied forward
from an earlier note ("PREVIOUS NOTE 3/2: ... [carried forward]") becomes one
``prior_note`` section: it documents another encounter.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Any

import numpy
from spacy.attrs import IS_SPACE, SENT_START
from spacy.language import Language
from spacy.tokens import Doc

from .. import fastre
from ..errors import CdtError
from ..rules import load_rules, term_alternation, validate_rules
from ..textio import ENTRY_STAMP_FIELD, STAMP_TIME
from ._state import SENTS_KEY, char_span, doc_text, rules_from_disk, rules_to_disk, token_offsets

SPAN_KEY = "cdt_sections"
#: sections that document nothing of this encounter: text copied forward from an earlier note,
#: and the billing office's comments on the note
OTHER_ENCOUNTER_SECTIONS = frozenset({"prior_note", "billing_note"})
#: fields whose first sentence alone can be the placeholder: the text after "History: none." is
#: the writer's aside, not the field's content
FIRST_SENTENCE_FIELDS = frozenset({"chief_complaint", "history", "rationale"})
#: a blank line (ends a paragraph)
BLANK_LINE = re.compile(r"\n[ \t]*\n")
#: sections whose body is the rest of the header's line when it has text there
ONE_LINE_SECTIONS = frozenset({"chief_complaint", "rationale", "region", "medications", "other"})
#: sections whose body may run over several lines and paragraphs of a report
MULTILINE_SECTIONS = frozenset({"findings", "impression", "plan"})
#: sections whose body, when the header stands in the middle of a line, ends with its first sentence
MIDLINE_SENTENCE_SECTIONS = frozenset({"rationale"})
#: sections whose body ends with its first sentence when the header follows other text on its line
#: ("... acquired + read in office. Hx: R jaw clicking 2 yrs. R condyle flattened ...": the history
#: is one sentence, what follows is the report again)
AFTER_TEXT_SECTIONS = frozenset({"history", "chief_complaint"})
DICTATED_STOP = re.compile(r"\b(period|full stop|new paragraph|next paragraph|new line)\s*$", re.IGNORECASE)
#: a field separator or an HTML line break left in a one-line export ("S: ... | O: ... | A: ...",
#: "... /// ...", "report<br>Impression")
FIELD_SPLIT = re.compile(r"(?:\|+|/{3,}|<br\s*/?>)\s*", re.IGNORECASE)
FIELD_BREAK = re.compile(FIELD_SPLIT.pattern + r"(?=\S)", re.IGNORECASE)


def has_field_break(text: str) -> bool:
    """A cheap test before the field-break patterns, which most notes never need."""
    return "|" in text or "///" in text or "<" in text


#: a run of white space (labels and bodies are compared with runs collapsed to one space)
SPACES = re.compile(r"\s+")
_LEADING_PUNCT = re.compile(r"^[\s:.\-,;|*#]+")
_TRAILING_PUNCT = re.compile(r"[\s:.\-,;|#]+$")
#: a body wholly in square brackets, as templates wrap their prompts ("[see radiologist report]"):
#: the placeholder test reads what the brackets hold (a body in curly brackets is a placeholder
#: whatever it holds, see sections.json)
_BRACKETED = re.compile(r"\[[ \t]*([^\[\]]+?)[ \t]*\]")


def _placeholder_core(cleaned: str) -> str | None:
    """What a body wholly in square brackets says, or None."""
    m = _BRACKETED.fullmatch(cleaned)
    if m is None:
        return None
    return _TRAILING_PUNCT.sub("", _LEADING_PUNCT.sub("", m.group(1))).strip() or None


#: a body that is only another label, left unfilled ("S: CC:")
_LABEL_ONLY = re.compile(r"[ \t]*[A-Za-z][A-Za-z/ ]{0,24}:[ \t]*")
#: an author (a title and a name) or a date in brackets after a header ("Impression (Dr Lee, 3/2/26):")
_HEADER_BYLINE = r"(?:(?:dr|mr|mrs|ms|miss|prof)\.?[ \t][^()\n]{1,36}|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4})"
#: a form's question number before its label ("Q2 Why is this service necessary? ***", "Q4 Dx:"), or
#: an HL7 field number from a pasted order or result message ("OBR-31 reason for study:")
_QUESTION_NUMBER = (
    r"(?P<q>(?:(?:Q|Question)[ \t]*\d{1,2}[.:)]?|(?:OBR|OBX|ORC|PID|PV1|NTE|DG1)-\d{1,2}(?:\.\d{1,2})?:?)[ \t]+)?"
)


def _label_start(m: re.Match) -> int:
    """Where a matched header starts: at its question number if it has one ("Q6 Findings:"), so that
    the number does not end the section before it."""
    return m.start("q") if m.groupdict().get("q") else m.start("h")


#: a template blank that fills a field, with other text after it on the same line
_LEADING_BLANK = re.compile(r"[ \t]*(?:\*{3,}|_{3,}|\?{3,})(?=[ \t]+\S)")
#: a sentence break inside a section body (not after "Dr.")
_BODY_SENTENCE = re.compile(r"(?<=[.!?])(?<![Dd]r\.)\s+")
_WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.")
#: what ends a run of unpunctuated dictation: a stop (not a decimal point: "4.5 x 11"), a
#: comma, colon, line break or one of them said aloud
_RUN_BREAK = re.compile(
    r"(?<!\d)\.|\.(?!\d)|[!?;:,\n]"
    r"|\b(?:period|full stop|comma|colon|semicolon|new paragraph|next paragraph|new line)\b",
    re.IGNORECASE,
)


def _last_word(text: str, lo: int, hi: int) -> str | None:
    """``re.compile(r"([A-Za-z.]+)$").search(text, lo, hi).group(1)`` (``None`` for no match)
    without trying every start position: the run of letters and dots that ends at ``hi`` (or
    just before a line break there, where ``$`` also matches)."""
    end = hi - 1 if hi > lo and text[hi - 1] == "\n" else hi
    i = end
    while i > lo and text[i - 1] in _WORD_CHARS:
        i -= 1
    return text[i:end] if i < end else None


def _list_number(text: str, stop: int) -> bool:
    """Whether the "." at ``stop`` ends a list number ("1.", "12.") that opens the first item of
    a labelled list ("IMPRESSION: 1. Adequate bone ..."): the number follows a colon."""
    k = stop
    while k > 0 and stop - k < 3 and text[k - 1].isdigit():
        k -= 1
    if not 0 < stop - k <= 2 or (k > 0 and text[k - 1] not in " \t\n"):
        return False
    j = k
    while j > 0 and text[j - 1] in " \t":
        j -= 1
    return j > 0 and text[j - 1] == ":"


def _mid_line(text: str, header_start: int) -> bool:
    """Whether a header follows other text on its line (not only bullets, numbers or bars)."""
    lead = text[text.rfind("\n", 0, header_start) + 1 : header_start]
    return bool(lead.strip(" \t|/*-•>#0123456789.)"))


def _after_text(text: str, header_start: int) -> bool:
    """Whether a header follows a finished sentence on its line ("... read in office. Hx: ...") or
    several words of another field glued to it by a lost line break ("Date 09.05.2023Hx: ..."),
    not a word that belongs to the header ("MEDICAL HISTORY:")."""
    lead = text[text.rfind("\n", 0, header_start) + 1 : header_start].rstrip()
    return _mid_line(text, header_start) and (lead[-1:] in (".", "!", "?", ";") or len(lead.split()) >= 4)


def _glued_to_word(text: str, start: int) -> bool:
    """Whether a capitalised header at ``start`` is glued to the end of the word before it, as
    exports leave it ("...report not yet receivedNecessity: must assess ...", "DOB 1998Referral: GDP"),
    or to the colon of an empty header before it ("Findings:Impression:Next: ...")."""
    return (
        start > 0
        and (text[start - 1].islower() or text[start - 1].isdigit() or text[start - 1] == ":")
        and text[start].isupper()
        and text[start + 1 : start + 2].islower()
    )


DICTATED_BREAK = re.compile(
    r"\b(?:period|full stop)\s+(?:new paragraph\s+|next paragraph\s+)?|\bnew paragraph\s+", re.IGNORECASE
)
_ABBREVIATIONS = {
    "dr",
    "mr",
    "mrs",
    "ms",
    "vs",
    "approx",
    "e.g",
    "i.e",
    "st",
    "no",
    "fig",
    "etc",
    "inc",
    "pt",
    "pts",
    "hx",
    "sx",
    "dx",
    "tx",
    "yo",
    "ca",
}


@dataclass(frozen=True)
class Section:
    """A header and its body, by character offsets into the note."""

    name: str
    header: str
    start: int
    body_start: int
    end: int
    body_status: str | None  # None (has content), "empty" or "deferred"

    def contains(self, char: int) -> bool:
        return self.start <= char < self.end


class SectionDetector:
    """Detect note sections and sentence boundaries.

    Parameters
    ----------
    nlp, name:
        Set by spaCy.
    """

    def __init__(self, nlp: Language, name: str = "cdt_sections") -> None:
        self.name = name
        self.set_rules(load_rules("sections.json"))

    # -- rules -----------------------------------------------------------------
    def set_rules(self, rules: dict[str, Any]) -> None:
        self.rules = validate_rules("sections.json", rules)
        header_to_section: dict[str, str] = {}
        for rule in rules["section_rules"]:
            for header in rule["headers"]:
                header_to_section[header.lower()] = rule["section"]
        self._header_to_section = header_to_section
        words = sorted((h for h in header_to_section if len(h) > 1), key=len, reverse=True)
        alt = "|".join(re.escape(h).replace(r"\ ", r"\s+") for h in words)
        # a header word followed by a colon (or dash, or an arrow: "F/U ->") anywhere at a line/sentence
        # start, or after a scribe's time stamp ("11:19 Follow-up:")
        self._colon = fastre.compile(
            rf"(?:(?<=^)|(?<=[\n\r])|(?<=[.;!?]\s)|(?<=[.;!?])|(?<=\s\s)|(?<=\t)|(?<=[\]\)>*•\-]\s)|(?<=[\]\)>*•])|(?<=period\s)|(?<=paragraph\s)|(?<=---)|(?<=---\s)|(?<=\*\*\*)|(?<=\*\*\*\s)|(?<=\|)|(?<=\|\s)|(?<=///)|(?<=///\s)|(?<=\d:\d\d\s))"
            # a header may name its author and date in brackets ("Clinical evaluation (Mr Lee, 3/2/26):")
            rf"[ \t]*{_QUESTION_NUMBER}(?P<h>{alt})(?:[ \t]*\({_HEADER_BYLINE}\))?[ \t]*"
            r"(?:-+>|=>|\u2192|:|\s-(?:\s|$)|-{2}|=|\s+colon\b)",
            re.IGNORECASE,
        )
        # an ALL-CAPS header run into the text ("...noted FINDINGS:there is"), or a capitalised one glued
        # to the word before it ("...not yet receivedNecessity: must assess")
        self._caps = fastre.compile(rf"(?<!(?-i:[A-Z]))(?P<h>{alt})[ \t]*:", re.IGNORECASE)
        # a header alone on its line without a colon, or two joined by "/" or "&" ("Results /
        # interpretation": the last one names the section), after a form's numbering if any
        # ("Section C. Results / interpretation", "3) Impression")
        self._line = fastre.compile(
            r"(?m)^[ \t]*(?:(?:section|part)[ \t]+[A-Za-z0-9]{1,3}[.):-]?[ \t]+|[A-Za-z0-9]{1,2}[.)][ \t]+)?"
            rf"(?P<h>{alt})(?:[ \t]*[/&][ \t]*(?P<h2>{alt}))?[ \t]*$",
            re.IGNORECASE,
        )
        # a markdown heading ("## Findings", "### Next steps:"): a known header in any case, and any
        # other heading ("## Implant Planning - Site #30") ends the section before it
        self._markdown = fastre.compile(r"(?m)^[ \t]*#{1,6}[ \t]+(?P<h>[^\s#][^\n]{0,79}?)[ \t]*:?[ \t]*#*[ \t]*$")
        # single-letter SOAP headers: S: O: A: P: (and A/P:)
        self._soap = fastre.compile(
            r"(?:(?<=^)|(?<=[\n\r])|(?<=[.;!?]\s)|(?<=\s\s)|(?<=\|)|(?<=\|\s)|(?<=///)|(?<=///\s))"
            r"[ \t]*(?P<h>[SOAP])[ \t]*:(?!/)",
            re.MULTILINE,
        )
        # lower-case SOAP letters count only right after a field separator ("... /// a: ...")
        self._soap_field = fastre.compile(r"(?:\||///)[ \t]*(?P<h>[soap])[ \t]*:(?!/)")
        # any short "Label:" at a line start or after a ";;", "|", "//" separator (the separator is
        # part of the match, not a lookbehind, so RE2 can pre-scan for it: only the "h" group and
        # the end are used)
        self._generic = fastre.compile(
            r"(?m)(?:^|;;|\||//|\s\s|---|\*\*\*)[ \t]*"
            r"(?P<h>[A-Za-z](?:[A-Za-z0-9/&'()#\- ]|\.(?!\s)){0,36}[A-Za-z)])"
            r"[ \t]*:(?!//)(?=\s|[A-Za-z0-9_]|$)"
        )
        prefixes = rules.get("header_prefixes", {})
        #: (label prefix, section) for "Label:" headers that are not known ones ("Why simulate:")
        self._prefixes = sorted(
            ((k, v) for k, v in prefixes.items() if not k.startswith("_")), key=lambda kv: -len(kv[0])
        )
        #: a label that starts with one of those prefixes is a header at a sentence start too (a
        #: one-paragraph note: "... canal close. why sim: need the angle"), and may run longer than
        #: a generic label ("Why contrast study rather than another US:")
        prefix_alt = "|".join(re.escape(k).replace(r"\ ", r"[ \t]+") for k, _ in self._prefixes) or "(?!)"
        prefix_chars = int(prefixes.get("_label_chars", 0)) or 38
        self._prefix_label = fastre.compile(
            # at a line or sentence start, also where lost line breaks glued it to the stop before it
            rf"(?:(?<=^)|(?<=[.;!?][ \t])|(?<=[.;!?][ \t]{{2}})|(?<=\|)|(?<=\|[ \t])"
            rf"|(?<=[a-z0-9)\]][.;!?])(?=(?-i:[A-Z])))[ \t]*{_QUESTION_NUMBER}"
            rf"(?P<h>(?:{prefix_alt})[^:\n.;!?|]{{0,{prefix_chars}}}?)[ \t]*:(?!//)(?=\s|[A-Za-z0-9_]|$)",
            re.IGNORECASE | re.MULTILINE,
        )
        #: a form's question with its answer on the line ("Findings? ***", "Why CBCT? Y - PA shows an
        #: extra root"): a known header, or a label with a header prefix, ending in "?" at a line start,
        #: after the question's number if any
        self._form_question = fastre.compile(
            rf"(?m)^[ \t]*{_QUESTION_NUMBER}"
            rf"(?P<h>(?:{alt})|(?:{prefix_alt})[^:\n.;!?|]{{0,{prefix_chars}}}?)[ \t]*\?[ \t]*(?=[^\s?])",
            re.IGNORECASE,
        )
        suffixes = rules.get("header_suffixes", {})
        #: (label suffix, section) for unknown labels that end in a telling word ("Dr. Kemp's question:")
        self._suffixes = sorted(
            ((k, v) for k, v in suffixes.items() if not k.startswith("_")), key=lambda kv: -len(kv[0])
        )
        sentence_rules = rules.get("sentence_openers", {})
        #: a long label with a verb in it is a sentence ("Only the anterior mandible is usable:")
        self._long_label = int(sentence_rules.get("long_label_chars", 10**6))
        verbs = "|".join(map(re.escape, sentence_rules.get("verbs", []))) or "(?!)"
        self._label_verb = re.compile(rf"\b(?:{verbs})\b", re.IGNORECASE)
        sentence_words = sentence_rules.get("words", [])
        #: a generic label that opens like a sentence ("You asked me one thing:") is not a header
        self._sentence_label = re.compile(
            rf"(?:{'|'.join(map(re.escape, sentence_words)) or '(?!)'})\s+[a-z]", re.IGNORECASE
        )
        prior = rules.get("prior_note", {})
        openers, markers, entries = (
            term_alternation(prior.get(key, [])) or "(?!)" for key in ("openers", "markers", "entry_starts")
        )
        # at a line start or a one-line export's field start ("... | [copied from 4/16] CC: ...")
        self._prior_open = fastre.compile(rf"(?im)(?:^|(?<=\|)|(?<=///))[ \t]*(?:{openers})\b")
        self._prior_marker = re.compile(rf"(?i)(?<!\w)(?:{markers})")
        copied = prior.get("copied_fields", {})
        self._copied_sections = frozenset(copied.get("sections", []))
        self._copied_marker = re.compile(copied.get("marker", "(?!)"), re.IGNORECASE)
        self._entry_start = re.compile(rf"(?im)(?:^|(?<=\|)|(?<=///))[ \t]*[*#>\[(]*[ \t]*(?:{entries})")
        billing = term_alternation(rules.get("billing_comments", {}).get("openers", [])) or "(?!)"
        #: a cheap first test: an opener word anywhere
        self._billing_word = fastre.compile(rf"(?i)\b(?:{billing})\b")
        #: a billing-office comment: "[CODER: ...", or "CODER 4/6:" / "2026-03-05 16:22 billing ms|" at a line
        #: start (an audit-trail stamp's colon reads as "|": textio.normalise_text)
        self._billing_open = re.compile(
            rf"(?im)(?:(?P<bracket>\[)[ \t]*|^[ \t]*(?:{STAMP_TIME}\s+)?)(?:{billing})\b[^:|\n\]]{{0,24}}[:|]"
        )
        #: a charge line of a ledger export ("D0367 cone beam CT capture & interp -- $465.00 HOLD")
        self._charge_line = fastre.compile(rules.get("charge_lines", {}).get("pattern", "(?!)"))
        qa = rules.get("question_answer", {})
        self._question_line = fastre.compile(qa.get("question_line", "(?!)"))
        self._min_questions = int(qa.get("min_questions", 2))
        pie = rules.get("pie_layout", {})
        self._pie_markers = [fastre.compile(p) for p in pie.get("marker_lines", [])]
        self._pie_problem = pie.get("problem_section", "history")
        #: unknown labels that only split a section's body ("FINDINGS:\nRight TMJ: ...")
        sublabels = "|".join(f"(?:{p})" for p in rules.get("sublabels", [])) or "(?!)"
        self._sublabel = re.compile(rf"(?:{sublabels})", re.IGNORECASE)
        spoken = rules.get("spoken_headers", {})
        #: phrase said as a header in unpunctuated dictation -> (section, the header it stands for)
        self._spoken_sections: dict[str, tuple[str, str]] = {}
        for phrase, header in spoken.get("headers", {}).items():
            section = header_to_section.get(header.lower())
            if section is None:
                raise CdtError("E014", file="sections.json", entry=phrase, header=header)
            self._spoken_sections[SPACES.sub(" ", phrase.lower())] = (section, header)
        self._run_chars = int(spoken.get("min_chars", 0)) or None
        self._long_run = fastre.compile(rf"(?:[^.!?;:,\n]|(?<=\d)\.(?=\d)){{{self._run_chars or 1}}}")
        spoken_alt = "|".join(
            re.escape(p).replace(r"\ ", r"\s+") for p in sorted(self._spoken_sections, key=len, reverse=True)
        )
        not_before = "|".join(map(re.escape, spoken.get("not_before", [])))
        self._spoken = re.compile(
            rf"(?<![\w-])(?P<h>{spoken_alt or '(?!)'})(?![\w-])"
            rf"(?!\s+(?:{not_before or '(?!)'})\b)(?=\s+\w|\s*$)",
            re.IGNORECASE,
        )
        self._spoken_not_after = frozenset(w.lower() for w in spoken.get("not_after", []))
        clause_words = "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in spoken.get("clause_openers", []))
        #: a word that opens a clause inside unpunctuated dictation ("... i reviewed them myself the")
        self._clause_opener = re.compile(rf"(?<=\s)(?:{clause_words or '(?!)'})(?=\s)", re.IGNORECASE)
        placeholders = rules.get("placeholder_bodies", {})
        self._placeholder = {
            status: re.compile(r"^(?:" + "|".join(f"(?:{p})" for p in pats) + r")$", re.IGNORECASE)
            for status, pats in placeholders.items()
        }

    # -- detection -------------------------------------------------------------
    def _question_and_answer(self, text: str) -> bool:
        """Whether the note is a question-and-answer record ("Q: ... A: ..."), where "A:" answers."""
        if "Q" not in text:
            return False
        found = 0
        for _ in self._question_line.finditer(text):
            found += 1
            if found >= self._min_questions:
                return True
        return False

    def _pie_layout(self, text: str) -> bool:
        """Whether the note is laid out as Problem / Intervention / Evaluation ("I:" and "E:" lines)."""
        return bool(self._pie_markers) and all(m.search(text) is not None for m in self._pie_markers)

    def _prefix_section(self, label: str) -> str | None:
        """The section a label names by its prefix ("why cbct" -> rationale; ``header_prefixes``,
        the longest prefix first), or ``None``; ``label`` is lower-case with single spaces."""
        return next((name for prefix, name in self._prefixes if label.startswith(prefix)), None)

    def find_sections(self, text: str) -> list[Section]:
        hits: dict[int, tuple[int, str, str]] = {}
        answers = self._question_and_answer(text)
        pie = "P" in text and self._pie_layout(text)
        for regex, caps_only in (
            (self._colon, False),
            (self._caps, True),
            (self._line, False),
            (self._soap, False),
            (self._soap_field, False),
        ):
            for m in regex.finditer(text):
                header = m.group("h")
                if answers and regex is self._soap and header == "A":
                    continue  # an answer in a question-and-answer record, not an Assessment
                if (
                    caps_only
                    and not (header.isupper() and len(header) > 2)
                    and not _glued_to_word(text, m.start("h"))
                    # a capitalised header set off by a spaced colon, French style, mid-line: "... 0,2 mm
                    # Résultats : condyle droit aplati"
                    and not (header[0].isupper() and text[m.end("h") : m.end("h") + 2] == " :")
                ):
                    continue
                if regex is self._line and not header[0].isupper():
                    continue
                named = m.group("h2") if regex is self._line and m.group("h2") else header
                section = self._header_to_section.get(SPACES.sub(" ", named.lower()))
                if pie and regex is self._soap and header == "P":
                    section = self._pie_problem  # the Problem of a PIE note
                if section is None:
                    continue
                start = _label_start(m)
                if start not in hits or hits[start][0] < m.end():
                    hits[start] = (m.end(), section, header)
        if self._run_chars is not None and len(text) >= self._run_chars:
            for start, (end, section, header) in self._spoken_hits(text).items():
                hits.setdefault(start, (end, section, header))
        if "|" in text:
            # an audit-trail entry stamp ("2026-03-04 09:12 jdoe|") ends the section before it
            for m in ENTRY_STAMP_FIELD.finditer(text):
                hits.setdefault(m.start(), (m.end(), "other", m.group(0).strip()))
        if "#" in text:
            for m in self._markdown.finditer(text):
                header = m.group("h")
                section = self._header_to_section.get(SPACES.sub(" ", header.lower()), "other")
                hits.setdefault(m.start("h"), (m.end(), section, header))
        if "?" in text:
            for m in self._form_question.finditer(text):
                label = SPACES.sub(" ", m.group("h").lower())
                section = self._header_to_section.get(label) or self._prefix_section(label)
                if section is not None:
                    hits.setdefault(_label_start(m), (m.end(), section, m.group("h")))
        # a "Label:" that starts like a known kind of header ("Why sim:"), at a line or sentence start
        for m in self._prefix_label.finditer(text):
            label_text = m.group("h")
            if len(label_text) > self._long_label and self._label_verb.search(label_text):
                continue  # a sentence that ends in a colon
            start = _label_start(m)
            if start not in hits:
                label = SPACES.sub(" ", label_text.lower())
                hits[start] = (m.end(), self._prefix_section(label), label_text)
        # any other short "Label:" at a line start ends the previous section, unless it overlaps a
        # named header (generic hits never overlap each other: finditer moves past each match)
        named = sorted((st, e) for st, (e, _, _) in hits.items())
        named_starts = [st for st, _ in named]
        reach = list(accumulate((e for _, e in named), max))  # furthest end among headers so far
        for m in self._generic.finditer(text):
            start = m.start("h")
            k = bisect.bisect_right(named_starts, start)
            inside = k > 0 and reach[k - 1] > start  # a named header covers ``start``
            covers = k < len(named_starts) and named_starts[k] < m.end() or (k > 0 and named_starts[k - 1] == start)
            label_text = m.group("h")
            if len(label_text) > self._long_label and self._label_verb.search(label_text):
                continue  # a sentence that ends in a colon
            if not (inside or covers) and not self._sentence_label.match(label_text):
                label = SPACES.sub(" ", label_text.lower())
                section = self._prefix_section(label) or next(
                    (name for suffix, name in self._suffixes if label.endswith(suffix)), "other"
                )
                hits[start] = (m.end(), section, m.group("h"))
        # drop hits nested inside another header
        ordered = sorted(hits.items())
        merged: list[tuple[int, int, str, str]] = []
        for start, (end, section, header) in ordered:
            if merged and start < merged[-1][1]:
                continue
            merged.append((start, end, section, header))
        merged = self._absorb_sublabels(text, merged)
        sections = []
        for i, (start, end, section, header) in enumerate(merged):
            stop = merged[i + 1][0] if i + 1 < len(merged) else len(text)
            stop = self._body_end(text, start, end, stop, section)
            blank = _LEADING_BLANK.match(text, end, stop) if section != "other" else None
            if blank is not None:
                stop = blank.end()  # "Next steps: *** Pt given the consent form": the field is the blank
            body = text[end:stop]
            # a label the rules do not know has no placeholder meaning: its body is plain text
            status = self.body_status(body, section) if section != "other" else None
            sections.append(Section(section, header, start, end, stop, status))
        return self._mark_prior_notes(text, sections)

    def _run_ons(self, text: str) -> list[tuple[int, int]]:
        """Stretches of at least ``min_chars`` characters (``spoken_headers`` in sections.json)
        with no punctuation or line break, written or said: dictation that speech recognition
        left unpunctuated."""
        if self._long_run.search(text) is None:
            return []  # a cheap first test: no long run even between written punctuation marks
        runs = []
        last = 0
        for m in _RUN_BREAK.finditer(text):
            if m.start() - last >= self._run_chars:
                runs.append((last, m.start()))
            last = m.end()
        if len(text) - last >= self._run_chars:
            runs.append((last, len(text)))
        return runs

    def _spoken_hits(self, text: str) -> dict[int, tuple[int, str, str]]:
        """Headers said aloud inside unpunctuated dictation ("... no stone seen in pression
        obstructive sialadenitis plan warm compresses ..."), as ``find_sections`` hits."""
        hits: dict[int, tuple[int, str, str]] = {}
        for lo, hi in self._run_ons(text):
            for m in self._spoken.finditer(text, lo, hi):
                before = text[max(lo, m.start() - 24) : m.start()].split()
                if before and before[-1].lower() in self._spoken_not_after:
                    continue  # "the findings", "we plan"
                section, _ = self._spoken_sections[SPACES.sub(" ", m.group("h").lower())]
                hits[m.start()] = (m.end(), section, m.group("h"))
        return hits

    def _absorb_sublabels(self, text: str, merged: list[tuple[int, int, str, str]]) -> list[tuple[int, int, str, str]]:
        """A named header alone on its line whose body is laid out under sub-labels
        (``sublabels`` in sections.json: "FINDINGS:\\nRight TMJ: ...\\nSite #3: ...") keeps those
        lines as its body, up to the next other header or blank line."""
        sublabel = self._sublabel
        out: list[tuple[int, int, str, str]] = []
        absorbing_from = -1  # where the last absorbed label starts, or -1
        for i, hit in enumerate(merged):
            start, end, section, label = hit
            if (
                absorbing_from >= 0
                and section == "other"
                and sublabel.fullmatch(SPACES.sub(" ", label.strip()))
                and BLANK_LINE.search(text, absorbing_from, start) is None
            ):
                absorbing_from = start
                continue
            absorbing_from = -1
            out.append(hit)
            nxt = merged[i + 1] if i + 1 < len(merged) else None
            if (
                section != "other"
                and nxt is not None
                and nxt[2] == "other"
                and not text[end : nxt[0]].strip()
                and sublabel.fullmatch(SPACES.sub(" ", nxt[3].strip()))
            ):
                absorbing_from = end
        return out

    @staticmethod
    def _blocks(opener: Any, text: str, block_end: Callable[[Any], int]) -> list[tuple[int, int, int]]:
        """(start, opener end, end) for each match of ``opener`` in ``text``, the next search
        starting where the block ends; ``block_end`` gives a match's end."""
        blocks = []
        pos = 0
        while (m := opener.search(text, pos)) is not None:
            end = block_end(m)
            blocks.append((m.start(), m.end(), end))
            pos = max(end, m.end())
        return blocks

    def prior_blocks(self, text: str) -> list[tuple[int, int, int]]:
        """Text copied forward from an earlier encounter, as (start, opener end, end): from an
        opener at a line or export-field start ("PREVIOUS NOTE 3/2:", "| [copied from 4/16]") to a
        copy marker ("[carried forward]", included), a line or field that starts today's entry
        ("4/18:", "TODAY", "---") or a blank line."""

        def block_end(opener: Any) -> int:
            ends = [len(text)]
            blank = BLANK_LINE.search(text, opener.end())
            if blank:
                ends.append(blank.start())
            entry = self._entry_start.search(text, opener.end())
            if entry:
                ends.append(entry.start())
            end = min(ends)
            marker = self._prior_marker.search(text, opener.end(), end)
            if marker and marker.group(0).strip(" -*[]()\t\n"):
                end = marker.end()
            return end

        return self._blocks(self._prior_open, text, block_end)

    def copied_fields(self, text: str, sections: list[Section]) -> list[tuple[int, int, int]]:
        """Fields written at another encounter, as (start, opener end, end): a plan, findings or
        impression field (``copied_fields`` in sections.json) whose body opens with a copy marker
        ("P: [carried] CBCT then ext consult") or whose header follows one at its line start
        ("[Copied fwd 05/05] Plan: ext #2")."""
        if "[" not in text and "(" not in text:
            return []
        blocks = []
        for section in sections:
            if section.name not in self._copied_sections:
                continue
            line_start = text.rfind("\n", 0, section.start) + 1
            line_end = text.find("\n", section.body_start, section.end)
            end = section.end if line_end == -1 else line_end  # the field's line
            before = self._copied_marker.fullmatch(text[line_start : section.start].strip())
            opens = self._copied_marker.match(text[section.body_start : end].lstrip())
            if before is not None:
                blocks.append((line_start, section.body_start, end))
            elif opens is not None:
                blocks.append((section.start, section.body_start, end))
        return blocks

    def billing_blocks(self, text: str) -> list[tuple[int, int, int]]:
        """Billing-office comments (``billing_comments`` in sections.json), as (start, opener end,
        end): from "[CODER:" to its closing bracket (or a blank line), or from a "CODER 4/6:" line
        start to the end of the line."""
        if self._billing_word.search(text) is None:
            return []

        def block_end(m: Any) -> int:
            if m.group("bracket"):
                close = text.find("]", m.end())
                blank = BLANK_LINE.search(text, m.end())
                ends = [i for i in (close + 1 if close != -1 else -1, blank.start() if blank else -1) if i != -1]
                return min(ends, default=len(text))
            end = text.find("\n", m.end())
            return len(text) if end == -1 else end

        return self._blocks(self._billing_open, text, block_end)

    def _mark_prior_notes(self, text: str, sections: list[Section]) -> list[Section]:
        """Replace the sections inside a copied-forward block or a billing comment by one
        ``prior_note`` or ``billing_note`` section (OTHER_ENCOUNTER_SECTIONS); a section the
        block interrupts ends where the block starts."""
        blocks = [(*b, "prior_note") for b in self.prior_blocks(text)]
        blocks += [(*b, "prior_note") for b in self.copied_fields(text, sections)]
        blocks += [(*b, "billing_note") for b in self.billing_blocks(text)]
        blocks += [(m.start(), m.start(), m.end(), "billing_note") for m in self._charge_line.finditer(text)]
        if not blocks:
            return sections
        out = []
        for section in sections:
            inside = any(start <= section.start < end for start, _, end, _ in blocks)
            if inside:
                continue
            cut = min((start for start, _, _, _ in blocks if section.start < start < section.end), default=None)
            if cut is not None:
                body_start = min(section.body_start, cut)
                status = section.body_status
                if status is None and section.name != "other":
                    status = self.body_status(text[body_start:cut])
                section = Section(section.name, section.header, section.start, body_start, cut, status)
            out.append(section)
        for start, opener_end, end, name in blocks:
            out.append(Section(name, text[start:opener_end].strip(), start, opener_end, end, None))
        return sorted(out, key=lambda s: s.start)

    def _body_end(self, text: str, header_start: int, body_start: int, stop: int, section: str) -> int:
        """Where a body ends: the next header, or earlier for one-line headers, headers in the middle
        of a line ("CBCT taken today - read: 9 mm to canal") and paragraphs."""
        if (section in MIDLINE_SENTENCE_SECTIONS and _mid_line(text, header_start)) or (
            section in AFTER_TEXT_SECTIONS and _after_text(text, header_start)
        ):
            # a one-line field opened in the middle of a run-on line ("... distorts ht. why cbct: 4
            # sites, pano distorts ht. sx consult 2wk") ends with its first sentence
            sentence_end = _BODY_SENTENCE.search(text, body_start, stop)
            if sentence_end is not None and text[body_start : sentence_end.start()].strip():
                stop = sentence_end.start()
        line_end = text.find("\n", body_start, stop)
        if line_end == -1:
            return stop
        inline = text[body_start:line_end].strip()
        if inline and section in ONE_LINE_SECTIONS:
            return line_end
        if inline and _mid_line(text, header_start):
            return line_end
        if inline and section not in MULTILINE_SECTIONS:
            # a history/objective line ends at a finished sentence or a new capitalised line
            for m in re.finditer(r"\n", text[line_end:stop]):
                pos = line_end + m.start()
                before = text[body_start:pos].rstrip()
                after = text[pos + 1 : stop].lstrip(" \t")
                if (
                    not before
                    or before[-1] in ".!?;"
                    or not after
                    or after[0].isupper()
                    or after[0] in "#*-•0123456789"
                ):
                    return pos
        # body that starts on the header's line ends at the first blank line
        search_from = line_end
        if not inline:  # body starts on a later line: look for the blank line after its first text
            first_text = re.compile(r"\S").search(text, line_end, stop)
            search_from = first_text.start() if first_text else stop
        blank = BLANK_LINE.search(text, search_from, stop)
        return blank.start() if blank else stop

    def body_status(self, body: str, section: str | None = None) -> str | None:
        """``"empty"``/``"deferred"`` when the body (or its first line) is only a placeholder; for a
        ``section`` in FIRST_SENTENCE_FIELDS, also when its first sentence is."""
        if _LABEL_ONLY.fullmatch(body):
            return "empty"  # "S: CC:": the body is only the next, unfilled label
        status = self._placeholder_status(body)
        if status is None:
            # the first line, or the first field of a one-line export ("see pdf | splints ordered")
            body = body.replace("\r", "\n")
            fields = FIELD_SPLIT.split(body) if has_field_break(body) else [body]
            lines = [line for field in fields for line in field.split("\n") if line.strip()]
            if lines and lines[0].strip() != body.strip():
                status = self._placeholder_status(lines[0])
        if status is None and section in FIRST_SENTENCE_FIELDS:
            # "Clinical question on slip: blank. Pt unsure why ...": the field's own first sentence
            first = _BODY_SENTENCE.split(body.strip(), maxsplit=1)[0]
            if first.strip() != body.strip():
                status = self._placeholder_status(first)
        return status

    def _placeholder_status(self, body: str) -> str | None:
        cleaned = _TRAILING_PUNCT.sub("", _LEADING_PUNCT.sub("", body)).strip()
        cleaned = SPACES.sub(" ", cleaned)
        status = self._one_placeholder(cleaned)
        if status is None and (inner := _placeholder_core(cleaned)) is not None:
            # "[see radiologist report]": a placeholder in a template's brackets
            status = self._one_placeholder(inner)
        if status is None and _BODY_SENTENCE.search(cleaned):
            # several sentences, each a placeholder ("None. No images." / "Capture only. Read
            # by Dr. X."): deferred when any defers, else empty
            parts = [_TRAILING_PUNCT.sub("", part) for part in _BODY_SENTENCE.split(cleaned)]
            found = [self._one_placeholder(part) for part in parts if part]
            if found and None not in found:
                status = "deferred" if "deferred" in found else "empty"
        return status

    def _one_placeholder(self, cleaned: str) -> str | None:
        for status in ("empty", "deferred"):
            pattern = self._placeholder.get(status)
            if pattern is not None and pattern.match(cleaned):
                return status
        return None

    def sentence_starts(self, text: str, sections: list[Section]) -> set[int]:
        starts = {s.start for s in sections}
        if self._run_chars is not None and len(text) >= self._run_chars:
            for lo, hi in self._run_ons(text):
                starts.update(m.start() for m in self._clause_opener.finditer(text, lo, hi))
        for m in re.finditer(r"\n\s*\n|\n(?=\s*(?:[-*•>]|\d+[.)]\s|[A-Z]))", text):
            starts.add(m.end())
        for m in DICTATED_BREAK.finditer(text):
            starts.add(m.end())
        if has_field_break(text):
            for m in FIELD_BREAK.finditer(text):
                starts.add(m.end())
        # a stop followed by space, or glued to the next sentence's capital or all-caps header
        # ("No shadowing.Measurements", "detail.FINDINGS")
        for m in re.finditer(r"[.!?;]+[\"')\]]*(?:\s+(?=\S)|(?<=[a-z][.!?;])(?=[A-Z][a-z]|[A-Z]{3,}\b))", text):
            # the word before the stop (a bounded look back: longer words decide the same way)
            if text[m.start()] == ".":
                word = _last_word(text, max(0, m.start() - 64), m.start())
                if word and (word.lower().rstrip(".") in _ABBREVIATIONS or len(word) == 1):
                    continue
                if _list_number(text, m.start()):
                    continue  # "IMPRESSION: 1. Adequate bone ...": the number opens its item
            starts.add(m.end())
        # a line that ends with terminal punctuation or is short starts a new sentence
        pos = 0
        for line in text.split("\n")[:-1]:
            pos += len(line) + 1  # just after the line's "\n"
            line = line.rstrip()
            if not line or line[-1] in ".!?:;" or len(line) < 60 or DICTATED_STOP.search(line):
                starts.add(pos)
        return starts

    def __call__(self, doc: Doc) -> Doc:
        text = doc_text(doc)
        sections = self.find_sections(text)
        doc._.cdt_sections = sections
        if not len(doc):
            doc.spans[SPAN_KEY] = []
            doc.user_data[SENTS_KEY] = [0]
            return doc
        # token offsets as plain ints (reading them from Token objects cost more than the rest),
        # kept on the doc for the later components
        offsets, ends, _ = token_offsets(doc)
        spaces = doc.to_array(IS_SPACE).tolist()
        spans = [char_span(doc, s.start, s.end, label=s.name) for s in sections]
        doc.spans[SPAN_KEY] = [span for span in spans if span is not None]
        # a word token starts a sentence when a sentence start lies between the end of the word
        # before it (1 when there is none) and its own start: for each start, only the first word
        # at or after it can qualify
        words = [i for i, space in enumerate(spaces) if not space]
        word_starts = [offsets[i] for i in words]
        sent_starts = {0}
        for start in sorted(self.sentence_starts(text, sections)):
            k = bisect.bisect_left(word_starts, start)
            if k == len(words):
                break
            if (ends[words[k - 1]] if k else 1) <= start:
                sent_starts.add(words[k])
        sent_starts = sorted(sent_starts)
        flags = numpy.full((len(offsets), 1), -1, dtype="int64").astype("uint64")
        flags[sent_starts, 0] = 1
        doc.from_array([SENT_START], flags)
        doc.user_data[SENTS_KEY] = sent_starts  # the index the later components look sentences up in
        return doc

    # -- serialisation ---------------------------------------------------------
    def to_disk(self, path: str | Path, *, exclude: tuple = ()) -> None:
        rules_to_disk(path, self.rules)

    def from_disk(self, path: str | Path, *, exclude: tuple = ()) -> SectionDetector:
        self.set_rules(rules_from_disk(path))
        return self

    def initialize(self, get_examples=None, *, nlp: Language | None = None, rules: dict | None = None) -> None:
        if rules is not None:
            self.set_rules(rules)


@Language.factory("cdt_nlp_sections", default_config={})
def make_section_detector(nlp: Language, name: str) -> SectionDetector:
    return SectionDetector(nlp, name)
