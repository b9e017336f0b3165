"""Turning user input (str or bytes from a file, stdin or a request) into note text."""

from __future__ import annotations

import html
import re
from functools import cache
from typing import NamedTuple

from . import fastre
from .errors import CdtError
from .rules import load_rules

#: notes longer than this are refused (a 10 MB export is a file, not a note)
MAX_CHARS = 1_000_000
_FALLBACK_ENCODINGS = ("utf-8-sig", "cp1252")


def decode_note(data: bytes) -> str:
    """Decode note bytes: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252.

    Binary data (NUL bytes outside UTF-16) is refused with a clear error.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise CdtError("E003") from exc
    nul = data.count(b"\x00")
    if nul:
        raise CdtError("E002", nul=nul)
    for encoding in _FALLBACK_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CdtError("E003")


def clean_note(note: object, max_chars: int = MAX_CHARS) -> str:
    """Validate a note and return its text, or raise :class:`CdtError`."""
    if isinstance(note, (bytes, bytearray)):
        note = decode_note(bytes(note))
    if not isinstance(note, str):
        raise CdtError("E008", type=type(note).__name__)
    if "\x00" in note:
        raise CdtError("E002", nul=note.count("\x00"))
    if len(note) > max_chars:
        raise CdtError("E004", size=len(note), limit=max_chars)
    control = sum(1 for ch in note if ord(ch) < 32 and ch not in "\n\r\t\f\v")
    if control > max(8, len(note) // 100):
        raise CdtError("E002", nul=control)
    if not note.strip():
        raise CdtError("E001")
    return note


#: what exports leave in notes and the rules should not have to know about: Windows and old Mac
#: line ends, HTML character references ("doesn&#39;t", "taken &amp; read") and tags ("<br/>",
#: "<td>"), the escape sequences of HL7 v2 interfaces ("FINDINGS:\.br\No stone", "\X0D\", "\F\"
#: for "|"), RTF control words and line breaks written out as "\n"
#: HTML tags that end a line ("<br/>", "</p>", "<tr>") and tags that only format a run of text
_BLOCK_TAGS = r"br|p|div|tr|li|ul|ol|table|tbody|thead|h[1-6]"
_INLINE_TAGS = r"b|i|u|em|strong|span|font|td|th|small|sup|sub"
_EXPORT_DEBRIS = re.compile(
    r"\r\n?|&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|amp|lt|gt|quot|apos|nbsp);"
    r"|\\(?:\.(?:br|sp|in|ti|ce|fi|nf|sk)(?: ?[+-]?\d{1,3})?|X(?:0[dDaA]){1,2}|[FSTREHN])\\"
    # HTML markup: block tags read as a line break, inline ones as a space
    rf"|(?i:</?(?:{_BLOCK_TAGS}|{_INLINE_TAGS})(?:[ \t/][^<>\n]{{0,80}})?>)"
    # RTF control words ("{\\rtf1\\ansi \\pard Pt: ...\\par"): a paragraph or line mark reads as a
    # line break, any other as a space; the space that ends a control word goes with it
    r"|\\(?:rtf1|ansi|ansicpg|deff|fonttbl|colortbl|viewkind|uc|par|pard|line|plain|tab|f|fs|cf|cb|highlight"
    r"|lang|b|i|ul|ulnone|sa|sb|li|ri|fi|ql|qc|qj|qr)(?![A-Za-z])(?:-?\d{1,5})? ?"
    # a line break written out as the two characters "\\n" by an export ("Findings:\\nNo stone")
    r"|\\n(?![a-z])"
)
_BLOCK_TAG = re.compile(rf"</?(?:{_BLOCK_TAGS})\b", re.IGNORECASE)
_RTF_BREAK = re.compile(r"\\(?:par|line|n)(?![A-Za-z])")
#: what an HL7 escape sequence stands for; line breaks read as a line break, and the other
#: formatting commands (highlighting, indents) as a space
_HL7_ESCAPES = {"F": "|", "S": "^", "T": "&", "R": "~", "E": "\\"}


def _unescape(token: str) -> str:
    """The text an export debris token stands for."""
    if token[0] == "\r":
        return "\n"
    if token[0] == "&":
        return html.unescape(token)
    if token[0] == "<":
        return "\n" if _BLOCK_TAG.match(token) else " "
    if token[-1] != "\\":  # an RTF control word or a written-out line break
        return "\n" if _RTF_BREAK.match(token) else " "
    body = token[1:-1]
    if body in _HL7_ESCAPES:
        return _HL7_ESCAPES[body]
    return "\n" if body[:3] in (".br", ".sp") or body[0] == "X" else " "


#: an underscore joining two words of a database field name ("SIALENDOSCOPY_RPT", "why_3d"):
#: read as a space, which keeps every offset where it was
_FIELD_UNDERSCORE = re.compile(r"(?<=[A-Za-z0-9])_(?=[A-Za-z0-9])")

#: the date, time and user an audit-trail export puts before each entry ("2026-03-04 09:12 jdoe:
#: CC: ..."); the colon after the user is read as a field separator ("|"), which keeps every offset
#: where it was, so what follows is read as the start of a field (a header, a sentence)
#: the date and time of an entry stamp ("2026-03-04 09:12", "3/4/26, 9:12 AM")
STAMP_TIME = r"(?:\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4})[ T,]+\d{1,2}:\d{2}(?::\d{2})?(?:[ \t]?[AaPp][Mm])?"
_STAMP = rf"(?m)^[ \t]*{STAMP_TIME}[ \t]+[A-Za-z][\w.@-]{{0,24}}(?: [A-Za-z][\w.-]{{0,24}})?"
_ENTRY_STAMP = re.compile(_STAMP + r"(?P<colon>:)(?=[ \t])")
#: an entry stamp as :func:`normalise_text` leaves it ("2026-03-04 09:12 jdoe|")
ENTRY_STAMP_FIELD = re.compile(_STAMP + r"\|")


#: a two-column table row ("| Findings  |       |", "| FOV | 16 x 10 cm |"): its middle bar is
#: read as the colon of a "Label: value" field, which keeps every offset where it was
_TABLE_ROW = re.compile(r"(?m)^[ \t]*\|[ \t]*[A-Za-z][^|\n]{0,40}?(?P<bar>\|)[^|\n]*\|[ \t]*$")


#: form check boxes and radio buttons as exports print them: empty ("[ ]", "( )", "☐") and ticked
#: ("[x]", "(•)", "☒")
_UNCHECKED = r"\[[ \t]?\]|\([ \t]?\)|[\u2610\u25a1]"
_CHECKED = r"\[[xX\u2713\u2714\u221a*][ \t]?\]|\([xX\u2713\u2714\u221a*\u2022\u25cf][ \t]?\)|[\u2611\u2612\u25a0\u2705]"
_BOX = fastre.compile(rf"(?P<empty>{_UNCHECKED})|(?P<ticked>{_CHECKED})")
#: nothing written after a box on its line, before the next box, a gap of two spaces or a "|" field
#: bar (its option, if any, came before it: "CBCT [x]   Pano [ ]")
_NO_OPTION = re.compile(rf"[ \t]*(?:{_UNCHECKED}|{_CHECKED})|[ \t]{{2,}}|[ \t]*\||[ \t]*$", re.MULTILINE)
#: the end of the option label after a box: the same marks or, where line breaks were lost, the
#: next "Label:" ("[ ] Other pathology IMPRESSION: ...")
_OPTION_END = re.compile(rf"{_NO_OPTION.pattern}|[ \t]+(?=[A-Za-z][\w/-]*[ \t]*:)", re.MULTILINE)
#: an option label is short: an empty box never blanks more than this many characters after it
_OPTION_CHARS = 60


def _boxes_as_choices(text: str) -> str:
    """``text`` with form check boxes read as the choices they record (same length): a ticked box
    is blanked and its option stays ("[x] Pain" reads "    Pain"); an empty box is blanked with
    its option ("[ ] Swelling", "Pano [ ]"), so an item offered but not chosen is not documented
    and a field whose boxes are all empty is an empty field. A box after a "Label:" or a question
    ("Plan: [ ]", "Necessary?  ☐") is only blanked: the label stays, now with an empty answer."""
    blank: list[tuple[int, int]] = []
    for m in _BOX.finditer(text):
        start, end = m.span()
        if m.group("ticked") is not None:
            blank.append((start, end))
            continue
        if _NO_OPTION.match(text, end) is None:
            # "[ ] Swelling": the option follows the box, up to the next box, gap, bar or line end
            stop = _OPTION_END.search(text, end + 1, end + 1 + _OPTION_CHARS)
            blank.append((start, stop.start() if stop else min(len(text), end + 1 + _OPTION_CHARS)))
            continue
        # nothing follows on this line: the option, if any, was written before the box
        line_start = text.rfind("\n", 0, start) + 1
        lead = text[line_start:start]
        label_at = max(lead.rfind("  "), lead.rfind("|"), lead.rfind("]"), lead.rfind(")"))
        label = lead[label_at + 1 :] if label_at >= 0 else lead
        if label.strip() and not label.rstrip().endswith((":", "?")):
            blank.append((start - len(label) + (len(label) - len(label.lstrip())), end))
        else:
            blank.append((start, end))
    return _blank(text, blank)


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with each ``(start, end)`` span replaced by spaces, line breaks kept (same length)."""
    if not spans:
        return text
    chars = list(text)
    for a, b in spans:
        for i in range(a, b):
            if chars[i] != "\n":
                chars[i] = " "
    return "".join(chars)


