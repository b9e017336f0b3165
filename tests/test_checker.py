"""Scoring API: the exact result schema, scores, and bad input."""

from __future__ import annotations

import pytest

from cdt_nlp import CdtError
from cdt_nlp.catalog import ITEMS

NOTE = (
    "CC: Pt c/o recurrent L submandibular swelling with meals x3 mo.\n"
    "Pano inconclusive for soft tissue, US ordered to evaluate the gland.\n"
    "US L SMG performed. FINDINGS: 5 mm echogenic focus with acoustic shadowing in Wharton's duct.\n"
    "IMPRESSION: interpretation deferred to OMFS radiologist.\n"
    "PLAN: refer to OMFS for sialendoscopy."
)


@pytest.mark.parametrize("code", ["D0370"])
def test_checker_to_dict_has_exactly_the_documented_keys(checker, code):
    out = checker.check(NOTE, code=code).to_dict()
    assert list(out) == [
        "code",
        "score",
        "checklist",
        "items",
        "missing",
        "fixes",
        "warnings",
        "suggestions",
        "no_service_probability",
        "mismatch",
    ]
    assert list(out["items"]) == list(ITEMS)
    for item in out["items"].values():
        assert list(item) == ["present", "required", "evidence", "reason", "found_by", "confidence"]
        for ev in item["evidence"]:
            assert list(ev) == ["text", "start", "end"]
    assert out["suggestions"] == [] and out["mismatch"] is False and out["no_service_probability"] is None


@pytest.mark.parametrize("code", ["D0370"])
def test_checker_deferred_interpretation_scores_and_warns(checker, code):
    out = checker.check(NOTE, code=code).to_dict()
    assert out["missing"] == ["interpretation"]
    assert out["items"]["interpretation"]["reason"] == "deferred"
    assert "deferred" in out["items"]["interpretation"]["evidence"][0]["text"]
    assert len(out["fixes"]) == 1 and "ultrasound" in out["fixes"][0]
    assert [w["check"] for w in out["warnings"]] == ["capture_and_interpretation"]
    assert "D0386" in out["warnings"][0]["message"]
    assert 0 < out["score"] < 100


@pytest.mark.parametrize("code", ["D0386"])
def test_checker_capture_only_code_passes_the_same_note(checker, code):
    out = checker.check(NOTE, code=code).to_dict()
    assert out["missing"] == []
    assert out["items"]["interpretation"]["required"] is False
    assert out["score"] == 100.0


@pytest.mark.parametrize("code", ["D0370"])
def test_checker_score_is_weighted_share_of_required_items_and_checks(checker, code):
    result = checker.check(NOTE, code=code)
    info = checker.catalog.get(code)
    total = sum(info.checklist.values()) + len(info.checks)
    passed = sum(w for i, w in info.checklist.items() if result.items[i].present)
    passed += len(info.checks) - len({w.check for w in result.warnings})
    assert result.score == round(100 * passed / total, 1)


@pytest.mark.parametrize(
    ("note", "error_id"),
    [
        ("", "E001"),
        ("   \n\t ", "E001"),
        (b"\x00\x01\x02binary\x00", "E002"),
        ("A" * 1_000_001, "E004"),
        (12345, "E008"),
    ],
    ids=["empty", "whitespace", "binary", "too-long", "not-text"],
)
def test_checker_bad_input_raises_clear_errors(checker, note, error_id):
    with pytest.raises(CdtError) as info:
        checker.check(note, code="D0370")
    assert info.value.error_id == error_id
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "data", ["CC: café au lait swelling x3 wk".encode("cp1252"), "CC: swelling x3 wk".encode("utf-16")]
)
def test_checker_decodes_other_encodings(checker, data):
    assert checker.check(data, code="D0370").items["chief_complaint"].present


#: an export with Windows line ends and HTML character references
EXPORTED = (
    "CC: swelling under the L jaw that doesn&#39;t go away x3 wk\r\n"
    "US L submandibular taken &amp; read by me: 4 mm echogenic focus with shadowing.\r\n"
    "Impression: sialolith.\r\nPlan: refer for sialendoscopy &lt;2 wk."
)


