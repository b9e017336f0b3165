"""Reading exports and writing results: CSV, JSONL, Parquet and Excel, in chunks.

Readers yield :class:`RawRow` objects in input order; a row that cannot be read (a ragged CSV
line, a JSONL line that is not a JSON object, undecodable bytes) is yielded with its error
instead of stopping the file. Writers take result rows (the nested form of
:func:`cdt_nlp.audit.rows.result_row`); CSV, Parquet and Excel get the flattened columns,
JSONL keeps the nesting. File writers write ``OUTPUT.part`` and rename it when complete, so an
interrupted run never leaves a file that looks finished.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from .rows import flat_columns, flatten_row

FORMATS = ("csv", "jsonl", "parquet", "xlsx")
STDIO = "-"

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # a 10 MB note is read, then refused as a note


class AuditInputError(ValueError):
    """A problem with the input or output as a whole (unknown format, missing column, unreadable file)."""


@dataclass
class RawRow:
    """One input row: its position, its fields (None when unreadable) and why it failed."""

    row: int
    fields: dict[str, Any] | None
    error: str | None = None
    line: int | None = None


def format_of(path: str) -> str:
    """The format of a path by its extension (``-`` is JSONL on stdin/stdout)."""
    if path == STDIO:
        return "jsonl"
    suffix = Path(path).suffix.lower().lstrip(".")
    suffix = {"ndjson": "jsonl", "xls": "xlsx", "pq": "parquet"}.get(suffix, suffix)
    if suffix not in FORMATS:
        raise AuditInputError(
            f"Cannot tell the format of '{path}' from its extension; use .csv, .jsonl, .parquet or .xlsx."
        )
    if suffix == "xlsx" and Path(path).suffix.lower() == ".xls":
        raise AuditInputError(f"'{path}' is an old .xls workbook; save it as .xlsx or export CSV.")
    return suffix


# -- readers ------------------------------------------------------------------------------------
class Reader:
    """Base class: ``columns`` (the header) and ``rows()`` (every row, in order)."""

    columns: list[str]

    def rows(self) -> Iterator[RawRow]:  # pragma: no cover - abstract
        raise NotImplementedError

    def estimate(self) -> int | None:
        """A row count for the progress bar, when cheap to get."""
        return None

    def close(self) -> None:
        pass


class _PhysicalLines:
    """The physical lines of a CSV file as ``csv.reader`` pulls them, remembering those of the
    record being parsed (``taken``) and taking lines back to be parsed again."""

    def __init__(self, fh: Any) -> None:
        self._fh = fh
        self._back: list[str] = []
        self.taken: list[str] = []
        self.count = 0  # physical lines handed out so far

    def __iter__(self) -> _PhysicalLines:
        return self

    def __next__(self) -> str:
        line = self._back.pop() if self._back else next(self._fh)
        self.taken.append(line)
        self.count += 1
        return line

    def give_back(self, lines: list[str]) -> None:
        self._back.extend(reversed(lines))
        self.count -= len(lines)


def _rows_of_their_own(lines: list[str], width: int) -> bool:
    """Whether every one of ``lines`` is a complete row by itself (balanced quotes, ``width``
    fields): then a record that swallowed them was opened by a stray quote, even when the quote
    that closed it happened to leave the right number of fields. The last line of a real
    multi-line field always holds its closing quote, so its quotes never balance."""
    return all(line.count('"') % 2 == 0 and len(next(csv.reader([line]), [])) == width for line in lines)


class CsvReader(Reader):
    """CSV rows in order. A quote left open inside a field ('2,"BROKEN ...' with no closing
    quote) makes the parser read on through the following lines as one field; when such a
    record spans several lines and has the wrong number of fields, only its first line is the
    bad row, and the lines after it are read again as rows of their own, so one stray quote
    cannot swallow the rest of the file."""

    def __init__(self, path: str) -> None:
        self.path = path
        # surrogateescape keeps undecodable bytes, so one bad row is reported, not the whole file
        self._fh = open(path, newline="", encoding="utf-8-sig", errors="surrogateescape")  # noqa: SIM115
        self._lines = _PhysicalLines(self._fh)
        self._reader = csv.reader(self._lines)
        try:
            header = next(self._reader)
        except StopIteration:
            header = []
        except csv.Error as exc:
            raise AuditInputError(f"Cannot read the header of '{path}': {exc}") from exc
        self.columns = [h.strip() for h in header]
        if not self.columns:
            raise AuditInputError(f"'{path}' is empty: it has no header row.")

    def estimate(self) -> int | None:
        # a quick pass of the C parser (notes span lines, so newlines over-count)
        try:
            with open(self.path, newline="", encoding="utf-8", errors="surrogateescape") as fh:
                return max(0, sum(1 for _ in csv.reader(fh)) - 1)
        except (OSError, csv.Error):
            return None

    def rows(self) -> Iterator[RawRow]:
        n = 0
        width = len(self.columns)
        lines = self._lines
        while True:
            line = lines.count + 1
            lines.taken = []
            try:
                values = next(self._reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield RawRow(n, None, f"CSV line {line}: {exc}", line)
                n += 1
                continue
            if not values or (len(values) == 1 and values[0] == ""):
                continue  # blank line
            if len(lines.taken) > 1 and (len(values) != width or _rows_of_their_own(lines.taken[1:], width)):
                # a quote left open: the first line is the bad row, the rest are read again
                first = lines.taken[0]
                lines.give_back(lines.taken[1:])
                self._reader = csv.reader(lines)
                alone = next(csv.reader([first]), [])  # its own fields, for the row's id
                yield RawRow(
                    n,
                    dict(zip(self.columns, alone, strict=False)),
                    f"CSV line {line} has a quote that is never closed; the row was not read "
                    "(the lines after it were read as rows of their own).",
                    line,
                )
                n += 1
                continue
            fields = dict(zip(self.columns, values, strict=False))
            if len(values) != width:
                yield RawRow(n, fields, f"CSV line {line} has {len(values)} fields; the header has {width}.", line)
            else:
                yield RawRow(n, fields, None, line)
            n += 1

    def close(self) -> None:
        self._fh.close()


class JsonlReader(Reader):
    def __init__(self, path: str, stdin: BinaryIO | None = None) -> None:
        self.path = path
        self._fh: BinaryIO = stdin if path == STDIO else open(path, "rb")  # noqa: SIM115
        self._first: list[tuple[int, bytes]] = []
        self.columns = []
        # the columns are the keys of the first readable object (JSONL has no header)
        for lineno, raw in enumerate(self._fh, 1):
            self._first.append((lineno, raw))
            try:
                obj = json.loads(raw)
            except ValueError:
                continue
            if isinstance(obj, dict):
                self.columns = list(obj)
                break
        self._lineno = self._first[-1][0] if self._first else 0

    def estimate(self) -> int | None:
        if self.path == STDIO:
            return None
        with open(self.path, "rb") as fh:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))

    def _lines(self) -> Iterator[tuple[int, bytes]]:
        yield from self._first
        yield from enumerate(self._fh, self._lineno + 1)

    def rows(self) -> Iterator[RawRow]:
        n = 0
        for lineno, raw in self._lines():
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:
                yield RawRow(n, None, f"JSONL line {lineno} is not valid UTF-8.", lineno)
            except ValueError as exc:
                yield RawRow(n, None, f"JSONL line {lineno} is not valid JSON ({exc.msg}).", lineno)
            else:
                if isinstance(obj, dict):
                    yield RawRow(n, obj, None, lineno)
                else:
                    yield RawRow(n, None, f"JSONL line {lineno} is not a JSON object.", lineno)
            n += 1

    def close(self) -> None:
        if self.path != STDIO:
            self._fh.close()


class ParquetReader(Reader):
    def __init__(self, path: str, batch_size: int = 1024) -> None:
        import pyarrow.parquet as pq

        try:
            self._file = pq.ParquetFile(path)
        except Exception as exc:  # pyarrow raises several types for a bad file
            raise AuditInputError(f"Cannot read '{path}' as Parquet: {exc}") from exc
        self.columns = list(self._file.schema_arrow.names)
        self.batch_size = batch_size
        self.wanted: list[str] | None = None

    def estimate(self) -> int | None:
        return self._file.metadata.num_rows

    def rows(self) -> Iterator[RawRow]:
        n = 0
        for batch in self._file.iter_batches(batch_size=self.batch_size, columns=self.wanted):
            for fields in batch.to_pylist():
                yield RawRow(n, fields)
                n += 1


class XlsxReader(Reader):
    def __init__(self, path: str) -> None:
        from openpyxl import load_workbook

        try:
            self._wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises several types for a bad file
            raise AuditInputError(f"Cannot read '{path}' as an Excel workbook: {exc}") from exc
        self._ws = self._wb.worksheets[0]
        self._it = self._ws.iter_rows(values_only=True)
        header = next(self._it, None) or ()
        self.columns = ["" if h is None else str(h).strip() for h in header]
        if not any(self.columns):
            raise AuditInputError(f"'{path}' has no header row in its first sheet.")

    def estimate(self) -> int | None:
        return max(0, (self._ws.max_row or 1) - 1)

    def rows(self) -> Iterator[RawRow]:
        n = 0
        for i, values in enumerate(self._it, start=2):
            if values is None or all(v is None for v in values):
                continue
            yield RawRow(n, dict(zip(self.columns, values, strict=False)), None, i)
            n += 1

    def close(self) -> None:
        self._wb.close()


def open_reader(path: str, stdin: BinaryIO | None = None) -> Reader:
    """A reader for ``path`` chosen by its extension."""
    fmt = format_of(path)
    if path != STDIO and not Path(path).is_file():
        raise AuditInputError(f"Input file '{path}' does not exist.")
    try:
        if fmt == "csv":
            return CsvReader(path)
        if fmt == "jsonl":
            return JsonlReader(path, stdin=stdin if stdin is not None else sys.stdin.buffer)
        if fmt == "parquet":
            return ParquetReader(path)
        return XlsxReader(path)
    except OSError as exc:
        raise AuditInputError(f"Cannot read '{path}': {exc.strerror or exc}") from exc


# -- writers ------------------------------------------------------------------------------------
class Writer:
    """Base class: ``write(rows)`` per chunk, then ``close()`` (renames the finished file)."""

    def __init__(self, path: str, extra: list[str], resume_offset: int | None = None) -> None:
        self.path = path
        self.extra = extra
        self.columns = flat_columns(extra)
        self.part = path + ".part"

    def write(self, rows: list[dict[str, Any]]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def tell(self) -> int | None:
        """Bytes written so far, for resuming (None where the format cannot resume)."""
        return None

    def close(self) -> None:
        os.replace(self.part, self.path)

    def abort(self) -> None:
        """Leave the ``.part`` file for ``--resume`` (streaming formats) or remove it."""


class JsonlWriter(Writer):
    def __init__(self, path: str, extra: list[str], resume_offset: int | None = None, stdout=None) -> None:
        super().__init__(path, extra)
        if path == STDIO:
            self._fh = stdout if stdout is not None else sys.stdout.buffer
        else:
            self._fh = _open_part(self.part, resume_offset)

    def write(self, rows: list[dict[str, Any]]) -> None:
        self._fh.write(b"".join(json.dumps(r, ensure_ascii=False).encode("utf-8") + b"\n" for r in rows))
        self._fh.flush()

    def tell(self) -> int | None:
        return None if self.path == STDIO else self._fh.tell()

    def close(self) -> None:
        if self.path == STDIO:
            self._fh.flush()
            return
        self._fh.close()
        super().close()

    def abort(self) -> None:
        if self.path != STDIO:
            self._fh.close()


class CsvWriter(Writer):
    def __init__(self, path: str, extra: list[str], resume_offset: int | None = None) -> None:
        super().__init__(path, extra)
        self._fh = _open_part(self.part, resume_offset)
        self._text = io.TextIOWrapper(self._fh, encoding="utf-8", newline="", write_through=True)
        self._csv = csv.DictWriter(self._text, fieldnames=self.columns)
        if not resume_offset:
            self._csv.writeheader()

    def write(self, rows: list[dict[str, Any]]) -> None:
        self._csv.writerows(flatten_row(r, self.extra) for r in rows)
        self._text.flush()

    def tell(self) -> int | None:
        return self._fh.tell()

    def close(self) -> None:
        self._text.close()
        super().close()

    def abort(self) -> None:
        self._text.close()


class ParquetWriter(Writer):
    def __init__(self, path: str, extra: list[str], resume_offset: int | None = None) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        super().__init__(path, extra)
        self._pa = pa
        types = {"row": pa.int64(), "score": pa.float64(), "mismatch": pa.bool_()}
        types["suggested_probability"] = types["no_service_probability"] = pa.float64()
        self.schema = pa.schema([(c, types.get(c, pa.string())) for c in self.columns])
        self._writer = pq.ParquetWriter(self.part, self.schema)

    def write(self, rows: list[dict[str, Any]]) -> None:
        flat = [flatten_row(r, self.extra, typed=True) for r in rows]
        self._writer.write_table(self._pa.Table.from_pylist(flat, schema=self.schema))

    def close(self) -> None:
        self._writer.close()
        super().close()

    def abort(self) -> None:
        self._writer.close()
        Path(self.part).unlink(missing_ok=True)


class XlsxWriter(Writer):
    #: Excel refuses longer cell values
    CELL_LIMIT = 32_767

    def __init__(self, path: str, extra: list[str], resume_offset: int | None = None) -> None:
        from openpyxl import Workbook

        super().__init__(path, extra)
        self._wb = Workbook(write_only=True)
        self._ws = self._wb.create_sheet("audit")
        self._ws.append(self.columns)

    def write(self, rows: list[dict[str, Any]]) -> None:
        for r in rows:
            flat = flatten_row(r, self.extra, typed=True)
            self._ws.append([_cell(flat[c], self.CELL_LIMIT) for c in self.columns])

    def close(self) -> None:
        self._wb.save(self.part)
        super().close()

    def abort(self) -> None:
        Path(self.part).unlink(missing_ok=True)


def _cell(value: Any, limit: int) -> Any:
    if isinstance(value, str):
        value = "".join(ch for ch in value if ch in "\t\n\r" or ord(ch) >= 32)  # Excel refuses control characters
        if len(value) > limit:
            return value[: limit - 1] + "…"
    return value


def _open_part(part: str, resume_offset: int | None) -> BinaryIO:
    if resume_offset:
        fh = open(part, "r+b")  # noqa: SIM115
        fh.truncate(resume_offset)  # drop a row cut off mid-write
        fh.seek(resume_offset)
        return fh
    return open(part, "wb")  # noqa: SIM115


def open_writer(path: str, extra: list[str], resume_offset: int | None = None) -> Writer:
    """A writer for ``path`` chosen by its extension; ``extra`` are the optional claim columns."""
    fmt = format_of(path)
    if path != STDIO and not Path(path).resolve().parent.is_dir():
        raise AuditInputError(f"The output folder of '{path}' does not exist.")
    cls = {"csv": CsvWriter, "jsonl": JsonlWriter, "parquet": ParquetWriter, "xlsx": XlsxWriter}[fmt]
    return cls(path, extra, resume_offset)