#: text struck out in a chart's revision history, as exports print it: "~~dilated duct~~",
#: "<del>...</del>", and the correction notes that say a line no longer stands ("[deleted: wrong
#: patient]", "[entered in error ...]", "[voided ...]", a transcriber's "[crossed out]"); an
#: amendment that gives the new value ("[amended 3/4: full arch]") is kept
_STRUCK = re.compile(
    r"~~(?=\S)[^~]{1,2000}?(?<=\S)~~"
    r"|<(?P<tag>del|s|strike)>.{0,2000}?</(?P=tag)>"
    r"|\[[ \t]*(?:deleted|entered in error|voided|void|struck|struck out|strike-?through|removed"
    r"|crossed[ -]?out|scribbled out|scratched out)\b[^\]\n]{0,300}\]"
    # a drafted line in quotes that the clinician's bracketed edit withdraws ('AI text: "Adequate
    # bone." [WL: REMOVE - I haven't looked at it]'): the quote goes, the edit stays
    r"|(?:\"[^\"\n]{1,400}\"|\u201c[^\u201d\n]{1,400}\u201d)"
    r"(?=[ \t]*\[[ \t]*(?:[a-z]{1,4}\.?[ \t]*|dr\.?[ \t]*[a-z'-]*[ \t]*)?(?:edit(?:ed)?)?[ \t]*:?[ \t]*"
    r"(?:no[.,:;]?[ \t]+)?(?:remove|strike|delete|deleted|wrong|incorrect|not true|false)\b)",
    re.IGNORECASE | re.DOTALL,
)


