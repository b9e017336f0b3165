"""The Dask engine: the same audit on a ``dask.distributed`` cluster, one task per input partition.

Each task reads its own partition on a worker, checks it with the worker's pipeline and
verified model (loaded once per worker process) and writes its output partition atomically
(``part-00000.parquet.tmp`` renamed when complete), so only counts travel back to the client,
a task that re-runs after a lost worker rewrites the same file, and ``--resume`` skips the
partitions that are done. Claim rules look across partitions: the claim columns are shuffled
by patient with Dask's own shuffle and the rules run on the workers. Task names carry the
partition number, never note text.

Dask is optional (``pip install 'cdt-nlp[dask]'``); the local engine never imports this module.
"""

from __future__ import annotations

import glob
import logging
import os
import sys
from pathlib import Path
from typing import Any

from .engine import AuditOptions, AuditSummary, _chunks, _Done, _flush, _init_worker
from .io import AuditInputError, format_of, open_reader, open_writer
from .rows import CLAIM_FIELDS

PARTITION_FORMATS = (".parquet", ".csv", ".jsonl")


def _dask():
    try:
        import dask
        import dask.dataframe as dd
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        raise AuditInputError(
            "--engine dask needs the dask extra: pip install 'cdt-nlp[dask]' (dask.distributed is not installed)."
        ) from exc
    return dask, dd, Client, LocalCluster


def partitions_of(input_path: str) -> list[str]:
    """The input partitions: one file, a directory of partition files, or a glob."""
    path = Path(input_path)
    if path.is_dir():
        files = sorted(str(p) for p in path.iterdir() if p.suffix.lower() in PARTITION_FORMATS)
    elif any(ch in input_path for ch in "*?["):
        files = sorted(glob.glob(input_path))
    else:
        files = [input_path] if path.is_file() else []
    if not files:
        raise AuditInputError(f"No .parquet, .csv or .jsonl partitions found at '{input_path}'.")
    for f in files:
        format_of(f)
    return files


def _claims_frame(path: str, part: int, options: AuditOptions):
    """A partition's claim columns (no note text) as a pandas frame."""
    import pandas as pd

    reader = open_reader(path)
    try:
        rows = []
        for raw in reader.rows():
            f = raw.fields or {}
            rows.append(
                {
                    "part": part,
                    "row": raw.row,
                    "id": str(f.get(options.id_col, raw.row + 1)),
                    "code": None if f.get(options.code_col) is None else str(f.get(options.code_col)),
                    "patient": None if not options.patient_col else _text(f.get(options.patient_col)),
                    "date": None if not options.date_col else _text(f.get(options.date_col)),
                    "provider": None if not options.provider_col else _text(f.get(options.provider_col)),
                    "role": None if not options.role_col else _text(f.get(options.role_col)),
                }
            )
    finally:
        reader.close()
    columns = ["part", "row", "id", "code", "patient", "date", "provider", "role"]
    return pd.DataFrame(rows, columns=columns).astype({"part": "int64", "row": "int64"})


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _rules_on_partition(frame, frequency_days: dict[str, int]):
    """Claim rules over one shuffled partition (every claim of a patient is in the same one)."""
    import pandas as pd

    from .claims import Claim, ClaimRules

    frame = frame.astype(object).where(frame.notna(), None)  # pandas NA -> None
    # rows without a patient can still break the role rule; they were shuffled together
    keyed = {(int(r.part), int(r.row)): k for k, r in enumerate(frame.itertuples(index=False))}
    claims = [
        Claim(row=k, id=r.id, code=r.code, patient=r.patient, date=r.date, provider=r.provider, role=r.role)
        for k, r in enumerate(frame.itertuples(index=False))
    ]
    found = ClaimRules(frequency_days=frequency_days).warnings(claims)
    back = {v: key for key, v in keyed.items()}
    out = [{"part": back[k][0], "row": back[k][1], "warnings": w} for k, w in found.items()]
    return pd.DataFrame(out, columns=["part", "row", "warnings"])


def _by_partition(*frames) -> dict[int, dict[int, list]]:
    out: dict[int, dict[int, list]] = {}
    for frame in frames:
        for r in frame.itertuples(index=False):
            out.setdefault(int(r.part), {})[int(r.row)] = list(r.warnings)
    return out


