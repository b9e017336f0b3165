"""The Dask engine on a local cluster of two worker processes: same rows as the local engine,
partitioned input and output, claim rules across partitions, a killed worker, clear errors."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from distributed import Client, LocalCluster

from cdt_nlp.audit import AuditInputError, AuditOptions, audit
from cdt_nlp.audit.dask_engine import audit_dask

ROOT = Path(__file__).resolve().parent.parent
DEV = [json.loads(line) for line in (ROOT / "corpus" / "dev.jsonl").read_text("utf-8").splitlines()]


@pytest.fixture(scope="module")
def cluster():
    import logging

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
        ) as lc,
        Client(lc) as client,
    ):
        yield lc, client


def write_parts(folder: Path, parts: int, per: int, start: int = 0, patient=lambda i: f"P{i % 7}") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    k = start
    for p in range(parts):
        path = folder / f"p{p:02d}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for _ in range(per):
                n = DEV[k % len(DEV)]
                text = "" if k % 9 == 4 else n["text"]  # some bad rows
                code = "D9999" if k % 11 == 6 else (n["target_code"] or "D0364")
                fh.write(
                    json.dumps(
                        {
                            "id": f"{n['id']}-{k}",
                            "text": text,
                            "code": code,
                            "patient": patient(k),
                            "date": f"2026-{1 + k % 9:02d}-{1 + k % 27:02d}",
                            "provider": "Dr A",
                        }
                    )
                    + "\n"
                )
                k += 1
        paths.append(path)
    return paths


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def test_dask_single_file_equals_the_local_engine_row_for_row(tmp_path, cluster):
    (src,) = write_parts(tmp_path / "in", 1, 25)
    opts = AuditOptions(jobs=1, patient_col="patient", date_col="date", provider_col="provider")
    audit(str(src), str(tmp_path / "local.jsonl"), opts)
    audit_dask(str(src), str(tmp_path / "dask.jsonl"), opts, scheduler=cluster[0].scheduler_address)
    local, remote = read_jsonl(tmp_path / "local.jsonl"), read_jsonl(tmp_path / "dask.jsonl")
    assert remote == local
    assert {r["status"] for r in local} == {"ok", "error"} and any(r["claim_warnings"] for r in local)


def test_dask_partitioned_input_gives_one_output_partition_each(tmp_path, cluster):
    parts = write_parts(tmp_path / "in", 3, 8)
    out = tmp_path / "out"
    summary = audit_dask(str(tmp_path / "in"), str(out), AuditOptions(), scheduler=cluster[0].scheduler_address)
    files = sorted(out.iterdir())
    assert [f.name for f in files] == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    for src, dst in zip(parts, files, strict=True):
        audit(str(src), str(tmp_path / "one.parquet"), AuditOptions(jobs=1))
        assert pq.read_table(dst).to_pylist() == pq.read_table(tmp_path / "one.parquet").to_pylist()
    assert summary.rows == 24
    assert not list(out.glob("*.part"))
    # each of the two workers reports its peak memory (a loaded pipeline is well over 50 MB)
    assert len(summary.worker_peak_mb) == 2 and all(mb > 50 for mb in summary.worker_peak_mb.values())


def test_dask_claim_rules_look_across_partitions(tmp_path, cluster):
    folder = tmp_path / "in"
    folder.mkdir()
    rows = [
        ("a", "PT-1", "2026-01-05", "D0367"),
        ("b", "PT-1", "2026-03-01", "D0367"),  # same patient and code 55 days later: frequency
        ("c", "PT-2", "2026-01-05", "D0367"),
        ("d", "PT-3", "2026-03-01", "D0367"),  # another patient: no warning
    ]
    for i, (rid, pt, day, code) in enumerate(rows):
        (folder / f"p{i}.jsonl").write_text(
            json.dumps({"id": rid, "text": DEV[0]["text"], "code": code, "patient": pt, "date": day}) + "\n"
        )
    out = tmp_path / "out"
    opts = AuditOptions(patient_col="patient", date_col="date")
    audit_dask(str(folder), str(out), opts, scheduler=cluster[0].scheduler_address)
    got = {r["id"]: r["claim_warnings"] for f in sorted(out.iterdir()) for r in pq.read_table(f).to_pylist()}
    assert "frequency window" in got["b"]
    assert got["a"] == got["c"] == got["d"] == ""


def test_dask_resume_skips_finished_partitions(tmp_path, cluster):
    write_parts(tmp_path / "in", 2, 4)
    out = tmp_path / "out"
    address = cluster[0].scheduler_address
    audit_dask(str(tmp_path / "in"), str(out), AuditOptions(), scheduler=address)
    first = out / "part-00000.parquet"
    stamp = first.stat().st_mtime_ns
    (out / "part-00001.parquet").unlink()
    summary = audit_dask(str(tmp_path / "in"), str(out), AuditOptions(resume=True), scheduler=address)
    assert first.stat().st_mtime_ns == stamp and (out / "part-00001.parquet").exists()
    assert summary.rows == 4


def test_dask_killed_worker_loses_and_duplicates_nothing(tmp_path, cluster):
    lc, client = cluster
    parts = write_parts(tmp_path / "in", 8, 12)
    out = tmp_path / "out"
    result: dict = {}

    def run():
        result["summary"] = audit_dask(str(tmp_path / "in"), str(out), AuditOptions(), scheduler=lc.scheduler_address)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.time() + 60
    while not list(out.glob("part-*.parquet")) and time.time() < deadline:
        time.sleep(0.1)
    pids = list(client.run(os.getpid).values())
    os.kill(pids[0], signal.SIGKILL)  # a worker dies mid-audit; the nanny restarts it, Dask re-runs its tasks
    thread.join(180)
    assert not thread.is_alive() and "summary" in result
    rows = [r for f in sorted(out.glob("part-*.parquet")) for r in pq.read_table(f).to_pylist()]
    expected = [json.loads(line)["id"] for p in parts for line in p.read_text("utf-8").splitlines()]
    assert [r["id"] for r in rows] == expected


def test_dask_clear_errors(tmp_path, monkeypatch):
    (src,) = write_parts(tmp_path / "in", 1, 2)
    with pytest.raises(AuditInputError, match="Cannot reach the Dask scheduler"):
        audit_dask(str(src), str(tmp_path / "o.jsonl"), AuditOptions(), scheduler="tcp://127.0.0.1:9")
    with pytest.raises(AuditInputError, match="No .parquet"):
        audit_dask(str(tmp_path / "nothing"), str(tmp_path / "o"), AuditOptions())
    monkeypatch.setitem(sys.modules, "dask", None)
    with pytest.raises(AuditInputError, match=r"pip install 'cdt-nlp\[dask\]'"):
        audit_dask(str(src), str(tmp_path / "o.jsonl"), AuditOptions())