def _struck_out_as_blank(text: str) -> str:
    """``text`` with struck-out text and deletion notes blanked (same length, line breaks kept),
    so "Impression: ~~sialolith~~ [deleted: entered before the read]" reads as an empty field."""
    return _blank(text, [m.span() for m in _STRUCK.finditer(text)])


#: a dictator withdrawing what they just said ("Recheck one year, scratch that, recheck at 18 months",
#: "Impression likely adenoma, strike the impression, I'm not reading this one", "... Delete the last
#: sentence."); "that" and "this" count only when the words end there ("cancel that appointment" stays)
_RETRACTION = fastre.compile(
    r"\b(?:no,? )?(?:scratch|strike|delete|disregard|cancel) (?:(?:that|this)(?=[ \t]*(?:[,.;]|$))"
    r"|the (?P<previous>last (?:sentence|line))|the last (?:bit|part|word)"
    r"|the (?:impression|findings?|plan|diagnosis|dx))\b[ \t]*[,.;]?",
    re.IGNORECASE | re.MULTILINE,
)
#: where a statement starts: after the last stop, colon, semicolon or line break before it
_STATEMENT_BREAK = re.compile(r"[.;:!?\n]")
#: a withdrawn statement is short: never more than this many characters are blanked before the words
_RETRACTED_CHARS = 160


def _retracted_as_blank(text: str) -> str:
    """``text`` with what a dictator withdrew blanked (same length, line breaks kept): the words of
    withdrawal and the statement they follow, back to the last stop, colon or line break ("Recheck one
    year, scratch that, recheck at 18 months" reads "recheck at 18 months"), or the whole statement
    before that one for "delete the last sentence"."""
    spans = []
    for m in _RETRACTION.finditer(text):
        lo = max(0, m.start() - _RETRACTED_CHARS)
        breaks = [b.end() for b in _STATEMENT_BREAK.finditer(text, lo, m.start())]
        if m.group("previous") and breaks:
            breaks.pop()  # the break that ends the withdrawn sentence: go back to the one before it
        spans.append((breaks[-1] if breaks else lo, m.end()))
    return _blank(text, spans)