def audit_partition(path: str, part: int, target: str, options: AuditOptions, warnings: dict | None) -> dict:
    """Audit one partition on a worker into ``target`` (atomically); returns its counts."""
    _init_worker(options.max_chars)  # once per worker process: pipeline + checksum-verified model
    claims = (warnings or {}).get(part, {})
    extra = [k for k in CLAIM_FIELDS if k in options.claim_columns]
    reader = open_reader(path)
    writer = open_writer(target, extra)
    summary = AuditSummary()
    try:
        from .engine import check_rows

        for chunk in _chunks(reader.rows(), options.chunk_size):
            tasks = [
                (r.row, (r.fields or {}).get(options.text_col), (r.fields or {}).get(options.code_col))
                for r in chunk
                if r.error is None and options.text_col in (r.fields or {})
            ]
            _flush((chunk, _Done(check_rows(tasks))), options, claims, writer, None, summary, None, 0)
    except BaseException:
        writer.abort()
        raise
    finally:
        reader.close()
    writer.close()
    return {
        "rows": summary.rows,
        "ok": summary.ok,
        "errors": summary.errors,
        "score_sum": summary.score_sum,
        "mismatches": summary.mismatches,
        "claim_warnings": summary.claim_warnings,
        "below": summary.below,
    }


def _peak_rss_mb() -> float:
    """This process's peak resident memory in MB (run on each worker)."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def audit_dask(
    input_path: str,
    output: str,
    options: AuditOptions,
    scheduler: str | None = None,
    workers: int | None = None,
) -> AuditSummary:
    """Run the audit on Dask: a local cluster of ``workers`` processes, or the one at ``scheduler``."""
    dask, dd, Client, LocalCluster = _dask()
    files = partitions_of(input_path)
    single = len(files) == 1 and Path(input_path).is_file()
    if single:
        targets = [output]
    else:
        out_dir = Path(output)
        if out_dir.suffix:
            raise AuditInputError("With partitioned input, -o names a directory for the output partitions.")
        out_dir.mkdir(parents=True, exist_ok=True)
        targets = [str(out_dir / f"part-{i:05d}.parquet") for i in range(len(files))]
    reader = open_reader(files[0])
    try:
        from .engine import _check_columns

        _check_columns(reader.columns, options, files[0])
    finally:
        reader.close()
    todo = [i for i, t in enumerate(targets) if not (options.resume and Path(t).is_file())]
    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise AuditInputError(f"Cannot reach the Dask scheduler at {scheduler}: {exc}") from exc
        cluster = None
    else:
        n = workers or os.cpu_count() or 1
        cluster = LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
        )
        client = Client(cluster)
    try:
        warnings = None
        if options.claim_columns or options.role_col:
            parts = [
                dask.delayed(_claims_frame)(f, i, options, dask_key_name=f"cdt-claims-{i}") for i, f in enumerate(files)
            ]
            frame = dd.from_delayed(parts, meta=_empty_claims())
            frame = frame.assign(patient=frame["patient"].fillna("")).shuffle(on="patient")
            found = frame.map_partitions(_rules_on_partition, options.frequency_days, meta=_empty_warnings())
            warnings = dask.delayed(_by_partition)(*found.to_delayed(), dask_key_name="cdt-claims-by-partition")
        tasks = [
            dask.delayed(audit_partition, pure=False)(
                files[i], i, targets[i], options, warnings, dask_key_name=f"cdt-audit-part-{i}"
            )
            for i in todo
        ]
        counts = dask.compute(*tasks)
        peaks = client.run(_peak_rss_mb)  # each worker process's peak memory, for the summary
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    summary = AuditSummary(resumed_rows=0, worker_peak_mb=dict(peaks))
    for c in counts:
        summary.rows += c["rows"]
        summary.ok += c["ok"]
        summary.errors += c["errors"]
        summary.score_sum += c["score_sum"]
        summary.mismatches += c["mismatches"]
        summary.claim_warnings += c["claim_warnings"]
        summary.below += c["below"]
    return summary


def _empty_claims():
    import pandas as pd

    return pd.DataFrame(
        {
            c: pd.Series(dtype="int64" if c in ("part", "row") else "object")
            for c in ["part", "row", "id", "code", "patient", "date", "provider", "role"]
        }
    )


def _empty_warnings():
    import pandas as pd

    return pd.DataFrame(
        {"part": pd.Series(dtype="int64"), "row": pd.Series(dtype="int64"), "warnings": pd.Series(dtype="object")}
    )
