"""Result rows of an audit: one per input row, in the nested (JSONL) and flat (CSV) forms.

Every row has the same keys, whether it succeeded or not: ``row`` (0-based input position),
``id``, ``status`` (``ok``/``error``), ``error``, the optional claim columns (``patient``,
``date``, ``provider``), every field of ``Checker.check(...).to_dict()`` (null or empty on an
error row) and ``claim_warnings``.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from ..catalog import ITEMS

#: the fields of CheckResult.to_dict(), with their values on an error row
CHECK_FIELDS: dict[str, Any] = {
    "code": None,
    "score": None,
    "checklist": [],
    "items": {},
    "missing": [],
    "fixes": [],
    "warnings": [],
    "suggestions": [],
    "no_service_probability": None,
    "mismatch": None,
}
_MISSING = object()
#: optional claim columns, in output order
CLAIM_FIELDS = ("patient", "date", "provider")


def plain(value: Any) -> Any:
    """A JSON-friendly copy of an input value (dates as ISO strings, bytes as a placeholder)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    return str(value)


def result_row(
    row: int,
    id_: Any,
    result: dict[str, Any] | None = None,
    error: str | None = None,
    extra: dict[str, Any] | None = None,
    claim_warnings: list[dict[str, str]] | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    """The nested result row for one input row (``result`` is ``CheckResult.to_dict()``).

    On an error row the check fields are empty; ``code`` keeps the target code when it was valid.
    """
    out: dict[str, Any] = {
        "row": row,
        "id": "" if id_ is None else str(plain(id_)),
        "status": "error" if error else "ok",
        "error": error,
    }
    for key, value in (extra or {}).items():
        out[key] = plain(value)
    checked = {} if error or result is None else result
    for key, empty in CHECK_FIELDS.items():
        value = checked.get(key, _MISSING)
        # the empty defaults are shared: each row gets its own copy (the result's values are its own)
        out[key] = (empty.copy() if isinstance(empty, (list, dict)) else empty) if value is _MISSING else value
    if error and code:
        out["code"] = code
    out["claim_warnings"] = claim_warnings or []
    return out


def flat_columns(extra: list[str]) -> list[str]:
    """The flat (CSV, Parquet, Excel) column names, in order."""
    cols = ["row", "id", "status", "error", *extra, "code", "score", "mismatch", "suggested_code"]
    cols += ["suggested_probability", "no_service_probability", "missing", "fixes", "warnings", "claim_warnings"]
    for item in ITEMS:
        cols += [f"item.{item}", f"item.{item}.reason", f"item.{item}.evidence", f"item.{item}.found_by"]
    cols.append("suggestions")
    return cols


def flatten_row(r: dict[str, Any], extra: list[str], typed: bool = False) -> dict[str, Any]:
    """The flat form of a nested row: lists joined with " | ", items as present/missing columns.

    With ``typed`` the numbers and booleans stay numbers and booleans (Parquet, Excel);
    otherwise empty values are empty strings (CSV).
    """
    top = r["suggestions"][0] if r.get("suggestions") else None
    flat: dict[str, Any] = {
        "row": r["row"],
        "id": r["id"],
        "status": r["status"],
        "error": r["error"],
        "code": r.get("code"),
        "score": r.get("score"),
        "mismatch": r.get("mismatch"),
        "suggested_code": top["code"] if top else None,
        "suggested_probability": top["probability"] if top else None,
        "no_service_probability": r.get("no_service_probability"),
        "missing": " | ".join(r.get("missing") or []),
        "fixes": " | ".join(r.get("fixes") or []),
        "warnings": " | ".join(w["message"] for w in r.get("warnings") or []),
        "claim_warnings": " | ".join(w["message"] for w in r.get("claim_warnings") or []),
        "suggestions": json.dumps(r.get("suggestions") or []),
    }
    for key in extra:
        flat[key] = r.get(key)
    items = r.get("items") or {}
    for item in ITEMS:
        res = items.get(item)
        if res is None:
            for suffix in ("", ".reason", ".evidence", ".found_by"):
                flat[f"item.{item}{suffix}"] = None
            continue
        flat[f"item.{item}"] = "present" if res["present"] else ("missing" if res["required"] else "absent")
        flat[f"item.{item}.reason"] = res.get("reason")
        flat[f"item.{item}.evidence"] = " | ".join(e["text"] for e in res.get("evidence") or [])
        flat[f"item.{item}.found_by"] = res.get("found_by")
    if not typed:
        flat = {k: "" if v is None else v for k, v in flat.items()}
    return flat