#: punctuation a speech recogniser wrote out as words because the dictator's commands were not
#: carried out ("swelling under the jaw comma referred by Dr P period new paragraph IMPRESSION colon
#: sialolith"): each kind of mark, the words said for it and the mark it reads as; the words before
#: each are checked in :func:`_spoken_marks_as_punctuation`
_SPOKEN_MARKS = {
    "para": (("new paragraph", "new line", "next line"), "\n"),
    "comma": (("comma",), ","),
    "stop": (("period", "full stop"), "."),
    "colon": (("colon",), ":"),
    "semi": (("semicolon", "semi-colon"), ";"),
}
_SPOKEN_MARK = re.compile(
    r"[ \t]*\b(?:"
    + "|".join(f"(?P<{kind}>{'|'.join(words)})" for kind, (words, _) in _SPOKEN_MARKS.items())
    + r")\b(?P<trail>[ \t]*[.,:;](?!\w))?[ \t]*",
    re.IGNORECASE,
)
#: the cheap test for a note that may hold spoken marks (an RE2 scan; most notes hold none)
_SPOKEN_WORD = fastre.compile(
    r"\b(?:" + "|".join(w for words, _ in _SPOKEN_MARKS.values() for w in words) + r")\b", re.IGNORECASE
)
#: a note is read as raw dictation only when it says at least this many marks other than "colon"
_SPOKEN_MARKS_MIN = 2
#: "period" as a word: "a period of", "the waiting period", "a 2-week period"
_PERIOD_WORD_BEFORE = re.compile(
    r"\b(?:a|the|this|that|same|short|long|waiting|grace|trial|healing|observation|time|"
    r"\d+[- ]?(?:day|week|month|year|hour)s?)[ \t]*$",
    re.IGNORECASE,
)
#: "colon" as a word: the bowel ("hx colon ca", "sigmoid colon"); a spoken colon follows a header
_COLON_WORD_BEFORE = re.compile(r"\b(?:the|of|sigmoid|ascending|descending|transverse|hx|h/o|pmh)[ \t]*$", re.I)
#: a spoken colon ends a header: at most this many words since the last stop or line break
_SPOKEN_HEADER_WORDS = 4


def _spoken_marks_as_punctuation(text: str) -> str:
    """``text`` with punctuation dictated as words read as the marks (same length: each spoken mark
    becomes its mark padded with spaces, "new paragraph" a line break), so "exam colon mri floor of
    mouth period new paragraph impression colon ranula" reads "exam: mri floor of mouth.
    impression: ranula" with its header. Only in a note that says at least two marks other than
    "colon"; "period" after "a", "the", "waiting", ... or before "of", and "colon" after "the",
    "sigmoid", "hx", ... or more than a header's few words after a stop, stay words."""
    found, last_break = [], 0
    for m in _SPOKEN_MARK.finditer(text):
        before = text[max(0, m.start() - 40) : m.start()]
        after = text[m.end() : m.end() + 3].lower()
        if m.group("stop") and (_PERIOD_WORD_BEFORE.search(before) or after.startswith("of")):
            continue
        if not m.group("para") and not (before and (before[-1].isalnum() or before[-1] in ")%\"'")):
            continue  # a mark is said after a word
        if m.group("colon"):
            line = re.split(r"[.;:!?\n]", text[max(last_break, m.start() - 80) : m.start()])[-1]
            if _COLON_WORD_BEFORE.search(before) or len(line.split()) > _SPOKEN_HEADER_WORDS:
                continue
        found.append(m)
        if not m.group("comma"):
            last_break = m.end()
    if sum(1 for m in found if not m.group("colon")) < _SPOKEN_MARKS_MIN:
        return text
    pieces, last = [], 0
    for m in found:
        mark = next(mark for kind, (_, mark) in _SPOKEN_MARKS.items() if m.group(kind))
        width = m.end() - m.start()
        pieces.append(text[last : m.start()])
        pieces.append(" " * (width - 1) + mark if mark == "\n" else mark + " " * (width - 1))
        last = m.end()
    pieces.append(text[last:])
    return _spoken_headers_as_labels("".join(pieces))


