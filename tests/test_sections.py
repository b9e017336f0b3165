"""Section and sentence detection across the header styles real notes use."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdt_nlp.components.sections import SectionDetector, _last_word


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("S: pain L TMJ\nO: clicking\nA: disc displacement\nP: splint", ["history", "objective", "impression", "plan"]),
        ("CC: swelling\nHPI: 3 wks", ["chief_complaint", "history"]),
        (
            "CLINICAL HISTORY: 45F lump.\nTECHNIQUE: linear probe.\nFINDINGS: mass.\nIMPRESSION: adenoma.\n"
            "RECOMMENDATIONS: FNA.",
            ["history", "technique", "findings", "impression", "plan"],
        ),
        ("impression: stone\nplan: refer", ["impression", "plan"]),
        ("IMPRESSION\n1. Stone.\nRECOMMENDATION\nRefer.", ["impression", "plan"]),
        ("US done today FINDINGS:there is a 4 mm stone IMPRESSION:sialolith", ["findings", "impression"]),
        ("noted.FINDINGS: stone.", ["findings"]),
        # the author or date in brackets after a header; other brackets keep the label unknown
        ("Clinical evaluation (Ms Rowe, 12/03/26): canal lingual.\nPlan (3/4/26): review", ["impression", "plan"]),
        ("Dx (clinical): periodontitis.", []),
        (
            "indication colon 24 year old with swelling period new paragraph findings colon cyst",
            ["rationale", "findings"],
        ),
        ("Imp: reactive node. Rec: recheck 6 wk.", ["impression", "plan"]),
        ("cc: L jaw pain 3wk\ncbct ltd L post mand. pln: ext #18 nxt visit", ["chief_complaint", "plan"]),
        ("Pt seen today for swelling, no headers at all.", []),
        ("S: pain LL x2wk|O: CBCT #19 read by me|A: abscess|P: ext", ["history", "objective", "impression", "plan"]),
        ("CC: swelling | FINDINGS: 4 mm stone | IMPRESSION: sialolith", ["chief_complaint", "findings", "impression"]),
        ("hpi: pain x2wk///findings: no stone///a: sialadenitis", ["history", "findings", "impression"]),
        # an unknown label named for what it holds
        ("Referring question: stone or mass?\nUS L SMG by me.", ["rationale"]),
        # a label that starts like a known kind of header, at a sentence start or longer than a generic one
        ("ridge 5.8 mm, canal close. why sim: need the angle before the guide.", ["rationale"]),
        ("Why contrast study rather than another US: the duct itself was the question.", ["rationale"]),
        # a letter to the patient in plain words
        (
            "What we found: the canal is 2 mm below the root.\nWhat this means: the tooth can come out safely.",
            ["findings", "impression"],
        ),
        # not after a word: "the reason for" inside a sentence is no header
        ("We discussed the reason for the scan: cost.", []),
        # an export that lost the break after a number ("DOB 1987Reason for CBCT:")
        ("Pt T. Moreau DOB 1987Reason for CBCT:pano shows the canal crossing the roots.", ["rationale"]),
        # title-case headings alone on their line, numbered ones, and two joined by "/" (the last names it)
        (
            "Limited CBCT #30.\nFindings\n4 mm radiolucency at the apex.\nImpression\nperiapical cyst.\n3) Plan\nrecall"
            " in 6 months",
            ["findings", "impression", "plan"],
        ),
        ("Section C. Impression\nradiolucency #30", ["impression"]),
        ("Limited CBCT taken.\nResults / interpretation\nNot read here.", ["impression"]),
        # the procedure a pre-op note is written for is the plan
        ("Planned procedure: L TMJ arthroscopy under IV sedation.\nASA II.", ["plan"]),
        # a Spanish or Portuguese SOAP note: "Objetivo" is the examination, not the study's aim
        (
            "Subjetivo: dor no 36 há 5 dias\nObjetivo: edema vestibular\nPlano: TCFC do 36",
            ["history", "objective", "plan"],
        ),
        # a form's numbered questions
        (
            "Q1 Complaint: R jaw pain\nQ2 Why is this service necessary? ***\nQ3 Findings: 4 mm stone\nQ4 Impression:",
            ["chief_complaint", "rationale", "findings", "impression"],
        ),
    ],
)
def test_sections_header_styles(nlp, text, expected):
    doc = nlp(text)
    names = [s.name for s in doc._.cdt_sections if s.name != "other"]
    assert names == expected


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("N/A", "empty"),
        ("___", "empty"),
        ("***", "empty"),
        ("see report", "empty"),
        ("pending", "deferred"),
        ("to follow", "deferred"),
        ("none given at this time.", "empty"),
        ("No impression rendered yet", "empty"),
        ("await radiology read.", "deferred"),
        ("waiting on the final report", "deferred"),
        ("see pdf|splints ordered, surgery 8/21", "empty"),
        ("pending | ortho consult next week", "deferred"),
        ("4 mm stone in the duct", None),
        ("no stone seen, duct normal", None),
        # a read done elsewhere: "not done here" then where the images went, or only where they went
        ("Not done at our clinic. Volume released to Dr. K. Amsel for review.", "empty"),
        ("volume uploaded to the hospital PACS for Dr. Ruiz to read", "deferred"),
        ("images forwarded to OMR", "deferred"),
        # the field left for the doctor to fill in elsewhere
        ("Attending to dictate the plan in a separate note.", "deferred"),
        ("images sent to OMR; no radiolucency seen on my review", None),
        ("refer to chart", "empty"),
        ("Refer to the referral letter.", "empty"),
        # a header glued to the body ends what the placeholder may cover
        ("images sent to OMR for readReason:pain #30 for 3 weeks", None),
        ("to be added after attending review.", "deferred"),
        ("see findings above", "empty"),
    ],
)
def test_sections_placeholder_bodies(nlp, body, status):
    detector = SectionDetector(nlp)
    assert detector.body_status(body) == status


@pytest.mark.parametrize(
    "text",
    ["CC: swelling. US L SMG performed. FINDINGS: 4 mm stone; duct dilated. IMPRESSION: sialolith."],
)
def test_sections_sentences_split_at_headers_and_punctuation(nlp, text):
    doc = nlp(text)
    sents = [s.text.strip() for s in doc.sents]
    assert "US L SMG performed." in sents
    assert any(s.startswith("FINDINGS:") for s in sents)
    assert any(s.startswith("IMPRESSION:") for s in sents)


def test_sentences_split_at_field_separators_glued_to_words(nlp):
    doc = nlp("S: pt c/o pain LL x2wk|O: ltd CBCT #19 read by me|A: abscess #19 /// P: ext")
    sents = [s.text.strip() for s in doc.sents]
    assert sents[0] == "S: pt c/o pain LL x2wk|"
    assert any(s.startswith("O: ltd CBCT") for s in sents)
    assert any(s.startswith("A: abscess") for s in sents)
    assert sents[-1] == "P: ext"


@pytest.mark.parametrize("text", ["CC:   \nFINDINGS: 4 mm stone."])
def test_sections_empty_header_is_marked(nlp, text):
    doc = nlp(text)
    assert doc._.cdt_sections[0].body_status == "empty"


#: the generic "Label:" pattern as first written, with its separators as lookbehinds (RE2 cannot
#: pre-scan those, so the detector consumes the separator instead and reads only group "h")
_GENERIC_LOOKBEHIND = re.compile(
    r"(?m)(?:^|(?<=;;)|(?<=\|)|(?<=//)|(?<=\s\s)|(?<=---)|(?<=\*\*\*))[ \t]*"
    r"(?P<h>[A-Za-z](?:[A-Za-z0-9/&'()#\- ]|\.(?!\s)){0,36}[A-Za-z)])"
    r"[ \t]*:(?!//)(?=\s|[A-Za-z0-9_]|$)"
)
_PIECES = ["Label", "Dx", "Pt", "x", "a.b", "R/O", ":", ";;", ";", "|", "//", "/", "---", "***", "*", " ", "  ", "\t",
           "\n", "\n\n", ".", "(", ")", "-", "#", "&", "'", "1", "http://x", "Findings", "Plan"]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=30).map("".join))
def test_generic_header_pattern_finds_what_the_lookbehind_form_finds(nlp, text):
    generic = nlp.get_pipe("cdt_sections")._generic
    expected = [(m.span("h"), m.end()) for m in _GENERIC_LOOKBEHIND.finditer(text)]
    assert [(m.span("h"), m.end()) for m in generic.finditer(text)] == expected


@pytest.mark.parametrize(
    ("text", "copied"),
    [
        (
            "PREVIOUS NOTE 3/2: Pt c/o cold pain #14. Plan: monitor.\n--- copied forward ---\n4/18: Recall, no pain.",
            "PREVIOUS NOTE 3/2: Pt c/o cold pain #14. Plan: monitor.\n",
        ),
        (
            "Prior visit 1/8: US L parotid read by me: 1.1 cm node. [COPIED FORWARD]\n4/9 TODAY: repeat US.",
            "Prior visit 1/8: US L parotid read by me: 1.1 cm node. [COPIED FORWARD]",
        ),
        (
            "Last note: CBCT read, apical lesion #19.\n\nToday: post-op check.",
            "Last note: CBCT read, apical lesion #19.",
        ),
    ],
)
def test_text_copied_forward_from_an_earlier_note_is_one_prior_note_section(nlp, text, copied):
    sections = nlp(text)._.cdt_sections
    prior = [s for s in sections if s.name == "prior_note"]
    assert len(prior) == 1 and text[prior[0].start : prior[0].end] == copied
    # the headers inside the copied text ("Plan:") are not this visit's sections
    assert all(s.start >= prior[0].end or s is prior[0] for s in sections)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("You asked me one thing: is it the gland or a node?", None),
        ("We took a small scan: it shows a 4 mm stone.", None),
        ("It is simple: the joint is worn.", None),
        # a long label is a header unless it reads as a sentence (a verb in it)
        ("Question from the referring dentist: is there a dehiscence?", "Question from the referring dentist"),
        ("Only the anterior mandible is usable: 2 implants at #22/#27.", None),
        ("Reason for scope: recurrent swelling.", "Reason for scope"),
        ("Tech notes: 8x8 FOV.", "Tech notes"),
    ],
)
def test_sentence_before_a_colon_is_not_a_header(nlp, text, label):
    doc = nlp(text)
    headers = [s.header for s in doc._.cdt_sections]
    assert headers == ([label] if label else [])


def test_last_word_matches_the_regex_it_replaces():
    """The word before a stop (checked for abbreviations) is what ``([A-Za-z.]+)$`` finds,
    including where ``$`` matches just before a line break at the window's end."""
    regex = re.compile(r"([A-Za-z.]+)$")
    rng = random.Random(7)
    for _ in range(20_000):
        text = "".join(rng.choice("ab.C \n1;") for _ in range(rng.randint(0, 12)))
        lo = rng.randint(0, len(text))
        hi = rng.randint(lo, len(text))
        m = regex.search(text, lo, hi)
        assert _last_word(text, lo, hi) == (m.group(1) if m else None), (text, lo, hi)