def test_checker_reads_export_debris_and_quotes_the_text_given(checker):
    result = checker.check(EXPORTED, code="D0370")
    assert result.items["chief_complaint"].present and result.items["findings"].present
    quoted = [ev for r in result.items.values() for ev in r.evidence]
    assert any("&#39;" in ev.text for ev in quoted) and any("&amp;" in ev.text for ev in quoted)
    for ev in quoted:
        assert EXPORTED[ev.start : ev.end] == ev.text
    # check_many quotes the same way
    assert next(checker.check_many([EXPORTED], code="D0370")).to_dict() == result.to_dict()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain text", "plain text"),
        ("a\r\nb\rc", "a\nb\nc"),
        ("doesn&#39;t &amp; &lt;br&gt; &#x27;x&#x27;", "doesn't & <br> 'x'"),
        ("R&D, S&P 500 & more", "R&D, S&P 500 & more"),
        # HL7 v2 escape sequences from an interface feed
        ("FINDINGS:\\.br\\No stone.\\X0D\\\\X0A\\Plan: RTC", "FINDINGS:\nNo stone.\n\nPlan: RTC"),
        ("a\\F\\b \\H\\IMP\\N\\ c\\E\\d \\.sp 2\\e", "a|b  IMP  c\\d \ne"),
        ("C:\\temp\\notes and 1\\2", "C:\\temp\\notes and 1\\2"),
    ],
)
def test_normalise_text_maps_every_character_back(text, expected):
    from cdt_nlp.textio import normalise_text, original_span

    clean, index = normalise_text(text)
    assert clean == expected
    if clean == text:
        assert index is None
        return
    assert len(index) == len(clean) + 1 and index[-1] == len(text)
    # every word of the result maps back onto the same word (or its encoded form) in the input
    for start in range(len(clean)):
        lo, hi = original_span(index, start, start + 1)
        assert 0 <= lo < hi <= len(text)
        if clean[start].isalnum():
            assert text[lo:hi] == clean[start]


@pytest.mark.parametrize("code", ["d370", "D9999"])
def test_checker_rejects_bad_code_before_work(checker, code):
    with pytest.raises(CdtError):
        checker.check(NOTE, code=code)


@pytest.mark.parametrize("code", ["D0370"])
def test_checker_is_a_pure_function_of_note_and_code(checker, code):
    first = checker.check(NOTE, code=code).to_dict()
    checker.check("CC: other note entirely. CBCT #19.", code="D0364")
    assert checker.check(NOTE, code=code).to_dict() == first


@pytest.mark.parametrize("code", ["D0370"])
def test_checker_check_many_matches_check(checker, code):
    notes = [NOTE, "CC: TMJ pain. MRI TMJ acquired, sent to OMFR for read."]
    many = [r.to_dict() for r in checker.check_many(notes, code=code)]
    assert many == [checker.check(n, code=code).to_dict() for n in notes]


def test_checker_every_reason_has_a_phrase_and_vice_versa():
    from cdt_nlp.checker import REASON_PRIORITY
    from cdt_nlp.rules import load_rules

    phrases = set(load_rules("fixes.json")["reason_phrases"])
    assert phrases == {*REASON_PRIORITY, "not_found"}


@pytest.mark.parametrize(
    ("text", "expected", "index_needed"),
    [
        ("reason_scope=stone;SIALENDOSCOPY_RPT", "reason scope=stone;SIALENDOSCOPY RPT", True),
        ("Plan: ___ and tooth_#3 and 5_ and _x", "Plan: ___ and tooth_#3 and 5_ and _x", False),
        ("why_3d=pano", "why 3d=pano", True),
        ("interp_status=SENT_OUT\r\nnext", "interp status=SENT OUT\nnext", True),
        # an "&" that is not a character reference: the underscore is still read, and mapped back
        ("why_3d & pano", "why 3d & pano", True),
    ],
)
def test_normalise_text_reads_field_underscores_as_spaces(text, expected, index_needed):
    from cdt_nlp.textio import normalise_text, original_span

    clean, index = normalise_text(text)
    assert clean == expected
    assert (index is not None) is index_needed
    if index is not None:
        assert original_span(index, 0, len(clean)) == (0, len(text))


