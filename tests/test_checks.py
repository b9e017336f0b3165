"""Code-specific checks, each with a note that passes and a note that fails."""

from __future__ import annotations

import pytest

CASES = [
    # (id, code, check, passes, note, message fragment when it fails)
    (
        "ci-pass",
        "D0370",
        "capture_and_interpretation",
        True,
        "US R parotid performed by me. 1.5 cm hypoechoic mass. IMPRESSION: pleomorphic adenoma likely.",
        None,
    ),
    (
        "ci-fail",
        "D0370",
        "capture_and_interpretation",
        False,
        "US R parotid captured. Images sent to OMFR for interpretation.",
        "D0386",
    ),
    (
        "co-pass",
        "D0386",
        "capture_only",
        True,
        "US R parotid captured, 12 images saved. Images sent to OMFR for interpretation.",
        None,
    ),
    (
        "co-fail",
        "D0386",
        "capture_only",
        False,
        "US R parotid performed. 1.5 cm hypoechoic mass. IMPRESSION: consistent with pleomorphic adenoma.",
        "D0370",
    ),
    (
        "fov-pass",
        "D0364",
        "cbct_field_of_view",
        True,
        "Limited FOV CBCT 5x5 cm #30 taken and read: apical radiolucency. Impression: apical periodontitis.",
        None,
    ),
    (
        "fov-mismatch",
        "D0367",
        "cbct_field_of_view",
        False,
        "Limited FOV CBCT 5x5 cm #30 taken and read: apical radiolucency. Impression: apical periodontitis.",
        "D0364",
    ),
    (
        "fov-missing",
        "D0365",
        "cbct_field_of_view",
        False,
        "CBCT taken and read: apical radiolucency #30. Impression: apical periodontitis.",
        "field of view",
    ),
    (
        "reader-pass",
        "D0391",
        "independent_reader",
        True,
        "Second opinion: outside CBCT from Dr. Lee's office reviewed. FINDINGS: 6 mm radiolucency #8. "
        "IMPRESSION: nasopalatine duct cyst. Written report sent to Dr. Lee.",
        None,
    ),
    (
        "reader-own-capture",
        "D0391",
        "independent_reader",
        False,
        "CBCT captured here today. FINDINGS: 6 mm radiolucency #8. IMPRESSION: nasopalatine duct cyst.",
        "taken here",
    ),
    (
        "scope-pass",
        "D0371",
        "sialoendoscopy_gland_and_result",
        True,
        "Sialendoscopy L Wharton's duct: scope advanced, 3 mm stone seen and retrieved with basket.",
        None,
    ),
    (
        "scope-no-gland",
        "D0371",
        "sialoendoscopy_gland_and_result",
        False,
        "Sialendoscopy performed: scope advanced, 3 mm stone seen and retrieved.",
        "gland or duct",
    ),
    (
        "contrast-pass",
        "D0310",
        "contrast_injection",
        True,
        "Sialogram R parotid: Stensen's duct cannulated, 1 mL contrast injected; sialectasis seen.",
        None,
    ),
    ("contrast-fail", "D0310", "contrast_injection", False, "Sialogram R parotid: sialectasis seen.", "contrast"),
    (
        "sim-pass",
        "D0393",
        "simulation_purpose_and_result",
        True,
        "Implant simulation #19 on CBCT volume from 4/2 to check clearance from the canal. Virtual 4.8 x 11.5 mm "
        "implant apex 1.1 mm from IAN canal. Plan changed to 4.3 x 10 mm implant.",
        None,
    ),
    (
        "sim-no-plan",
        "D0393",
        "simulation_purpose_and_result",
        False,
        "Implant simulation #19 on CBCT volume from 4/2 to check clearance from the canal. Virtual 4.8 x 11.5 mm "
        "implant apex 1.1 mm from IAN canal.",
        "changed or confirmed",
    ),
    (
        "sub-pass",
        "D0394",
        "subtraction_same_modality",
        True,
        "Digital subtraction of baseline and 12-month follow-up PAs of #30: density gain in the defect.",
        None,
    ),
    (
        "sub-fail",
        "D0394",
        "subtraction_same_modality",
        False,
        "CBCT #30 read: density gain in the defect.",
        "same modality",
    ),
    (
        "fusion-pass",
        "D0395",
        "fusion_volumes",
        True,
        "CBCT and intraoral scan fused because crown scatter obscured the teeth on the CBCT alone. "
        "Fused image: implant path 15 degrees lingual.",
        None,
    ),
    (
        "ci-film-capture-is-no-cbct-capture",
        "D0364",
        "capture_and_interpretation",
        False,
        "Hygiene visit. Prophy, OHI. BWs x4 taken: no caries. Next recall 6 mo.",
        "does not record that this imaging was done",
    ),
    (
        "ci-cancelled-appointment-is-no-capture",
        "D0367",
        "capture_and_interpretation",
        False,
        "Pt cancelled CBCT appt today (sick). Rebook next week.",
        "does not record that this imaging was done",
    ),
    (
        "fov-not-asked-when-nothing-was-captured",
        "D0367",
        "cbct_field_of_view",
        True,
        "Pt cancelled CBCT appt today (sick). Rebook next week.",
        None,
    ),
    (
        "fusion-one-volume",
        "D0395",
        "fusion_volumes",
        False,
        "CBCT volume fused and reviewed because crown scatter obscured the teeth. "
        "Fused image: implant path 15 degrees.",
        "names 1",
    ),
]


@pytest.mark.parametrize(("cid", "code", "check", "passes", "note", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_checks_case(checker, cid, code, check, passes, note, fragment):
    result = checker.check(note, code=code)
    failed = [w for w in result.warnings if w.check == check]
    assert (not failed) is passes
    if fragment:
        assert any(fragment in w.message for w in failed)


@pytest.mark.parametrize("check", sorted({c[2] for c in CASES}))
def test_checks_every_check_has_both_outcomes(check):
    assert {c[3] for c in CASES if c[2] == check} == {True, False}
