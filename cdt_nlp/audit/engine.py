"""The local audit engine: stream an export through the checker on several processes.

Rows are read in chunks, checked on ``jobs`` worker processes (each loads the pipeline and
the verified model once), and written in input order as soon as each chunk is done, so memory
stays flat whatever the input size. Every input row yields exactly one output row; a row
that fails becomes an ``error`` row and the batch goes on.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import CdtError
from ..textio import MAX_CHARS, prepare_note
from .claims import Claim, ClaimRules
from .io import STDIO, AuditInputError, RawRow, format_of, open_reader, open_writer
from .rows import CLAIM_FIELDS, result_row

#: rows per task sent to a worker
CHUNK_SIZE = 64
#: output formats that can be resumed (appended to) after an interruption
RESUMABLE = ("csv", "jsonl")
#: how often, at most, an audit records where to resume from
PROGRESS_SECONDS = 1.0

_CHECKER = None  # one Checker per worker process


@dataclass
class AuditOptions:
    """Column names and run settings of an audit (the ``cdt-nlp audit`` options)."""

    id_col: str = "id"
    text_col: str = "text"
    code_col: str = "code"
    patient_col: str | None = None
    date_col: str | None = None
    provider_col: str | None = None
    role_col: str | None = None
    id_col_given: bool = False
    jobs: int | None = None
    chunk_size: int = CHUNK_SIZE
    resume: bool = False
    quiet: bool = False
    report: str | None = None
    include_text: bool = False
    frequency_days: dict[str, int] = field(default_factory=dict)
    max_chars: int = MAX_CHARS
    fail_under: float | None = None

    @property
    def claim_columns(self) -> dict[str, str]:
        """Output name -> input column, for the claim columns that were given."""
        cols = {"patient": self.patient_col, "date": self.date_col, "provider": self.provider_col}
        return {k: v for k, v in cols.items() if v}


@dataclass
class AuditSummary:
    """What an audit did: counts for the terminal and the exit status."""

    rows: int = 0
    ok: int = 0
    errors: int = 0
    score_sum: float = 0.0
    mismatches: int = 0
    claim_warnings: int = 0
    below: int = 0
    resumed_rows: int = 0
    #: Dask engine only: each worker process's peak memory in MB, by worker address
    worker_peak_mb: dict[str, float] = field(default_factory=dict)

    @property
    def mean_score(self) -> float | None:
        return self.score_sum / self.ok if self.ok else None

    def add(self, row: dict[str, Any], fail_under: float | None) -> None:
        self.rows += 1
        if row["status"] == "ok":
            self.ok += 1
            self.score_sum += row["score"]
            self.mismatches += bool(row["mismatch"])
            if fail_under is not None and row["score"] < fail_under:
                self.below += 1
        else:
            self.errors += 1
        self.claim_warnings += bool(row["claim_warnings"])


# -- worker side ----------------------------------------------------------------------------------
def _init_worker(max_chars: int) -> None:
    global _CHECKER
    if _CHECKER is None:
        from ..checker import Checker

        _CHECKER = Checker(max_chars=max_chars)


def _note_text(value: Any) -> Any:
    """Undo the CSV reader's surrogate escapes, so undecodable bytes are judged as bytes."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "surrogateescape")
    return value


def check_rows(tasks: list[tuple[int, Any, Any]]) -> list[tuple[dict | None, str | None, str | None]]:
    """Check ``(row, text, code)`` tasks: ``(result dict, error, code)`` for each, in order."""
    checker = _CHECKER
    if checker is None:  # pragma: no cover - set by the initializer or the parent
        raise RuntimeError("worker not initialised")
    out: list[tuple[dict | None, str | None, str | None]] = [(None, None, None)] * len(tasks)
    ready = []
    for k, (_row, text, code) in enumerate(tasks):
        try:
            if code is None or str(code).strip() == "":
                raise CdtError("E005", code="")
            if text is None:
                raise CdtError("E001")
            info = checker.catalog.get(str(code).strip())
            prepared = prepare_note(_note_text(text), checker.max_chars)
        except CdtError as exc:
            out[k] = (None, str(exc), None)
            continue
        ready.append((k, *prepared, info))
    try:
        docs = list(checker.nlp.pipe((t for _, _, t, _, _ in ready), batch_size=max(1, len(ready))))
    except Exception:  # noqa: BLE001 - one bad note must not stop the chunk: retry one by one below
        docs = [None] * len(ready)
    for (k, original, clean, index, info), doc in zip(ready, docs, strict=True):
        try:
            doc = doc if doc is not None else checker.nlp(clean)
            out[k] = (checker.score_doc(doc, info).quoting(original, index).to_dict(), None, info.code)
        except Exception as exc:  # noqa: BLE001
            out[k] = (None, f"E099: internal error while checking this note ({type(exc).__name__}).", info.code)
    return out


# -- parent side ----------------------------------------------------------------------------------
class _Done:
    """A finished result that quacks like a Future (the single-process path)."""

    def __init__(self, value: Any) -> None:
        self._value = value

    def result(self) -> Any:
        return self._value