def _assert_maps_back(text: str, clean: str, index: list[int] | None) -> None:
    """Every letter and digit of ``clean`` maps back onto the same character of ``text``, except
    the label of a pasted table's filled field, which maps to its value's first character."""
    from cdt_nlp.textio import original_span

    assert len(index) == len(clean) + 1 and index[-1] == len(text)
    for start, char in enumerate(clean):
        if char.isalnum():
            lo, hi = original_span(index, start, start + 1)
            assert text[lo:hi] == char or lo == hi


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a pasted table: each column of each row reads as "Label: value"; quoted fields keep commas
        (
            'Exam,Side,Result,Read,Next\nCBCT,L,"cyst, 12 mm",,recall 6 mo\nok',
            "Exam: CBCT\nSide: L\nResult: cyst, 12 mm\nRead: \nNext: recall 6 mo\nok",
        ),
        # two rows are two records, a blank line apart
        (
            "Date;Site;Result;Plan\n3/4;#30;PARL 4 mm;RCT\n3/9;#31;clear;none",
            "Date: 3/4\nSite: #30\nResult: PARL 4 mm\nPlan: RCT\n\nDate: 3/9\nSite: #31\nResult: clear\nPlan: none",
        ),
        # a list in prose, or a header with no row under it, stays as it is
        (
            "Pain, swelling, trismus, fever\nCBCT limited, #30, read by me, PARL 4 mm.",
            "Pain, swelling, trismus, fever\nCBCT limited, #30, read by me, PARL 4 mm.",
        ),
        ("Date,Site,Result,Plan\n\nno row here", "Date,Site,Result,Plan\n\nno row here"),
        # RTF: paragraph marks are line breaks, other control words (and their delimiting space) spaces
        ("{\\rtf1\\ansi \\pard CC: pain\\par Plan: recall\\par }", "{   CC: pain\nPlan: recall\n}"),
        ("Hx:\\tab pain\\line Dx: cyst", "Hx: pain\nDx: cyst"),
        # HTML tags: block tags are line breaks, inline ones spaces
        ("<p>Findings: cyst</p><p><b>Plan:</b> bx<br/>ok</p>", "\nFindings: cyst\n\n Plan:  bx\nok\n"),
        ("<td>FOV</td><td>8 x 8</td>", " FOV  8 x 8 "),
        # a written-out "\\n" is a line break; paths, comparisons and unknown tags stay
        ("Findings:\\nNo stone", "Findings:\nNo stone"),
        ("C:\\notes\\pano.dcm", "C:\\notes\\pano.dcm"),
        ("ratio < 2 and > 1; <patient name>", "ratio < 2 and > 1; <patient name>"),
    ],
)
def test_normalise_text_reads_pasted_tables_and_markup(text, expected):
    from cdt_nlp.textio import normalise_text

    clean, index = normalise_text(text)
    assert clean == expected
    if clean != text:
        _assert_maps_back(text, clean, index)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # unexpanded SmartLinks, SmartPhrase names and fill-in fields read as a template's blank
        ("Recall: @RECALLINT@\nok", "Recall: ***********\nok"),
        ("Result: .USRESULT (pending)", "Result: ********* (pending)"),
        ("Why: {WHY SCAN}.", "Why: **********."),
        # a header glued after a full stop, a file name, an e-mail address and lower-case braces stay
        ("Scan done.IMPRESSION: cyst", "Scan done.IMPRESSION: cyst"),
        ("see report.PDF and x.DOCX", "see report.PDF and x.DOCX"),
        ("mail a@b.com; {n} = 3", "mail a@b.com; {n} = 3"),
        ("Then .IMPRESSION: cyst", "Then .IMPRESSION: cyst"),
        ("(pano unclear).CBCT taken.", "(pano unclear).CBCT taken."),
    ],
)
def test_normalise_text_blanks_unexpanded_template_macros(text, expected):
    from cdt_nlp.textio import normalise_text

    clean, index = normalise_text(text)
    assert clean == expected and len(clean) == len(text)
    assert (index is not None) is (clean != text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # punctuation dictated as words reads as the marks, and a header said after it gets its colon
        (
            "exam colon mri floor of mouth period new paragraph impression colon ranula comma left period",
            "exam:      mri floor of mouth.                    \nimpression:      ranula,      left.      ",
        ),
        (
            "Chief complaint period. New paragraph. CBCT done comma read by me period Findings two canals.",
            "Chief complaint:.                     \nCBCT done,      read by me.       Findings:two canals.",
        ),
        # a header followed by a word of its not_before list stays a word ("Findings were ...")
        (
            "Scan done comma no stone period Findings were normal.",
            "Scan done,      no stone.       Findings were normal.",
        ),
        # one spoken mark is not dictation; "period" and "colon" used as words stay
        ("Pain for a period of 3 weeks, comma splice.", "Pain for a period of 3 weeks, comma splice."),
        (
            "Hx colon ca comma on chemo period waiting period applies",
            "Hx colon ca,      on chemo.       waiting period applies",
        ),
    ],
)
def test_normalise_text_reads_spoken_punctuation(text, expected):
    from cdt_nlp.textio import normalise_text

    clean, index = normalise_text(text)
    assert clean == expected and len(clean) == len(text)
    assert (index is not None) is (clean != text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a two-column table row reads as "Label: value"
        ("| Findings  |       |\n| FOV | 8 x 8 cm |", "| Findings  :       |\n| FOV : 8 x 8 cm |"),
        # rows of wider tables and bars inside a line stay as they are
        ("| Site | Height | Width |\n| #19 | 11 mm | 6 mm |", "| Site | Height | Width |\n| #19 | 11 mm | 6 mm |"),
        ("S: pain | O: swelling\nA: stone", "S: pain | O: swelling\nA: stone"),
        # an audit-trail stamp's colon reads as a field separator
        ("2026-03-04 09:12 jdoe: CC:\nnext", "2026-03-04 09:12 jdoe| CC:\nnext"),
    ],
)
def test_normalise_text_reads_table_rows_and_entry_stamps_as_fields(text, expected):
    from cdt_nlp.textio import normalise_text

    clean, index = normalise_text(text)
    assert clean == expected and len(clean) == len(text)
    assert (index is not None) is (clean != text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a ticked box is blanked and its option stays; an empty box goes with its option
        ("Gland: [x] L parotid  [ ] R parotid", "Gland:     L parotid" + " " * 15),
        ("Fields: (\u2022) Limited ( ) Full arch", "Fields:     Limited" + " " * 14),
        # every box empty: an empty field
        ("F/U: [ ] 1 wk [ ] 2 wk [ ] PRN\nNext", "F/U:                          \nNext"),
        # an option written before its box
        ("CBCT [x]   Pano [ ]", "CBCT               "),
        # a box after a label or a question: only the box goes
        ("Plan: [ ]", "Plan:    "),
        ("Necessary?  \u2612 Y  \u2610 N", "Necessary?    Y     "),
        # line breaks lost: an empty option ends at the next label, and never runs on far
        ("[ ] Other pathology IMPRESSION: stone", "                    IMPRESSION: stone"),
        ("[ ] " + "word " * 30, " " * 64 + "word " * 18),
    ],
)
def test_normalise_text_reads_check_boxes_as_the_choices_made(text, expected):
    from cdt_nlp.textio import normalise_text

    clean, index = normalise_text(text)
    assert clean == expected and len(clean) == len(text)
    assert index is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a dictator withdrawing the statement just made: it goes back to the last stop
        (
            "Crown on 46. Recall one year, scratch that, recall at 18 months.",
            "Crown on 46." + " " * 32 + "recall at 18 months.",
        ),
        ("Impression: cyst, strike the impression. Sent out.", "Impression:" + " " * 29 + " Sent out."),
        # never far back
        ("word " * 40 + "scratch that", "word " * 8 + " " * 172),
        # "delete the last sentence" goes back one more statement
        ("Stone 4 mm. Likely adenoma. Delete the last sentence. Refer.", "Stone 4 mm." + " " * 43 + "Refer."),
        # the same words about something else stay ("strike" as in a blow, "cancel that appointment")
        ("A strike to the chin.", "A strike to the chin."),
        ("Pt called to cancel that appointment.", "Pt called to cancel that appointment."),
    ],
)
def test_normalise_text_blanks_what_a_dictator_withdrew(text, expected):
    from cdt_nlp.textio import normalise_text

    clean, index = normalise_text(text)
    assert clean == expected and len(clean) == len(text)