@cache
def _spoken_header_start() -> re.Pattern[str]:
    """A header phrase of sections.json's ``spoken_headers`` said at the start of a sentence, and
    the space after it, unless a word of its ``not_before`` follows ("Findings were ...")."""
    spoken = load_rules("sections.json").get("spoken_headers", {})
    phrases = sorted(spoken.get("headers", {}), key=len, reverse=True)
    alt = "|".join(re.escape(p).replace(r"\ ", r"[ \t]+") for p in phrases) or "(?!)"
    not_before = "|".join(map(re.escape, spoken.get("not_before", []))) or "(?!)"
    return re.compile(
        rf"(?:^|(?<=[.;!?\n]))[ \t]*(?:{alt})(?P<gap>[ \t]|\.(?=[ \t]*$))"
        rf"(?![ \t]*(?:{not_before})\b)(?=[ \t]*(?:\w|$))",
        re.IGNORECASE | re.MULTILINE,
    )


def _spoken_headers_as_labels(text: str) -> str:
    """In dictation read by :func:`_spoken_marks_as_punctuation`, a header said at the start of a
    sentence ("Findings number 19 mesial root ...") ends with a colon, as a typed header would (same
    length: the space after it becomes ":"); one said with a stop and a new paragraph after it
    ("Chief complaint period new paragraph ...") is a field left empty, and reads "Chief complaint:."
    (the stop's padding holds the ".")."""
    colons, stops = [], []
    for m in _spoken_header_start().finditer(text):
        gap = m.start("gap")
        colons.append(gap)
        if text[gap] == "." and text[gap + 1 : gap + 2] == " ":
            stops.append(gap + 1)
    return _replace_at(_replace_at(text, colons, ":"), stops, ".")


#: template macros an EHR left unexpanded: SmartLinks ("@FOLLOWUP@"), SmartPhrase names
#: (".CBCTFINDINGS", after a space or a colon and not before one, so neither "done.FINDINGS:" nor a
#: sentence run into the last one, "(pano equivocal).CBCT taken", is read as a macro) and
#: upper-case fill-in fields ("{REASON FOR EXAM}"); each stands where text was never written
_MACRO = fastre.compile(
    r"@[A-Z][A-Z0-9_]{1,40}@"
    r"|(?<![^\s:])\.[A-Z][A-Z0-9_]{4,40}\b(?![ \t]*:)"
    r"|\{[A-Z][A-Z0-9 _/-]{0,40}\}"
)


def _macros_as_blank(text: str) -> str:
    """``text`` with each unexpanded template macro read as the blank a template leaves ("***", same
    length), so "Follow-up: @FOLLOWUP@" reads as an empty field and "@PLAN@" names no plan."""
    spans = [m.span() for m in _MACRO.finditer(text)]
    return _replace_at(text, [i for a, b in spans for i in range(a, b)], "*")


def _replace_at(text: str, positions: list[int], char: str) -> str:
    """``text`` with the character at each of ``positions`` replaced by ``char`` (same length)."""
    if not positions:
        return text
    chars = list(text)
    for i in positions:
        chars[i] = char
    return "".join(chars)


def _entry_stamps_as_fields(text: str) -> str:
    """``text`` with the colon after each audit-trail entry stamp read as "|" (same length)."""
    return _replace_at(text, [m.start("colon") for m in _ENTRY_STAMP.finditer(text)], "|")


def _table_rows_as_fields(text: str) -> str:
    """``text`` with the middle bar of each two-column table row read as ":" (same length)."""
    return _replace_at(text, [m.start("bar") for m in _TABLE_ROW.finditer(text)], ":")


#: a table pasted as delimited text ("date,exam,measurements,interpretation,plan" and a row
#: under it): a header row has at least this many fields, each a short label
_TABLE_MIN_FIELDS = 4
_TABLE_LABEL = re.compile(r"[A-Za-z][A-Za-z0-9 /#&().'-]{0,39}")
_TABLE_LABEL_WORDS = 4
_TABLE_DELIMITERS = (",", ";", "\t")