# a run of dictation with no punctuation, longer than spoken_headers' min_chars (300)
_RUN_ON = (
    "patient is a forty year old man with a swollen right floor of mouth for about two weeks that gets worse "
    "with meals and goes down after an hour or so his dentist saw nothing on the pano and sent him over to us "
    "the ultrasound of the right submandibular gland and duct was done here today by me with the linear probe "
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # headers said aloud in unpunctuated dictation start sections
        (
            _RUN_ON + "findings a six millimeter stone in the distal duct in pression sialolith plan refer for scope",
            [("findings", "findings"), ("impression", "in pression"), ("plan", "plan")],
        ),
        # a decimal point ("4.5 by 11") does not end the run
        (
            _RUN_ON + "the stone measures 4.5 by 3 mm in the distal duct in pression sialolith plan refer for scope",
            [("impression", "in pression"), ("plan", "plan")],
        ),
        # after an article or before a verb the word is prose, not a header
        (_RUN_ON + "and the findings were a six millimeter stone in the distal duct so we plan to scope it", []),
        # the same words in a punctuated sentence are prose: only unpunctuated runs are read this way
        (
            "Patient is a forty year old man with a swollen right floor of mouth, two weeks; the ultrasound, "
            "done by me, shows findings a six millimeter stone in the distal duct with impression sialolith "
            "and a plan refer for scope, which he accepted after a long talk about the risks and benefits.",
            [],
        ),
    ],
)
def test_headers_said_in_unpunctuated_dictation(nlp, text, expected):
    doc = nlp(text)
    assert [(s.name, s.header) for s in doc._.cdt_sections] == expected


