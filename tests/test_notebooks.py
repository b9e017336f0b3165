"""Every reviewer notebook runs top to bottom on a fresh clone (CI executes them here)."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_there_are_three_notebooks():
    assert [p.name for p in NOTEBOOKS] == ["01_corpus.ipynb", "02_accuracy.ipynb", "03_audit_walkthrough.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path):
    book = nbformat.read(path, as_version=4)
    NotebookClient(
        book, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    errors = [o for c in book.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_with_outputs_and_public_imports_only(path):
    book = nbformat.read(path, as_version=4)
    code = [c for c in book.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code), "run `make notebooks` before committing"
    source = "\n".join(c.source for c in code)
    assert "cdt_nlp._" not in source and "from cdt_nlp.components" not in source
    charts = sum(1 for c in code if "plt." in c.source or ".plot" in c.source)
    titled = sum(1 for c in code if ("plt." in c.source or ".plot" in c.source) and "set_title" in c.source)
    labelled = sum(1 for c in code if "set_xlabel" in c.source and "set_ylabel" in c.source)
    assert charts == titled <= labelled
    assert json.dumps(book.nbformat)  # a valid notebook