def _delimited_fields(line: str, delimiter: str) -> list[tuple[int, int]] | None:
    """(start, end) of each field of a delimited ``line``, inside the quotes of a quoted field
    ('"1.4 x 1.1 cm, lobulated"'), or ``None`` when its quoting is broken."""
    fields: list[tuple[int, int]] = []
    i, n = 0, len(line)
    while True:
        j = i
        while j < n and line[j] in " \t" and line[j] != delimiter:
            j += 1
        if j < n and line[j] == '"':
            k = j + 1
            while True:
                k = line.find('"', k)
                if k < 0:
                    return None
                if k + 1 < n and line[k + 1] == '"':  # a doubled quote inside the field
                    k += 2
                    continue
                break
            fields.append((j + 1, k))
            i = k + 1
            while i < n and line[i] in " \t" and line[i] != delimiter:
                i += 1
            if i < n and line[i] != delimiter:
                return None
        else:
            k = line.find(delimiter, i)
            fields.append((i, n if k < 0 else k))
            i = n if k < 0 else k
        if i >= n:
            return fields
        i += 1
        if i == n:  # a delimiter at the end: an empty last field
            fields.append((n, n))
            return fields


class _PastedTable(NamedTuple):
    """A table pasted as delimited rows; every offset is into the note's text."""

    start: int  #: where the header row starts
    header: list[tuple[int, int]]  #: (start, end) of each header label
    rows: list[tuple[int, list[tuple[int, int]]]]  #: (row start, (start, end) of each field)
    end: int  #: the end of the last row


def _pasted_tables(text: str) -> list[_PastedTable]:
    """Tables pasted as delimited rows. A header is a line of at least
    ``_TABLE_MIN_FIELDS`` short labels, written without a space after the delimiter as exports
    write them; its rows are the lines right under it with as many fields."""
    lines, pos = [], 0
    for line in text.split("\n"):
        lines.append((pos, line))
        pos += len(line) + 1
    tables = []
    i = 0
    while i < len(lines):
        start, line = lines[i]
        i += 1
        for delimiter in _TABLE_DELIMITERS:
            if line.count(delimiter) < _TABLE_MIN_FIELDS - 1 or (delimiter != "\t" and delimiter + " " in line):
                continue  # too few fields, or a list in prose ("pain, swelling, trismus, fever")
            header = _delimited_fields(line, delimiter)
            if header is None or len(header) < _TABLE_MIN_FIELDS:
                continue
            labels = [line[a:b].strip() for a, b in header]
            if not all(_TABLE_LABEL.fullmatch(x) and len(x.split()) <= _TABLE_LABEL_WORDS for x in labels):
                continue
            rows = []  # (row start, its fields), offsets in ``text``
            while i < len(lines) and lines[i][1].strip():
                row_start, row = lines[i]
                fields = _delimited_fields(row, delimiter)
                if fields is None or len(fields) != len(header):
                    break
                rows.append((row_start, [(row_start + a, row_start + b) for a, b in fields]))
                i += 1
            if rows:
                end = rows[-1][0] + len(lines[i - 1][1])
                tables.append(_PastedTable(start, [(start + a, start + b) for a, b in header], rows, end))
            break
    return tables


def _tables_as_fields(text: str) -> tuple[str, list[int]] | None:
    """``text`` with each pasted table read as "Label: value" lines, one per column of each row
    ("interpretation,plan" over ',"review 8 wks"' reads "interpretation: \nplan: review 8 wks"), and
    the offset of each character in ``text``; ``None`` when there is no such table. A label maps to
    its value's first character, so evidence found in a field is quoted as the value; the label of
    an empty field maps to itself in the header row."""
    tables = _pasted_tables(text)
    if not tables:
        return None
    pieces: list[str] = []
    index: list[int] = []

    def emit(piece: str, offsets) -> None:
        pieces.append(piece)
        index.extend(offsets)

    last = 0
    for start, header, rows, end in tables:
        emit(text[last:start], range(last, start))
        for r, (_, fields) in enumerate(rows):
            if r:  # a blank line between rows: each row is a record of its own
                emit("\n\n", [rows[r - 1][1][-1][1], fields[0][0]])
            for c, ((ha, hb), (va, vb)) in enumerate(zip(header, fields, strict=True)):
                label_start = ha + len(text[ha:hb]) - len(text[ha:hb].lstrip())
                label = text[ha:hb].strip()
                value_start = va + len(text[va:vb]) - len(text[va:vb].lstrip())
                value = text[va:vb].strip()
                if value:  # the label reads as its value's start: a quote of the field is the value
                    emit(label + ": ", [value_start] * (len(label) + 2))
                else:  # an empty field is quoted by its label
                    emit(label, range(label_start, label_start + len(label)))
                    emit(": ", [hb, hb])
                emit(value, range(value_start, value_start + len(value)))
                if c < len(header) - 1:
                    emit("\n", [vb])
        va, vb = rows[-1][1][-1]
        if text[va:vb].strip():  # a closing quote after the last value reads as a space at its end
            emit(" " * (end - vb), [vb] * (end - vb))
        last = end
    emit(text[last:], range(last, len(text)))
    index.append(len(text))
    return "".join(pieces), index