def test_clause_openers_split_unpunctuated_dictation_into_sentences(nlp):
    doc = nlp(_RUN_ON + "i measured a six millimeter stone there is no duct dilation she will see ent")
    starts = [s.text.split()[0] for s in doc.sents]
    assert starts[0] == "patient" and starts[-3:] == ["i", "there", "she"]


def test_a_spoken_header_standing_for_an_unknown_header_fails_at_load(nlp):
    from cdt_nlp.errors import CdtError
    from cdt_nlp.rules import load_rules

    rules = load_rules("sections.json")
    rules["spoken_headers"]["headers"]["findinx"] = "no such header"
    with pytest.raises(CdtError, match="E014"):
        SectionDetector(nlp).set_rules(rules)


def test_an_audit_trail_entry_stamp_ends_the_field_before_it(nlp):
    from cdt_nlp.checker import prepare_note

    note = (
        "2026-05-11 08:02 reception_ak: pt checked in\n"
        "2026-05-11 08:15 dr_lemaire: CC:\n"
        "2026-05-11 08:40 dr_lemaire: outside CBCT of the lower right read by me: no root fracture seen.\n"
    )
    original, text, index = prepare_note(note)
    assert len(text) == len(original) and index is not None  # same length, quotes from the original
    doc = nlp(text)
    cc = [s for s in doc._.cdt_sections if s.name == "chief_complaint"]
    assert len(cc) == 1 and cc[0].body_status == "empty"
    assert [s.text.split()[0] for s in doc.sents][:3] == ["2026-05-11", "pt", "2026-05-11"]


