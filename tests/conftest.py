"""Shared fixtures: one pipeline and one checker for the whole session (building them is the slow part)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cdt_nlp import Checker, load

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="session")
def nlp():
    return load()


@pytest.fixture(scope="session")
def checker(nlp):
    """The checklist checker alone (no code suggester), so its tests do not depend on a trained model."""
    return Checker(nlp=nlp, suggester=None)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
