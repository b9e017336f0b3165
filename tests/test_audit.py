"""Batch audit: formats in and out, order, bad rows, resume, claim rules and the report."""

from __future__ import annotations

import csv
import json
from html.parser import HTMLParser
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook

from cdt_nlp.audit import AuditInputError, AuditOptions, audit
from cdt_nlp.audit.claims import Claim, ClaimRules
from cdt_nlp.cli import main

GOOD = [
    ("n1", "US L submandibular gland done by me: 5 mm stone at the hilum. Impression: sialolithiasis.", "D0370"),
    ("n2", "CBCT limited 5x5 #19 taken and read by me: 3 mm PARL. Imp: apical periodontitis. Plan: RCT.", "D0364"),
    ("n3", "Ext #32 under LA, sutured, post-op instructions given. RTC 1 wk.", "D0367"),
    ("n4", "US R parotid captured by the sonographer; images sent to the radiologist for interpretation.", "D0370"),
    ("n5", "CC: swelling L jaw. CBCT both jaws 16x10 acquired, read by me: large cyst L ramus. Imp: OKC?", "D0367"),
]


def write_csv(path: Path, rows: list[tuple], header=("id", "text", "code")) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def write_input(path: Path, rows: list[tuple]) -> Path:
    fmt = path.suffix
    records = [dict(zip(("id", "text", "code"), r, strict=True)) for r in rows]
    if fmt == ".csv":
        return write_csv(path, rows)
    if fmt == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    elif fmt == ".parquet":
        pq.write_table(pa.Table.from_pylist(records), path)
    elif fmt == ".xlsx":
        wb = Workbook()
        ws = wb.active
        ws.append(["id", "text", "code"])
        for r in rows:
            ws.append(list(r))
        wb.save(path)
    return path


def read_output(path: Path) -> list[dict]:
    fmt = path.suffix
    if fmt == ".jsonl":
        return [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    if fmt == ".csv":
        with path.open(newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))
    if fmt == ".parquet":
        return pq.read_table(path).to_pylist()
    ws = load_workbook(path, read_only=True).worksheets[0]
    it = ws.iter_rows(values_only=True)
    header = next(it)
    return [dict(zip(header, r, strict=True)) for r in it]


def run(tmp_path: Path, rows, out_name="out.jsonl", in_name="in.csv", **opts) -> list[dict]:
    src = write_input(tmp_path / in_name, rows)
    out = tmp_path / out_name
    audit(str(src), str(out), AuditOptions(jobs=opts.pop("jobs", 1), **opts))
    return read_output(out)


@pytest.mark.parametrize("in_fmt", [".csv", ".jsonl", ".parquet", ".xlsx"])
@pytest.mark.parametrize("out_fmt", [".csv", ".jsonl", ".parquet", ".xlsx"])
def test_audit_every_format_in_and_out_keeps_order(tmp_path, in_fmt, out_fmt):
    rows = run(tmp_path, GOOD, out_name="out" + out_fmt, in_name="in" + in_fmt)
    assert [str(r["id"]) for r in rows] == [g[0] for g in GOOD]
    assert [r["status"] for r in rows] == ["ok"] * len(GOOD)
    by_id = {str(r["id"]): r for r in rows}
    if out_fmt == ".jsonl":
        assert by_id["n1"]["items"]["interpretation"]["present"] is True
        assert set(by_id["n1"]) >= {"code", "score", "items", "missing", "fixes", "warnings", "suggestions"}
    else:
        assert by_id["n1"]["item.interpretation"] == "present"
        assert by_id["n4"]["item.interpretation"] == "missing"
        assert by_id["n3"]["suggested_code"] not in ("D0367",)


def test_audit_flat_output_has_the_documented_columns(tmp_path):
    rows = run(tmp_path, GOOD, out_name="out.csv")
    for col in ("row", "id", "status", "error", "code", "score", "missing", "suggested_code", "suggested_probability"):
        assert col in rows[0]
    assert "item.findings" in rows[0] and "item.findings.reason" in rows[0]
    assert rows[3]["missing"] and "interpretation" in rows[3]["missing"]


def test_audit_same_result_with_several_processes(tmp_path):
    many = [(f"r{i}", GOOD[i % len(GOOD)][1], GOOD[i % len(GOOD)][2]) for i in range(40)]
    one = run(tmp_path, many, out_name="one.jsonl", chunk_size=3)
    two = run(tmp_path, many, out_name="two.jsonl", jobs=2, chunk_size=3)
    assert one == two
    assert [r["row"] for r in two] == list(range(40))