def test_a_smart_form_with_no_box_ticked_documents_nothing(checker):
    note = (
        "TMJ CBCT - smart form\nCC: [x] Pain  [ ] Clicking  [ ] Locking   L jaw ache on chewing x 3 mo\n"
        "FOV: ( ) Limited  (\u2022) TMJ bilateral\n"
        "Indication for imaging:  [ ] Trauma  [ ] Suspected DJD  [ ] Pre-surgical  [ ] Other: ____\n"
        "Findings: L condyle flattened with anterior osteophyte, joint space narrowed.\n"
        "Impression: degenerative joint disease L TMJ.\n"
        "Follow-up:  [ ] 2 wk  [ ] 6 wk  [ ] PRN\n"
    )
    result = checker.check(note, code="D0368")
    assert result.items["rationale"].present is False
    assert result.items["follow_up"].present is False
    assert result.items["findings"].present and result.items["chief_complaint"].present
    # the evidence quotes the note as written
    assert "[x] Pain" in result.items["chief_complaint"].evidence[0].text


def assert_quotes_the_note(result, note):
    """Every evidence quote is the note's own text at its offsets."""
    for ev in (e for r in result.items.values() for e in r.evidence):
        assert note[ev.start : ev.end] == ev.text


@pytest.mark.parametrize(
    ("note", "code", "missing"),
    [
        # a table export: empty cells are empty fields
        (
            "CBCT capture log\nReason: implant planning #19, pano cannot show the canal.\n"
            "| Item      | Entry |\n|-----------|-------|\n| FOV       | 5 x 5 cm |\n"
            "| Findings  |       |\n| Impression |      |\n| Reader    | OMR, report to follow |\n",
            "D0380",
            ["findings", "interpretation"],
        ),
        # a revision history: a struck-out impression is no impression
        (
            "US of the R submandibular gland captured here, 12 clips saved.\n"
            "Impression: ~~3 mm sialolith in Wharton's duct~~ [deleted: entered in error, wrong patient]\n"
            "Plan: warm compresses, review 2 wk.",
            "D0370",
            ["interpretation"],
        ),
    ],
)
def test_an_exported_note_reads_its_blanked_fields_as_missing_and_quotes_the_input(checker, note, code, missing):
    result = checker.check(note, code=code)
    assert [item for item in missing if result.items[item].present] == []
    assert_quotes_the_note(result, note)


