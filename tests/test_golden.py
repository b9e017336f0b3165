"""Golden notes: the full JSON result of hand-written notes, reviewed once and frozen.

When a rule change alters one of these on purpose, review the new output and update the file
(``tests/data/golden/<name>.json``) in the same commit.
"""

from __future__ import annotations

import json

import pytest

from .conftest import DATA

GOLDEN = sorted((DATA / "golden").glob("*.json"))
#: golden notes the checker is known to get wrong today (name -> why); keep this list short
KNOWN_FAILURES: dict[str, str] = {}


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_golden_note_result(checker, path):
    if path.stem in KNOWN_FAILURES:
        pytest.xfail(KNOWN_FAILURES[path.stem])
    case = json.loads(path.read_text(encoding="utf-8"))
    assert checker.check(case["note"], code=case["code"]).to_dict() == case["expected"]


def test_golden_set_is_not_empty():
    assert len(GOLDEN) >= 5