def _chunks(rows: Iterable[RawRow], size: int) -> Iterator[list[RawRow]]:
    chunk: list[RawRow] = []
    for r in rows:
        chunk.append(r)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _progress_path(output: str) -> Path:
    return Path(output + ".part.progress")


def _input_identity(path: str) -> dict[str, Any]:
    st = os.stat(path)
    return {"input": str(Path(path).resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _save_progress(output: str, identity: dict[str, Any], rows: int, offset: int) -> None:
    path = _progress_path(output)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({**identity, "rows": rows, "bytes": offset}), "utf-8")
    os.replace(tmp, path)


class _Checkpoint:
    """Saves the resume point after the first chunk, then at most every PROGRESS_SECONDS (a
    file write and rename per chunk cost more than writing the rows). The point saved is always
    a consistent (rows, bytes) pair taken right after a chunk was written, so an interrupted run
    redoes at most those seconds of work and its output still repeats and skips nothing."""

    def __init__(self, output: str, identity: dict[str, Any] | None) -> None:
        self.output = output
        self.identity = identity
        self.last: float | None = None

    def save(self, rows: int, offset: int) -> None:
        now = time.monotonic()
        if self.identity is None or (self.last is not None and now - self.last < PROGRESS_SECONDS):
            return
        _save_progress(self.output, self.identity, rows, offset)
        self.last = now


def _resume_point(input_path: str, output: str) -> tuple[int, int] | None:
    """(rows done, byte offset) of an interrupted run of the same input, or None to start afresh."""
    progress = _progress_path(output)
    if not (progress.is_file() and Path(output + ".part").is_file()):
        return None
    saved = json.loads(progress.read_text("utf-8"))
    if {k: saved.get(k) for k in ("input", "size", "mtime_ns")} != _input_identity(input_path):
        raise AuditInputError(
            f"Cannot resume: '{output}.part' was written from a different or changed input. "
            "Remove it (and its .progress file) to start again."
        )
    return int(saved["rows"]), int(saved["bytes"])


def _check_columns(columns: list[str], options: AuditOptions, path: str) -> None:
    needed = {"--text-col": options.text_col, "--code-col": options.code_col}
    if options.id_col_given:
        needed["--id-col"] = options.id_col
    for opt, col in (
        ("--patient-col", options.patient_col),
        ("--date-col", options.date_col),
        ("--provider-col", options.provider_col),
        ("--role-col", options.role_col),
    ):
        if col:
            needed[opt] = col
    missing = [f"'{col}' ({opt})" for opt, col in needed.items() if col not in columns]
    if missing and columns:
        raise AuditInputError(
            f"Column {', '.join(missing)} not found in '{path}'. Its columns are: {', '.join(map(repr, columns))}."
        )


def _spool_stdin(stdin: BinaryIO) -> str:
    fd, path = tempfile.mkstemp(suffix=".jsonl", prefix="cdt-audit-stdin-")
    with os.fdopen(fd, "wb") as fh:
        shutil.copyfileobj(stdin, fh)
    return path


def _claim_warnings(path: str, options: AuditOptions) -> dict[int, list[dict[str, str]]]:
    """First pass: the claim columns of every row, through the claim rules."""
    reader = open_reader(path)
    try:
        rules = ClaimRules(frequency_days=options.frequency_days)

        def claims() -> Iterator[Claim]:
            for raw in reader.rows():
                f = raw.fields or {}
                yield Claim(
                    row=raw.row,
                    id=str(f.get(options.id_col, raw.row + 1)),
                    code=f.get(options.code_col),
                    patient=f.get(options.patient_col) if options.patient_col else None,
                    date=f.get(options.date_col) if options.date_col else None,
                    provider=f.get(options.provider_col) if options.provider_col else None,
                    role=f.get(options.role_col) if options.role_col else None,
                )

        return rules.warnings(claims())
    finally:
        reader.close()


def audit(
    input_path: str,
    output: str,
    options: AuditOptions | None = None,
    *,
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
    progress: Any = None,
) -> AuditSummary:
    """Audit every row of ``input_path`` into ``output`` (see ``cdt-nlp audit --help``).

    Raises :class:`AuditInputError` before any work when the input or output cannot be used
    (unknown format, missing column, nothing to resume from a changed input).
    """
    options = options or AuditOptions()
    out_fmt = format_of(output)
    format_of(input_path)  # an unknown input format is an error before any work
    if options.resume and (output == STDIO or out_fmt not in RESUMABLE):
        raise AuditInputError("--resume needs a .jsonl or .csv output file.")
    if options.resume and options.report and out_fmt != "jsonl":
        raise AuditInputError("--resume with --report needs a .jsonl output (the report is rebuilt from it).")
    if output != STDIO and input_path != STDIO and Path(output).resolve() == Path(input_path).resolve():
        raise AuditInputError("The output file must not be the input file.")
    spooled = None
    if input_path == STDIO and options.claim_columns:
        spooled = input_path = _spool_stdin(stdin if stdin is not None else sys.stdin.buffer)
    try:
        return _run(input_path, output, options, stdin=stdin, stdout=stdout, progress=progress)
    finally:
        if spooled:
            os.unlink(spooled)


def _run(input_path: str, output: str, options: AuditOptions, *, stdin, stdout, progress) -> AuditSummary:
    reader = open_reader(input_path, stdin=stdin)
    try:
        _check_columns(reader.columns, options, input_path)
        if hasattr(reader, "wanted"):
            wanted = [options.id_col, options.text_col, options.code_col, options.role_col]
            wanted += list(options.claim_columns.values())
            reader.wanted = [c for c in dict.fromkeys(wanted) if c and c in reader.columns]
        claims = _claim_warnings(input_path, options) if options.claim_columns else {}
        extra = [k for k in CLAIM_FIELDS if k in options.claim_columns]
        start = _resume_point(input_path, output) if options.resume and input_path != STDIO else None
        done_rows, offset = start or (0, 0)
        identity = _input_identity(input_path) if input_path != STDIO and output != STDIO else None
        writer = open_writer(output, extra, resume_offset=offset or None)
        summary = AuditSummary(resumed_rows=done_rows)
        report = None
        if options.report:
            from .report import AuditReport

            report = AuditReport(include_text=options.include_text)
            if done_rows:
                _replay_into(output + ".part", offset, report, summary, options)
        bar = progress(reader.estimate()) if progress else None
        if bar is not None and done_rows:
            bar.update(done_rows)
        jobs = max(1, options.jobs or os.cpu_count() or 1)
        executor = _executor(jobs, options.max_chars)
        pending: deque[tuple[list[RawRow], Future | _Done]] = deque()
        written = done_rows
        checkpoint = _Checkpoint(output, identity)
        try:
            rows = (r for r in reader.rows() if r.row >= done_rows)
            for chunk in _chunks(rows, options.chunk_size):
                tasks = [
                    (r.row, _field(r, options.text_col), _field(r, options.code_col))
                    for r in chunk
                    if r.error is None and options.text_col in (r.fields or {})
                ]  # unreadable rows are error rows already: no need to send them to a worker
                fut = executor.submit(check_rows, tasks) if executor else _Done(check_rows(tasks))
                pending.append((chunk, fut))
                while len(pending) >= jobs * 3:
                    written = _flush(pending.popleft(), options, claims, writer, report, summary, bar, written)
                    checkpoint.save(written, writer.tell() or 0)
            while pending:
                written = _flush(pending.popleft(), options, claims, writer, report, summary, bar, written)
                checkpoint.save(written, writer.tell() or 0)
        except BaseException:
            if executor:
                executor.shutdown(wait=False, cancel_futures=True)
            writer.abort()
            raise
        if executor:
            executor.shutdown()
        writer.close()
        _progress_path(output).unlink(missing_ok=True)
        if bar is not None:
            bar.close()
        if report is not None:
            report.write(options.report)
        return summary
    finally:
        reader.close()


def _executor(jobs: int, max_chars: int) -> ProcessPoolExecutor | None:
    """Worker processes (None: check in this process). With fork, the workers inherit the
    pipeline and the model the parent loaded and verified once; elsewhere each loads its own."""
    if jobs == 1:
        _init_worker(max_chars)
        return None
    if "fork" in mp.get_all_start_methods() and sys.platform.startswith("linux"):
        _init_worker(max_chars)
        ctx = mp.get_context("fork")
    else:  # pragma: no cover - macOS and Windows
        ctx = mp.get_context("spawn")
    return ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init_worker, initargs=(max_chars,))