def test_billing_comments_are_one_section_that_documents_nothing(nlp):
    text = "Impression: stone. [CODER: no reason given - pls add] Plan: scope.\nCODER 6/2: holding claim"
    sections = [(s.name, text[s.start : s.end]) for s in nlp(text)._.cdt_sections]
    assert sections == [
        ("impression", "Impression: stone. "),
        ("billing_note", "[CODER: no reason given - pls add]"),
        ("plan", "Plan: scope."),
        ("billing_note", "CODER 6/2: holding claim"),
    ]


def test_a_capitalised_header_glued_to_the_word_before_it(nlp):
    text = "Volume sent to the OMR, report not yet receivedNecessity: must map the nerve loops."
    assert [(s.name, s.header) for s in nlp(text)._.cdt_sections] == [("rationale", "Necessity")]
    # glued in lower case it is one word, not a header
    sections = nlp("Report not yet receivednecessity: must map the nerve loops.")._.cdt_sections
    assert "rationale" not in [s.name for s in sections]


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("Anamnesis", "history"),
        ("Procedere", "plan"),
        ("Befund", "findings"),
        ("Beurteilung", "impression"),
        # French
        ("Motif de consultation", "chief_complaint"),
        ("Antécédents", "history"),
        ("Résultats", "findings"),
        ("Interprétation", "impression"),
        ("Plan de traitement", "plan"),
    ],
)
def test_headers_of_clinicians_trained_in_german_or_writing_in_french(nlp, header, name):
    assert [s.name for s in nlp(f"{header}: text")._.cdt_sections] == [name]


def test_a_reason_field_opened_mid_line_ends_with_its_first_sentence(nlp):
    text = "cbct both jaws read by me: #14 only 4 mm ht. why cbct: 4 sites, pano distorts ht. sx consult 2wk"
    doc = nlp(text)
    (reason,) = [s for s in doc._.cdt_sections if s.name == "rationale"]
    assert text[reason.body_start : reason.end].strip() == "4 sites, pano distorts ht."
    # at a line start, a reason field keeps its whole line
    doc = nlp("Indication: swelling L parotid. Pano negative.\nUS by me.")
    (reason,) = [s for s in doc._.cdt_sections if s.name == "rationale"]
    assert doc.text[reason.body_start : reason.end].strip() == "swelling L parotid. Pano negative."


def test_a_history_field_after_other_text_on_its_line_ends_with_its_first_sentence(nlp):
    def history(text):
        (hx,) = [s for s in nlp(text)._.cdt_sections if s.name == "history"]
        return text[hx.body_start : hx.end].strip()

    # after a finished sentence, or glued to another field by a lost line break
    assert history("US L SMG done + read. Hx: swelling with meals x3 mo. Duct 3 mm.") == "swelling with meals x3 mo."
    assert history("Pt: A. Ruiz 41F  Visit 03.02.2024Hx: clicking x2 yrs. R condyle flat.") == "clicking x2 yrs."
    # a word of the header itself ("MEDICAL HISTORY:") is not other text: the body keeps its line
    text = "MEDICAL HISTORY: Type 2 diabetes. Hypertension. Benign prostatic hyperplasia.\nALLERGIES: none."
    assert history(text) == "Type 2 diabetes. Hypertension. Benign prostatic hyperplasia."


