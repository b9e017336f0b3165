"""Item-level evaluation of the checker on labelled notes (ANNOTATION.md JSONL)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .catalog import ITEMS, Catalog
from .checker import Checker
from .errors import CdtError


@dataclass
class LabelledNote:
    id: str
    text: str
    target_code: str | None
    best_code: str | None
    items: dict[str, bool]
    style: str | None = None


def read_labelled(path: str | Path) -> list[LabelledNote]:
    """Read a labelled-note JSONL file, with a clear error naming the bad line."""
    notes = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                items = rec["items"]
                missing = [i for i in ITEMS if not isinstance(items.get(i), bool)]
                if missing:
                    raise ValueError(f"items lack boolean values for {', '.join(missing)}")
                notes.append(
                    LabelledNote(
                        rec["id"],
                        rec["text"],
                        rec.get("target_code"),
                        rec.get("best_code"),
                        {i: items[i] for i in ITEMS},
                        rec.get("style"),
                    )
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise CdtError("E020", path=path, line=lineno, reason=str(exc) or type(exc).__name__) from exc
    return notes


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, gold: bool, pred: bool) -> None:
        self.tp += gold and pred
        self.fp += pred and not gold
        self.fn += gold and not pred

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_dict(self) -> dict[str, float]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "support": self.tp + self.fn,
        }


@dataclass
class ItemReport:
    """Present-class and missing-class scores per item, plus the errors."""

    present: dict[str, Counts] = field(default_factory=lambda: {i: Counts() for i in ITEMS})
    missing: dict[str, Counts] = field(default_factory=lambda: {i: Counts() for i in ITEMS})
    errors: list[dict[str, Any]] = field(default_factory=list)
    n_notes: int = 0

    def micro(self, which: str) -> Counts:
        total = Counts()
        for c in getattr(self, which).values():
            total.tp += c.tp
            total.fp += c.fp
            total.fn += c.fn
        return total

    def to_dict(self) -> dict[str, Any]:
        return {
            "notes": self.n_notes,
            "items": {i: {"present": self.present[i].to_dict(), "missing": self.missing[i].to_dict()} for i in ITEMS},
            "micro": {"present": self.micro("present").to_dict(), "missing": self.micro("missing").to_dict()},
            "errors": self.errors,
        }


def evaluate_items(notes: Iterable[LabelledNote], checker: Checker) -> ItemReport:
    """Compare the checker's item presence with the labels."""
    report = ItemReport()
    catalog = checker.catalog
    for note in notes:
        code = note.target_code or note.best_code or next(iter(catalog)).code
        result = checker.check(note.text, code=code)
        report.n_notes += 1
        for item in ITEMS:
            gold, pred = note.items[item], result.items[item].present
            report.present[item].add(gold, pred)
            report.missing[item].add(not gold, not pred)
            if gold != pred:
                ev = result.items[item].evidence
                report.errors.append(
                    {
                        "id": note.id,
                        "item": item,
                        "gold": gold,
                        "predicted": pred,
                        "reason": result.items[item].reason,
                        "evidence": [e.text for e in ev],
                    }
                )
    return report


def format_report(report: ItemReport) -> str:
    lines = [
        f"Notes: {report.n_notes}",
        "",
        f"{'item':<18} {'P':>6} {'R':>6} {'F1':>6}   {'missing P':>9} {'R':>6} {'F1':>6}  support(missing)",
    ]
    for item in ITEMS:
        p, m = report.present[item], report.missing[item]
        lines.append(
            f"{item:<18} {p.precision:6.3f} {p.recall:6.3f} {p.f1:6.3f}   {m.precision:9.3f} {m.recall:6.3f} "
            f"{m.f1:6.3f}  {m.tp + m.fn}"
        )
    p, m = report.micro("present"), report.micro("missing")
    lines.append(
        f"{'micro':<18} {p.precision:6.3f} {p.recall:6.3f} {p.f1:6.3f}   {m.precision:9.3f} {m.recall:6.3f} "
        f"{m.f1:6.3f}  {m.tp + m.fn}"
    )
    return "\n".join(lines)


_ = Catalog