def normalise_text(text: str) -> tuple[str, list[int] | None]:
    """The text the pipeline reads, and where each of its characters comes from in ``text``.

    Line ends become ``\\n``, HTML character references and HL7 escape sequences are decoded, an
    underscore between two letters or digits becomes a space, the colon after an audit-trail entry stamp
    ("2026-03-04 09:12 jdoe:") becomes "|" and the middle bar of a two-column table row
    ("| Findings |  |") becomes ":", text struck out in a revision history is blanked
    (:func:`_struck_out_as_blank`), form check boxes read as the choices they record
    (:func:`_boxes_as_choices`), what a dictator withdrew and unexpanded template macros are
    blanked (:func:`_retracted_as_blank`, :func:`_macros_as_blank`), and punctuation dictated as
    words reads as the marks (:func:`_spoken_marks_as_punctuation`; all same length: no offset
    moves). The second value is
    ``None`` when nothing changed; otherwise it has one offset into ``text`` per character of the
    result, plus ``len(text)`` at the end, so result offsets ``start:end`` map back to
    ``index[start]:index[end]`` (see :func:`original_span`).
    """
    # the same-length readings first: every offset stays where it was
    spaced = _FIELD_UNDERSCORE.sub(" ", text) if "_" in text else text
    if ":" in spaced:
        spaced = _entry_stamps_as_fields(spaced)
    if "|" in spaced and "\n" in spaced:
        spaced = _table_rows_as_fields(spaced)
    if "~~" in spaced or "[" in spaced or "<" in spaced:
        spaced = _struck_out_as_blank(spaced)
    if _BOX.search(spaced) is not None:
        spaced = _boxes_as_choices(spaced)
    if _RETRACTION.search(spaced) is not None:
        spaced = _retracted_as_blank(spaced)
    if _SPOKEN_WORD.search(spaced) is not None:
        spaced = _spoken_marks_as_punctuation(spaced)
    if ("@" in spaced or "{" in spaced or "." in spaced) and _MACRO.search(spaced) is not None:
        spaced = _macros_as_blank(spaced)
    # an identity map when only those changed something: quotes still come from ``text``
    identity = None if spaced == text else list(range(len(text) + 1))
    if "\n" in spaced and any(spaced.count(d) >= _TABLE_MIN_FIELDS - 1 for d in _TABLE_DELIMITERS):
        tabled = _tables_as_fields(spaced)
        if tabled is not None:
            spaced, identity = tabled
    if "\r" not in spaced and "&" not in spaced and "\\" not in spaced and "<" not in spaced:
        return spaced, identity
    text = spaced
    pieces: list[str] = []
    index: list[int] = []
    last = 0
    for m in _EXPORT_DEBRIS.finditer(text):
        pieces.append(text[last : m.start()])
        index.extend(range(last, m.start()))
        token = m.group(0)
        out = _unescape(token)
        pieces.append(out)
        index.extend([m.start()] * len(out))
        last = m.end()
    if last == 0:
        return text, identity
    pieces.append(text[last:])
    index.extend(range(last, len(text) + 1))
    if identity is not None:  # offsets into the text before this step: map them on to the input
        index = [identity[i] for i in index]
    return "".join(pieces), index


def original_span(index: list[int] | None, start: int, end: int) -> tuple[int, int]:
    """Offsets in the text given to :func:`normalise_text` for ``start:end`` in its result."""
    if index is None:
        return start, end
    return index[start], index[end]


def prepare_note(note: object, max_chars: int = MAX_CHARS) -> tuple[str, str, list[int] | None]:
    """``(original, text, index)``: the validated note (:func:`clean_note`), the text the pipeline
    reads and the offset map back (:func:`normalise_text`). Every path that runs the pipeline on
    a note starts here, so checking, auditing, evaluating and training read the same text."""
    original = clean_note(note, max_chars)
    return (original, *normalise_text(original))
