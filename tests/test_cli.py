"""The command line: output formats, exit codes, bad input, and README coverage."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from cdt_nlp.cli import main

from .conftest import ROOT

EXAMPLE = ROOT / "cdt_nlp" / "examples" / "ultrasound_capture_only.txt"


@pytest.fixture()
def runner():
    return CliRunner()


@pytest.mark.parametrize("code", ["D0370", "d0370", "0370"])
def test_cli_check_json_is_the_result_schema(runner, code):
    res = runner.invoke(main, ["check", str(EXAMPLE), "--code", code, "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["code"] == "D0370" and out["missing"] == ["interpretation"]


@pytest.mark.parametrize("code", ["D0370"])
def test_cli_check_text_quotes_evidence_and_fixes(runner, code):
    res = runner.invoke(main, ["check", str(EXAMPLE), "--code", code])
    assert res.exit_code == 0
    assert "score" in res.output and "What to add" in res.output
    assert '"IMPRESSION: interpretation deferred to OMFS radiologist."' in res.output
    assert "\x1b[" not in res.output  # no colour when not a terminal


def test_cli_check_suggests_no_code_when_no_service_is_documented(runner):
    """An extraction note billed as D0364: the suggestion line says no catalog service, never the
    most probable code at a low probability (which a biller could take for the answer)."""
    note = "Ext #30 today under LA, uneventful. CBCT from last month showed roots close to canal. F/u 1 wk."
    res = runner.invoke(main, ["check", "-", "--code", "D0364", "--format", "json"], input=note)
    out = json.loads(res.output)
    assert out["no_service_probability"] > max(s["probability"] for s in out["suggestions"])
    res = runner.invoke(main, ["check", "-", "--code", "D0364"], input=note)
    assert "Suggested code: none (no catalog imaging service documented" in res.output
    res = runner.invoke(main, ["check", str(EXAMPLE), "--code", "D0370"])
    assert "Suggested code: D0386" in res.output  # a documented service still names its code


@pytest.mark.parametrize("text", ["CC: swelling x3 wk. US L SMG done, 4 mm stone. Impression: sialolith. Plan: refer."])
def test_cli_check_reads_stdin(runner, text):
    res = runner.invoke(main, ["check", "-", "--code", "D0370", "--format", "json"], input=text)
    assert res.exit_code == 0
    assert json.loads(res.output)["items"]["findings"]["present"] is True


@pytest.mark.parametrize(("threshold", "exit_code"), [(50, 0), (95, 1)])
def test_cli_fail_under(runner, threshold, exit_code):
    res = runner.invoke(main, ["check", str(EXAMPLE), "--code", "D0370", "--fail-under", str(threshold)])
    assert res.exit_code == exit_code


@pytest.mark.parametrize(
    ("args", "stdin", "fragment"),
    [
        (["check", "-", "--code", "D0370"], "", "empty"),
        (["check", "-", "--code", "D0370"], b"\x00\x01\x02\x00", "binary"),
        (["check", "NOPE.txt", "--code", "D0370"], None, "Cannot read"),
        (["check", str(EXAMPLE), "--code", "d370"], None, "not a CDT code"),
        (["check", str(EXAMPLE), "--code", "D9999"], None, "Unknown code"),
        (["codes", "D9999"], None, "Unknown code"),
    ],
    ids=["empty", "binary", "missing-file", "malformed-code", "unknown-code", "codes-unknown"],
)
def test_cli_bad_input_is_one_line_exit_2(runner, args, stdin, fragment):
    res = runner.invoke(main, args, input=stdin)
    assert res.exit_code == 2
    assert fragment in res.output
    assert "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1


@pytest.mark.parametrize("size", [4_000_001])
def test_cli_huge_note_is_refused(runner, tmp_path, size):
    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * size)
    res = runner.invoke(main, ["check", str(big), "--code", "D0370"])
    assert res.exit_code == 2 and "larger than" in res.output


@pytest.mark.parametrize(
    ("args", "fragment"),
    [(["codes"], "D0395"), (["codes", "D0370"], "Checklist"), (["codes", "--search", "ultrasound"], "D0386")],
)
def test_cli_codes(runner, args, fragment):
    res = runner.invoke(main, args)
    assert res.exit_code == 0 and fragment in res.output


def _one_note_file(tmp_path, text, target, best, absent=()):
    items = {
        i: i not in absent
        for i in ("chief_complaint", "anatomical_region", "findings", "interpretation", "rationale", "follow_up")
    }
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps({"id": "x1", "text": text, "target_code": target, "best_code": best, "items": items}))
    return path


@pytest.mark.parametrize("fmt", ["json"])
def test_cli_evaluate_reports_items(runner, tmp_path, fmt):
    text = "CC: swelling x3 wk. US L SMG: 4 mm stone. Impression: sialolith. Plan: refer."
    path = _one_note_file(tmp_path, text, "D0370", "D0370", absent=("rationale",))
    res = runner.invoke(main, ["evaluate", str(path), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["items"]["notes"] == 1 and set(out["items"]["items"]) >= {"findings", "rationale"}
    assert out["codes"]["notes"] == 1 and 0 <= out["codes"]["top1"] <= 1


@pytest.mark.parametrize("baseline", ["keyword"])
def test_cli_evaluate_baseline(runner, tmp_path, baseline):
    text = "Sialogram R parotid: contrast injected, sialectasis. Impression: sialadenitis."
    path = _one_note_file(tmp_path, text, "D0371", "D0310")
    res = runner.invoke(main, ["evaluate", str(path), "--json", "--baseline", baseline])
    out = json.loads(res.output)
    assert out["baseline"]["name"] == "keyword" and out["baseline"]["top1"] == 1.0
    assert out["baseline"]["mismatch"]["support"] == 1


@pytest.mark.parametrize("line", ['{"id": "x"}', "not json"])
def test_cli_evaluate_bad_file_names_the_line(runner, tmp_path, line):
    path = tmp_path / "bad.jsonl"
    path.write_text(line + "\n")
    res = runner.invoke(main, ["evaluate", str(path)])
    assert res.exit_code == 2 and "line 1" in res.output


def test_cli_every_command_is_documented_in_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in main.commands:
        assert re.search(rf"cdt-nlp {name}\b", readme), f"README does not show `cdt-nlp {name}`"


@pytest.mark.parametrize("name", ["check", "codes", "evaluate", "train"])
def test_cli_every_command_help_has_an_example(runner, name):
    res = runner.invoke(main, [name, "--help"])
    assert res.exit_code == 0 and "Example: cdt-nlp" in res.output
