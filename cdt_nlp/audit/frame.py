"""Audit a pandas DataFrame in memory: the Python face of ``cdt-nlp audit`` for notebooks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import engine
from .claims import Claim, ClaimRules
from .rows import CLAIM_FIELDS, flatten_row, result_row

if TYPE_CHECKING:  # pandas is an optional dependency (the notebooks extra)
    import pandas as pd


def audit_frame(
    df: pd.DataFrame,
    *,
    text_col: str = "text",
    code_col: str = "code",
    id_col: str | None = None,
    patient_col: str | None = None,
    date_col: str | None = None,
    provider_col: str | None = None,
    role_col: str | None = None,
    frequency_days: dict[str, int] | None = None,
    nested: bool = False,
    batch_size: int = 64,
) -> pd.DataFrame:
    """Check every row of ``df`` and return one result row per input row, in order.

    The columns are those of ``cdt-nlp audit`` CSV output (``id``, ``status``, ``error``,
    ``code``, ``score``, ``mismatch``, ``suggested_code``, ``missing``, ``item.<name>``, ...,
    ``claim_warnings``), or with ``nested=True`` the JSONL form (``items``, ``warnings``,
    ``suggestions`` as Python objects). A missing column raises ``KeyError`` before any work;
    a bad row is an ``error`` row. Nothing is written to disk.

    >>> results = audit_frame(notes, text_col="note", code_col="cdt")  # doctest: +SKIP
    """
    import pandas as pd

    cols = {"text_col": text_col, "code_col": code_col, "id_col": id_col, "patient_col": patient_col}
    cols |= {"date_col": date_col, "provider_col": provider_col, "role_col": role_col}
    missing = [f"{col!r} ({opt})" for opt, col in cols.items() if col and col not in df.columns]
    if missing:
        raise KeyError(f"Column {', '.join(missing)} not in the DataFrame; its columns are {list(df.columns)}.")
    given = {"patient": patient_col, "date": date_col, "provider": provider_col}
    extra = [k for k in CLAIM_FIELDS if given[k]]
    records = df.to_dict("records")

    def value(rec: dict[str, Any], col: str | None) -> Any:
        if not col:
            return None
        v = rec.get(col)
        return None if v is None or (isinstance(v, float) and v != v) else v  # NaN -> None

    warnings: dict[int, list] = {}
    if extra or role_col:
        warnings = ClaimRules(frequency_days=frequency_days).warnings(
            Claim(
                row=i,
                id=str(value(r, id_col) if id_col else i + 1),
                code=value(r, code_col),
                patient=value(r, patient_col),
                date=value(r, date_col),
                provider=value(r, provider_col),
                role=value(r, role_col),
            )
            for i, r in enumerate(records)
        )
    engine._init_worker(engine.MAX_CHARS)
    out = []
    for start in range(0, len(records), batch_size):
        chunk = records[start : start + batch_size]
        tasks = [(start + k, value(r, text_col), value(r, code_col)) for k, r in enumerate(chunk)]
        for (row, _, _), rec, (result, error, code) in zip(tasks, chunk, engine.check_rows(tasks), strict=True):
            id_ = value(rec, id_col) if id_col else row + 1
            extra_values = {k: value(rec, given[k]) for k in extra}
            out.append(result_row(row, id_, result, error, extra_values, warnings.get(row), code=code))
    if nested:
        return pd.DataFrame(out, index=df.index)
    flat = [flatten_row(r, extra, typed=True) for r in out]
    return pd.DataFrame(flat, index=df.index)
