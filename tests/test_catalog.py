"""The code catalog: all 23 imaging codes, well-formed entries, code normalisation, search."""

from __future__ import annotations

import pytest

from cdt_nlp import Catalog, CdtError
from cdt_nlp.catalog import ITEMS
from cdt_nlp.checks import CHECKS

CODES = [
    "D0310",
    "D0320",
    "D0321",
    "D0322",
    "D0364",
    "D0365",
    "D0366",
    "D0367",
    "D0368",
    "D0369",
    "D0370",
    "D0371",
    "D0380",
    "D0381",
    "D0382",
    "D0383",
    "D0384",
    "D0385",
    "D0386",
    "D0391",
    "D0393",
    "D0394",
    "D0395",
]


def test_catalog_has_exactly_the_annotation_codes():
    assert [c.code for c in Catalog.default()] == CODES


@pytest.mark.parametrize("code", CODES)
def test_catalog_entry_is_complete(code):
    info = Catalog.default().get(code)
    assert info.name and info.description and info.image_noun
    assert set(info.checklist) <= set(ITEMS) and info.checklist
    assert all(w > 0 for w in info.checklist.values())
    assert all(check in CHECKS for check in info.checks)
    assert info.confusables and all(c.code in CODES and c.question.endswith("?") for c in info.confusables)
    if info.modality == "cbct":
        assert info.field_of_view in {"limited", "mandible", "maxilla", "both_jaws", "tmj"}


@pytest.mark.parametrize("code", ["D0380", "D0381", "D0382", "D0383", "D0384", "D0385", "D0386"])
def test_catalog_capture_only_codes_do_not_require_interpretation(code):
    assert "interpretation" not in Catalog.default().get(code).checklist


@pytest.mark.parametrize(
    ("raw", "norm"), [("D0370", "D0370"), ("d0370", "D0370"), ("0370", "D0370"), (" D0386 ", "D0386")]
)
def test_catalog_normalises_codes(raw, norm):
    assert Catalog.default().get(raw).code == norm


@pytest.mark.parametrize(
    ("raw", "message"),
    [("d370", "not a CDT code"), ("D9999", "Unknown code"), ("banana", "not a CDT code"), ("D0120", "Unknown code")],
)
def test_catalog_rejects_bad_codes(raw, message):
    with pytest.raises(CdtError, match=message):
        Catalog.default().get(raw)


@pytest.mark.parametrize(("query", "expected"), [("ultrasound", {"D0370", "D0386"}), ("fusion", {"D0395"})])
def test_catalog_search_by_words(query, expected):
    assert expected <= {c.code for c in Catalog.default().search(query)}


@pytest.mark.parametrize(
    ("code", "component", "sibling"),
    [
        ("D0370", "capture_only", "D0386"),
        ("D0364", "capture_only", "D0380"),
        ("D0385", "capture_and_interpretation", "D0369"),
    ],
)
def test_catalog_sibling_codes(code, component, sibling):
    catalog = Catalog.default()
    assert catalog.sibling(catalog.get(code), component).code == sibling
