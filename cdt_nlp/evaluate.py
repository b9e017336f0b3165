"""Item-level evaluation of the checker on labelled notes (ANNOTATION.md JSONL)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .catalog import ITEMS
from .checker import Checker
from .components._state import doc_text
from .errors import CdtError
from .textio import prepare_note


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


#: groups of codes that are easy to confuse; the report shows a confusion table for each
CONFUSABLE_GROUPS: dict[str, tuple[str, ...]] = {
    "ultrasound and glands": ("D0370", "D0386", "D0371", "D0310"),
    "cone beam CT, read": ("D0364", "D0365", "D0366", "D0367", "D0368"),
    "cone beam CT, capture only": ("D0380", "D0381", "D0382", "D0383", "D0384"),
    "TMJ": ("D0320", "D0321", "D0368", "D0384"),
    "MRI": ("D0369", "D0385"),
    "post-processing and reads": ("D0391", "D0393", "D0394", "D0395"),
}


@dataclass
class CodeReport:
    """Code suggestion quality on labelled notes."""

    n: int = 0
    top1: int = 0
    top3: int = 0
    brier_sum: float = 0.0
    mismatch: Counts = field(default_factory=Counts)
    pairs: list[tuple[str, str]] = field(default_factory=list)  # (gold, predicted top-1)
    scored_brier: bool = True

    def to_dict(self) -> dict[str, Any]:
        out = {
            "notes": self.n,
            "top1": round(self.top1 / self.n, 4) if self.n else 0.0,
            "top3": round(self.top3 / self.n, 4) if self.n else 0.0,
            "mismatch": self.mismatch.to_dict(),
            "confusion": confusion_tables(self.pairs),
        }
        if self.scored_brier:
            out["brier"] = round(self.brier_sum / self.n, 4) if self.n else 0.0
        return out


def confusion_tables(pairs: list[tuple[str, str]]) -> dict[str, dict[str, dict[str, int]]]:
    tables = {}
    for name, codes in CONFUSABLE_GROUPS.items():
        table = {g: {p: 0 for p in (*codes, "other")} for g in codes}
        for gold, pred in pairs:
            if gold in codes:
                table[gold][pred if pred in codes else "other"] += 1
        tables[name] = table
    return tables


def code_predictions(notes: Iterable[LabelledNote], checker: Checker) -> Iterator[dict[str, Any]]:
    """Per note: ``id``, ``gold`` (best code or ``NONE``), ``target`` and the suggester's ``ranked``
    ``(code, probability)`` pairs over all classes, ``NONE`` (no catalog service) included, and
    ``flagged`` (whether a mismatch with the target is reported)."""
    from .features import doc_features
    from .suggester import NONE_LABEL

    if checker.suggester is None:
        raise CdtError("E030", path="(no model)", reason="no code-suggester model is installed")
    for note in notes:
        code = note.target_code or next(iter(checker.catalog)).code
        doc = checker.nlp(prepare_note(note.text, checker.max_chars)[1])
        items = checker.item_results(doc, checker.catalog.get(code))
        suggestions = checker.suggester.suggest(doc_text(doc), doc_features(doc, items))
        yield {
            "id": note.id,
            "gold": note.best_code or NONE_LABEL,
            "target": note.target_code,
            "ranked": [(s.code, s.probability) for s in suggestions],
            "flagged": note.target_code is not None and checker.suggester.is_mismatch(note.target_code, suggestions),
        }


def evaluate_codes(notes: Iterable[LabelledNote], checker: Checker, baseline: str | None = None) -> CodeReport:
    """Top-1/top-3 accuracy of the suggested code, mismatch flags and Brier score."""
    from .baseline import keyword_code
    from .suggester import NONE_LABEL

    notes = list(notes)
    report = CodeReport(scored_brier=baseline is None)
    if baseline == "keyword":
        preds = [
            {
                "gold": n.best_code or NONE_LABEL,
                "target": n.target_code,
                "ranked": [(keyword_code(n.text), 1.0)],
                "flagged": n.target_code is not None and keyword_code(n.text) != n.target_code,
            }
            for n in notes
        ]
    else:
        preds = list(code_predictions(notes, checker))
    for pred in preds:
        gold, ranked = pred["gold"], pred["ranked"]
        if baseline is None:
            report.brier_sum += sum((p - (c == gold)) ** 2 for c, p in ranked)
        report.n += 1
        report.top1 += ranked[0][0] == gold
        report.top3 += gold in {c for c, _ in ranked[:3]}
        report.pairs.append((gold, ranked[0][0]))
        if pred["target"] is not None:
            report.mismatch.add(gold != pred["target"], pred["flagged"])
    return report


def format_code_report(report: CodeReport, title: str = "Code suggestion") -> str:
    d = report.to_dict()
    m = d["mismatch"]
    lines = [
        f"{title}: {d['notes']} notes",
        f"  top-1 accuracy {d['top1']:.3f}   top-3 accuracy {d['top3']:.3f}"
        + (f"   Brier {d['brier']:.3f}" if "brier" in d else ""),
        f"  mismatch  precision {m['precision']:.3f}  recall {m['recall']:.3f}  F1 {m['f1']:.3f}  "
        f"(support {m['support']})",
    ]
    for name, table in d["confusion"].items():
        codes = list(table)
        if not any(sum(row.values()) for row in table.values()):
            continue
        lines.append(f"  {name} (rows: true code, columns: suggested)")
        lines.append("    " + " " * 6 + "".join(f"{c[-4:]:>6}" for c in (*codes, "other")))
        for gold in codes:
            row = table[gold]
            lines.append(f"    {gold:<6}" + "".join(f"{row[c]:>6}" for c in (*codes, "other")))
    return "\n".join(lines)