def test_a_labelled_list_keeps_its_first_number_with_its_item(nlp):
    text = "FINDINGS: ridge 9 mm. IMPRESSION: 1. Adequate bone for implants at #19. 2. No sinus disease."
    sents = [s.text.strip() for s in nlp(text).sents]
    assert "IMPRESSION: 1. Adequate bone for implants at #19." in sents
    # a number after a sentence's end, not a colon, still ends a sentence ("Bone width 6.")
    assert [s.text.strip() for s in nlp("Bone width 6. Height 9 mm.").sents] == ["Bone width 6.", "Height 9 mm."]


def test_charge_lines_of_a_ledger_export_document_nothing(nlp):
    # the fee line's description is the ledger's, not the clinician's: no ultrasound was done here
    text = "  D0370 maxillofacial US capture + interpretation    $255.00   pending\nPost-op check #19, healing well."
    doc = nlp(text)
    assert [(s.name, text[s.start : s.end].strip()) for s in doc._.cdt_sections][0] == (
        "billing_note",
        "D0370 maxillofacial US capture + interpretation    $255.00   pending",
    )
    assert "ultrasound" not in doc._.cdt_facts.performed
    # in an export field, up to the next separator
    doc = nlp("Acct 4471 | D0364 cone beam limited, capture and interp 312.50 | Pt seen for a denture adjustment.")
    assert "cbct" not in doc._.cdt_facts.performed
    # a code in the clinician's own sentence, with a measurement and no fee, is not a charge line
    doc = nlp("D0364 limited CBCT #30 taken today by me: canal 10.25 mm from the crest.")
    assert "cbct" in doc._.cdt_facts.performed


def test_an_empty_header_glued_to_the_next_one(nlp):
    text = "Scan sent out for the read.Findings:Impression:Plan: book surgery."
    sections = [(s.name, s.body_status) for s in nlp(text)._.cdt_sections]
    assert sections[-3:] == [("findings", "empty"), ("impression", "empty"), ("plan", None)]


@pytest.mark.parametrize(
    ("header", "name"),
    [
        # the question the scan was to answer, and what it answered, written as plain-words labels
        ("What we needed to know", "rationale"),
        ("What I wanted to know before the extraction", "rationale"),
        ("What it told us", "impression"),
        ("Ref q", "rationale"),
        ("Question going in", "rationale"),
        ("Scan rationale", "rationale"),
    ],
)
def test_plain_words_question_and_answer_labels(nlp, header, name):
    assert [s.name for s in nlp(f"Note.\n{header}: text")._.cdt_sections][-1:] == [name]


@pytest.mark.parametrize("arrow", ["->", "-->", "=>", "\u2192"])
def test_a_header_followed_by_an_arrow(nlp, arrow):
    sections = [(s.name, s.body_status) for s in nlp(f"Scan done.\nFollow-up {arrow}")._.cdt_sections]
    assert sections == [("plan", "empty")]
    sections = [(s.name, s.body_status) for s in nlp(f"Scan done.\nF/U {arrow} recall in 6 months")._.cdt_sections]
    assert sections == [("plan", None)]


def test_a_template_default_left_unedited_is_an_empty_body(nlp):
    sections = nlp("CBCT read.\nPLAN: [Default text - edit before signing]")._.cdt_sections
    assert [(s.name, s.body_status) for s in sections] == [("plan", "empty")]


def test_a_header_after_a_scribes_time_stamp(nlp):
    sections = nlp("11:02 pt seated.\n11:19 Follow-up: recall in 6 weeks")._.cdt_sections
    assert [(s.name, s.header) for s in sections][-1:] == [("plan", "Follow-up")]


def test_a_capitalised_header_with_a_spaced_colon_mid_line(nlp):
    text = "CBCT ATM bouche fermée et ouverte, voxel 0,2 mm Résultats : condyle droit aplati. Conclusion : arthrose"
    assert [s.name for s in nlp(text)._.cdt_sections] == ["findings", "impression"]
    # a lower-case word before a spaced colon mid-line is not a header
    assert "findings" not in [s.name for s in nlp("CBCT done today and the results : pending")._.cdt_sections]


def test_a_numbered_question_belongs_to_its_own_section_not_the_one_before(nlp):
    text = "Q6 Findings:\nQ7 Interpretation: referring dentist to read\nQ8 Sent: DICOM via portal"
    sections = {s.name: s for s in nlp(text)._.cdt_sections}
    assert "Q7" not in text[sections["findings"].body_start : sections["findings"].end]
    assert sections["findings"].body_status == "empty"
    assert text[sections["impression"].start :].startswith("Q7 Interpretation")
    assert sections["impression"].body_status == "deferred"