def test_field_name_exports_are_read_and_quoted_from_the_input(checker):
    note = "SIALENDOSCOPY_RPT; side=R; interp_status=SENT_OUT; findings_scope=6 mm stone mid-duct, retrieved"
    result = checker.check(note, code="D0371")
    assert result.items["findings"].present
    assert result.items["interpretation"].reason == "deferred"
    assert_quotes_the_note(result, note)


@pytest.mark.parametrize(
    ("text", "struck"),
    [
        # struck-out text and deletion notes are blanked, line breaks and every offset kept
        ("Imp: ~~sialolith~~ [deleted: read pending]", ["~~sialolith~~", "[deleted: read pending]"]),
        ("a ~~two\nlines~~ b", ["~~two\nlines~~"]),
        ("FOV: <del>limited</del> full arch", ["<del>limited</del>"]),
        ("CC: [Entered in error - wrong patient]", ["[Entered in error - wrong patient]"]),
        # an amendment with the new value, a lone tilde and an approximate value stay
        ("FOV: limited [amended 3/4: full arch]", []),
        ("~2 mm, ~ 3 mm and ~~ alone", []),
        # a transcriber's "[crossed out]" note
        ("Read: ~~me~~ [crossed out] Dr. Osei", ["~~me~~", "[crossed out]"]),
        # a drafted line in quotes withdrawn by the clinician's bracketed edit: the quote goes
        ('AI text: "Bone adequate for implants." [JS: REMOVE - not read yet]', ['"Bone adequate for implants."']),
        ('Imaging: "CBCT reviewed" [KT: strike, pano only]', ['"CBCT reviewed"']),
        ('"Sent to radiology." [DR EDIT: not true, I read it]', ['"Sent to radiology."']),
        # a quote followed by any other note in brackets stays
        ('Pt: "it clicks when I chew" [noted by RDA]', []),
    ],
)
def test_normalise_text_blanks_struck_out_text(text, struck):
    from cdt_nlp.textio import normalise_text

    expected = text
    for part in struck:
        expected = expected.replace(part, "".join(c if c == "\n" else " " for c in part))
    clean, _ = normalise_text(text)
    assert clean == expected
    assert len(clean) == len(text)


def test_the_items_labelled_field_is_quoted_first(checker):
    """A biller sees the first quote: the impression line, not the sentence that only says the
    images were interpreted; the classifier's training keeps the detector's order."""
    note = (
        "US L SMG performed and interpreted by me. 4 mm echogenic focus with shadowing in the hilum.\n"
        "Impression: sialolith."
    )
    result = checker.check(note, code="D0370")
    quotes = [e.text for e in result.items["interpretation"].evidence]
    assert quotes[0] == "Impression: sialolith." and len(quotes) == 2
    doc = checker.nlp(note)
    raw = checker.item_results(doc, checker.catalog.get("D0370"), learned=False, labelled_first=False)
    assert [e.text for e in raw["interpretation"].evidence] == quotes[::-1]
