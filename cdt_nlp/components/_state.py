"""Shared span metadata and (de)serialisation helpers for the components.

Span extension attributes are keyed by character offsets, so two items found
on the same text would overwrite each other. Each evidence span instead gets
its metadata in ``doc.user_data`` keyed by (group, label, start, end), read
through the ``Span._.cdt`` getter.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from spacy.tokens import Doc, Span

META_KEY = "cdt_nlp"


def _span_meta(span: Span) -> dict[str, Any]:
    return span.doc.user_data.get((META_KEY, span.label_, span.start_char, span.end_char), {})


def set_meta(span: Span, **meta: Any) -> None:
    """Attach metadata (trigger, section, status, ...) to an evidence span."""
    key = (META_KEY, span.label_, span.start_char, span.end_char)
    span.doc.user_data.setdefault(key, {}).update(meta)


if not Span.has_extension("cdt"):
    Span.set_extension("cdt", getter=_span_meta)
if not Doc.has_extension("cdt_sections"):
    Doc.set_extension("cdt_sections", default=None)
if not Doc.has_extension("cdt_facts"):
    Doc.set_extension("cdt_facts", default=None)


def rules_to_disk(path: Path | str, rules: dict[str, Any]) -> None:
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / "rules.json").write_text(json.dumps(rules, indent=1, ensure_ascii=False), "utf-8")


def rules_from_disk(path: Path | str) -> dict[str, Any]:
    return json.loads((Path(path) / "rules.json").read_text("utf-8"))


def disk_serializers(write: Callable[[Path], None]) -> dict[str, Callable[[Path], None]]:
    return {"rules": write}