def _field(raw: RawRow, col: str) -> Any:
    return (raw.fields or {}).get(col)


def _flush(item, options: AuditOptions, claims, writer, report, summary: AuditSummary, bar, written: int) -> int:
    chunk, fut = item
    try:
        results = fut.result()
    except Exception as exc:  # noqa: BLE001 - a crashed worker costs its rows an error, not the batch
        failed = (None, f"E098: the worker checking this row failed ({type(exc).__name__}).", None)
        results = [failed] * len(chunk)
    out = []
    checked = iter(results)
    for raw in chunk:
        fields = raw.fields or {}
        id_ = fields.get(options.id_col) if options.id_col in fields else raw.row + 1
        if raw.error:
            result, error, code = None, raw.error, None
        elif options.text_col not in fields:
            result, error, code = None, f"The row has no '{options.text_col}' field.", None
        else:
            result, error, code = next(checked)
        extra = {k: fields.get(col) for k, col in options.claim_columns.items()}
        row = result_row(raw.row, id_, result, error, extra, claims.get(raw.row), code=code)
        out.append(row)
        summary.add(row, options.fail_under)
        if report is not None:
            text = fields.get(options.text_col) if options.include_text else None
            report.add(row, text if isinstance(text, str) else None)
    writer.write(out)
    if bar is not None:
        bar.update(len(out))
    return written + len(out)


def _replay_into(part: str, offset: int, report, summary: AuditSummary, options: AuditOptions) -> None:
    """Feed the rows of an interrupted JSONL run back into the report and the counts."""
    with open(part, "rb") as fh:
        data = fh.read(offset)
    for line in data.splitlines():
        if line.strip():
            row = json.loads(line)
            summary.add(row, options.fail_under)
            report.add(row, None)