def test_audit_quotes_exported_text_as_given(tmp_path):
    from cdt_nlp import Checker

    text = "CC: lump that doesn&#39;t go\r\nUS R parotid taken &amp; read by me: 9 mm hypoechoic mass. Imp: adenoma?"
    (row,) = run(tmp_path, [("x1", text, "D0370")], in_name="in.jsonl")
    assert row["status"] == "ok"
    assert row["items"] == Checker().check(text, code="D0370").to_dict()["items"]
    for item in row["items"].values():
        for ev in item["evidence"]:
            assert text[ev["start"] : ev["end"]] == ev["text"]


def test_audit_every_bad_row_is_an_error_row_and_the_batch_goes_on(tmp_path):
    src = tmp_path / "bad.csv"
    big = "CBCT read by me. " * (10 * 1024 * 1024 // 17 + 1)  # a 10 MB note
    with src.open("wb") as fh:
        fh.write(b"id,text,code\n")
        fh.write(b'ok1,"' + GOOD[0][1].encode() + b'",D0370\n')
        fh.write(b'empty,"",D0370\n')
        fh.write(b'blank,"   ",D0370\n')
        fh.write(b'unknown,"' + GOOD[1][1].encode() + b'",D9999\n')
        fh.write(b'nocode,"' + GOOD[1][1].encode() + b'",\n')
        fh.write(b'bytes,"US done \x81\x8d\x90 read by me",D0370\n')
        fh.write(b"ragged,only two\n")
        fh.write(b'huge,"' + big.encode() + b'",D0364\n')
        fh.write(b'binary,"\x00\x01\x02\x03\x00\x00",D0364\n')
        fh.write(b'ok2,"' + GOOD[1][1].encode() + b'",D0364\n')
    out = tmp_path / "out.jsonl"
    summary = audit(str(src), str(out), AuditOptions(jobs=1))
    rows = read_output(out)
    ids = ["ok1", "empty", "blank", "unknown", "nocode", "bytes", "ragged", "huge", "binary", "ok2"]
    assert [r["id"] for r in rows] == ids
    status = {r["id"]: (r["status"], r["error"] or "") for r in rows}
    assert status["ok1"][0] == status["ok2"][0] == "ok"
    assert status["empty"][1].startswith("E001") and status["blank"][1].startswith("E001")
    assert status["unknown"][1].startswith("E005") and "D9999" in status["unknown"][1]
    assert status["nocode"][1].startswith("E005")
    assert status["bytes"][1].startswith("E003")
    assert "has 2 fields" in status["ragged"][1]
    assert status["huge"][1].startswith("E004")
    assert status["binary"][1].startswith("E002")
    assert summary.rows == 10 and summary.errors == 8 and summary.ok == 2


def test_audit_a_quote_left_open_does_not_swallow_the_rows_after_it(tmp_path):
    """A stray opening quote makes the CSV parser read the next lines as one field; only its own
    line is the bad row, the lines after it are audited as rows of their own, and a quoted note
    spanning several lines is still one row."""
    src = tmp_path / "stray.csv"
    multi = "CC: swelling L SMG x3 mo.\nUS L SMG performed and read by me: 4 mm stone.\nImpression: sialolith."
    plain = GOOD[1][1].replace(",", " ")  # a row without quotes
    with src.open("w", encoding="utf-8", newline="") as fh:
        fh.write("id,text,code\n")
        fh.write(f'a,"{GOOD[0][1]}",D0370\n')
        fh.write('b,"export cut the closing quote,D0370\n')
        fh.write(f"c,{plain},D0364\n")
        fh.write(f'd,"{multi}",D0370\n')
        fh.write(f"e,{plain},D0364\n")
    out = tmp_path / "out.jsonl"
    summary = audit(str(src), str(out), AuditOptions(jobs=1))
    rows = read_output(out)
    assert [r["id"] for r in rows] == ["a", "b", "c", "d", "e"]
    assert [r["status"] for r in rows] == ["ok", "error", "ok", "ok", "ok"]
    assert "CSV line 3" in rows[1]["error"] and "quote that is never closed" in rows[1]["error"]
    assert summary.rows == 5


def test_audit_a_stray_quote_closed_by_a_later_row_does_not_merge_the_rows(tmp_path):
    """'2,"bad ""quote,D0370' leaves a quote open that the next row's quoted text closes, with the
    right number of fields: the rows must not merge into one; a real multi-line note whose lines
    hold commas stays one row."""
    src = tmp_path / "merged.csv"
    note = "CC: swelling, pain x3 mo.\nUS L SMG by me, read: 4 mm stone, hilum.\nImpression: sialolith."
    with src.open("w", encoding="utf-8", newline="") as fh:
        fh.write("id,text,code\n")
        fh.write('a,"bad ""quote,D0370\n')
        fh.write(f'b,"{GOOD[1][1]}",D0364\n')
        fh.write(f'c,"{note}",D0370\n')
    out = tmp_path / "out.jsonl"
    audit(str(src), str(out), AuditOptions(jobs=1))
    rows = read_output(out)
    assert [r["id"] for r in rows] == ["a", "b", "c"]
    assert [r["status"] for r in rows] == ["error", "ok", "ok"]
    assert "quote that is never closed" in rows[0]["error"]


def test_audit_bad_jsonl_lines_are_error_rows(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_bytes(
        json.dumps({"id": "a", "text": GOOD[0][1], "code": "D0370"}).encode()
        + b"\n{not json\n[1, 2]\n\xff\xfe\n"
        + json.dumps({"id": "b", "code": "D0370"}).encode()
        + b"\n"
        + json.dumps({"id": "c", "text": GOOD[1][1], "code": "D0364"}).encode()
        + b"\n"
    )
    out = tmp_path / "out.jsonl"
    audit(str(src), str(out), AuditOptions(jobs=1))
    rows = read_output(out)
    assert [r["status"] for r in rows] == ["ok", "error", "error", "error", "error", "ok"]
    assert "not valid JSON" in rows[1]["error"] and "not a JSON object" in rows[2]["error"]
    assert "UTF-8" in rows[3]["error"] and "no 'text' field" in rows[4]["error"]


def test_audit_missing_column_is_an_error_before_any_work(tmp_path):
    src = write_csv(tmp_path / "in.csv", GOOD, header=("id", "body", "code"))
    out = tmp_path / "out.csv"
    with pytest.raises(AuditInputError, match="'text' \\(--text-col\\) not found"):
        audit(str(src), str(out), AuditOptions(jobs=1))
    assert not out.exists() and not Path(str(out) + ".part").exists()


def test_audit_cli_missing_column_and_unknown_format_exit_2(tmp_path):
    src = write_csv(tmp_path / "in.csv", GOOD)
    runner = CliRunner()
    res = runner.invoke(main, ["audit", str(src), "-o", str(tmp_path / "o.csv"), "--patient-col", "mrn"])
    assert res.exit_code == 2 and "'mrn' (--patient-col) not found" in res.output
    res = runner.invoke(main, ["audit", str(src), "-o", str(tmp_path / "o.txt")])
    assert res.exit_code == 2 and "extension" in res.output


def test_audit_stdin_to_stdout_jsonl(tmp_path):
    data = "".join(json.dumps({"id": i, "text": t, "code": c}) + "\n" for i, t, c in GOOD).encode()
    res = CliRunner().invoke(main, ["audit", "-", "-o", "-", "-j", "1", "-q"], input=data)
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["id"] for r in rows] == [g[0] for g in GOOD]


def test_audit_fail_under_sets_the_exit_status(tmp_path):
    src = write_csv(tmp_path / "in.csv", GOOD)
    runner = CliRunner()
    low = runner.invoke(main, ["audit", str(src), "-o", str(tmp_path / "a.csv"), "-j", "1", "--fail-under", "99"])
    high = runner.invoke(main, ["audit", str(src), "-o", str(tmp_path / "b.csv"), "-j", "1", "--fail-under", "0"])
    assert low.exit_code == 1 and high.exit_code == 0


class _Interrupt:
    """A progress bar that interrupts the run after ``after`` chunks, like Ctrl-C."""

    def __init__(self, after: int) -> None:
        self.after = after

    def __call__(self, total):
        return self

    def update(self, n):
        self.after -= 1
        if self.after < 0:
            raise KeyboardInterrupt

    def close(self):
        pass


@pytest.mark.parametrize("out_name", ["out.jsonl", "out.csv"])
def test_audit_resume_after_interruption_repeats_and_skips_nothing(tmp_path, out_name):
    many = [(f"r{i}", GOOD[i % len(GOOD)][1], GOOD[i % len(GOOD)][2]) for i in range(23)]
    src = write_csv(tmp_path / "in.csv", many)
    clean = tmp_path / ("clean" + Path(out_name).suffix)
    audit(str(src), str(clean), AuditOptions(jobs=1, chunk_size=4))
    out = tmp_path / out_name
    with pytest.raises(KeyboardInterrupt):
        audit(str(src), str(out), AuditOptions(jobs=1, chunk_size=4), progress=_Interrupt(after=2))
    assert not out.exists(), "an interrupted run must not leave a file that looks finished"
    part = Path(str(out) + ".part")
    assert part.exists()
    with part.open("ab") as fh:  # a row cut off mid-write
        fh.write(b'{"row": 99, "id": "half')
    summary = audit(str(src), str(out), AuditOptions(jobs=1, chunk_size=4, resume=True))
    assert summary.resumed_rows > 0
    assert read_output(out) == read_output(clean)
    assert not part.exists()


def test_audit_resume_refuses_a_changed_input(tmp_path):
    src = write_csv(tmp_path / "in.csv", GOOD * 3)
    out = tmp_path / "out.jsonl"
    with pytest.raises(KeyboardInterrupt):
        audit(str(src), str(out), AuditOptions(jobs=1, chunk_size=2), progress=_Interrupt(after=1))
    write_csv(src, GOOD * 4)
    with pytest.raises(AuditInputError, match="different or changed input"):
        audit(str(src), str(out), AuditOptions(jobs=1, chunk_size=2, resume=True))


# -- claim rules ------------------------------------------------------------------------------------
def claims(*rows) -> dict[int, list[str]]:
    items = [Claim(row=i, id=f"c{i}", code=c, patient=p, date=d, provider=v) for i, (c, p, d, v) in enumerate(rows)]
    return {k: [w["rule"] for w in ws] for k, ws in ClaimRules().warnings(items).items()}


def test_claim_frequency_window():
    hit = claims(("D0367", "p1", "2026-01-05", "Dr A"), ("D0367", "p1", "2026-06-01", "Dr A"))
    assert hit == {1: ["frequency"]}
    assert claims(("D0367", "p1", "2025-01-05", "Dr A"), ("D0367", "p1", "2026-06-01", "Dr A")) == {}
    assert claims(("D0367", "p1", "2026-01-05", "Dr A"), ("D0367", "p2", "2026-02-01", "Dr A")) == {}
    short = ClaimRules(frequency_days={"D0367": 30}).warnings(
        [Claim(0, "a", "D0367", "p1", "2026-01-05"), Claim(1, "b", "D0367", "p1", "2026-03-01")]
    )
    assert short == {}


def test_claim_d0393_once_per_day():
    assert claims(("D0393", "p1", "2026-03-01", "Dr A"), ("D0393", "p1", "2026-03-01", "Dr B")) == {1: ["once_per_day"]}
    assert claims(("D0393", "p1", "2026-03-01", "Dr A"), ("D0393", "p2", "2026-03-01", "Dr A")) == {}


def test_claim_fusion_needs_a_3d_acquisition():
    assert claims(("D0395", "p1", "2026-03-01", "Dr A")) == {0: ["fusion_without_acquisition"]}
    assert claims(("D0380", "p1", "2026-02-20", "Dr A"), ("D0395", "p1", "2026-03-01", "Dr A")) == {}
    assert claims(("D0369", "p1", "2026-03-01", "Dr A"), ("D0395", "p1", "2026-03-01", "Dr A")) == {}
    assert claims(("D0370", "p1", "2026-02-20", "Dr A"), ("D0395", "p1", "2026-03-01", "Dr A")) == {
        1: ["fusion_without_acquisition"]
    }


def test_claim_independent_read_with_a_combined_code():
    assert claims(("D0367", "p1", "2026-03-01", "Dr A"), ("D0391", "p1", "2026-03-01", "Dr A")) == {
        1: ["read_with_combined"]
    }
    assert claims(("D0383", "p1", "2026-03-01", "Dr A"), ("D0391", "p1", "2026-03-01", "Dr A")) == {}
    assert claims(("D0367", "p1", "2026-03-01", "Dr A"), ("D0391", "p1", "2026-03-01", "Dr B")) == {}


def test_claim_interpretation_under_a_hygienist_or_assistant():
    assert claims(("D0370", None, None, "Kim Hollins, RDH")) == {0: ["interpretation_by_auxiliary"]}
    assert claims(("D0391", None, None, "Sam Ortiz DA")) == {0: ["interpretation_by_auxiliary"]}
    assert claims(("D0386", None, None, "Kim Hollins, RDH")) == {}  # capture only: no interpretation
    assert claims(("D0370", None, None, "Dr. Maria Da Silva")) == {}
    role = ClaimRules().warnings([Claim(0, "a", "D0364", provider="K. Hollins", role="Hygienist")])
    assert [w["rule"] for w in role[0]] == ["interpretation_by_auxiliary"]


def test_claim_unreadable_date_is_said_not_guessed():
    assert claims(("D0367", "p1", "31st of Smarch", "Dr A")) == {0: ["bad_date"]}


def test_claim_rules_run_end_to_end_from_columns(tmp_path):
    rows = [
        ("a", GOOD[4][1], "D0367", "p1", "01/05/2026", "Dr. Ann Lee, DDS"),
        ("b", GOOD[4][1], "D0367", "p1", "2026-02-01", "Dr. Ann Lee, DDS"),
        ("c", GOOD[0][1], "D0370", "p2", "2026-02-01", "Kim Hollins, RDH"),
    ]
    src = write_csv(tmp_path / "in.csv", rows, header=("id", "text", "code", "mrn", "dos", "prov"))
    out = tmp_path / "out.csv"
    opts = AuditOptions(jobs=1, patient_col="mrn", date_col="dos", provider_col="prov")
    summary = audit(str(src), str(out), opts)
    got = read_output(out)
    assert [r["patient"] for r in got] == ["p1", "p1", "p2"]
    assert got[0]["claim_warnings"] == ""
    assert "frequency window" in got[1]["claim_warnings"] and "hygienist" in got[2]["claim_warnings"]
    assert summary.claim_warnings == 2


# -- report -------------------------------------------------------------------------------------------
class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.tags: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.ids.update(v for k, v in attrs if k == "id" and v)


def test_audit_report_opens_and_has_its_sections_without_note_text(tmp_path):
    rows = [*GOOD, ("bad", "", "D0370")]
    src = write_csv(tmp_path / "in.csv", rows)
    report = tmp_path / "report.html"
    res = CliRunner().invoke(
        main, ["audit", str(src), "-o", str(tmp_path / "o.csv"), "-j", "1", "-q", "--report", str(report)]
    )
    assert res.exit_code == 0, res.output
    html = report.read_text("utf-8")
    parser = _Ids()
    parser.feed(html)
    assert {"totals", "scores", "missing", "mismatches", "claims", "lowest", "errors"} <= parser.ids
    assert "svg" in parser.tags and "script" not in parser.tags
    assert GOOD[3][1] not in html and "sonographer" not in html
    # the extraction note billed as D0367 is listed as documenting no catalog service, not as the
    # code the model ranks first among improbable ones
    assert "none of the catalog&#x27;s services" in html or "none of the catalog's services" in html
    with_text = tmp_path / "with_text.html"
    CliRunner().invoke(
        main,
        ["audit", str(src), "-o", str(tmp_path / "p.csv"), "-j", "1", "-q", "--report", str(with_text)]
        + ["--include-text"],
    )
    assert "sonographer" in with_text.read_text("utf-8")


def test_audit_frame_matches_the_file_engine(tmp_path):
    import pandas as pd

    from cdt_nlp import audit_frame

    df = pd.DataFrame(
        {
            "id": [g[0] for g in GOOD] + ["bad"],
            "text": [g[1] for g in GOOD] + [""],
            "code": [g[2] for g in GOOD] + ["X"],
        }
    )
    frame = audit_frame(df, id_col="id")
    assert list(frame["id"]) == list(df["id"]) and list(frame.index) == list(df.index)
    files = run(tmp_path, [tuple(r) for r in df.itertuples(index=False)], out_name="out.parquet")
    plain = frame.astype(object).where(frame.notna(), None)  # pandas shows a missing score as NaN
    assert plain.to_dict("records") == [{k: r[k] for k in frame.columns} for r in files]
    with pytest.raises(KeyError, match="'note'"):
        audit_frame(df, text_col="note")
