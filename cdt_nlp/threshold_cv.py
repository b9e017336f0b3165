"""Choose the sentence classifier's per-item thresholds by cross-validation over the tune sets.

Folds are whole files (one writer's set never sits on both sides). For each fold a classifier is
trained on the other files; the held-out notes are then checked with the item's threshold set to
almost zero, which records, for every note where the rules found nothing, the probability of the
best sentence the classifier may take (its guards applied). Any threshold's answer follows from
that probability, so one pass per fold sweeps them all.

The rule (:func:`choose_threshold`): the threshold with the highest missing-class F1 over all
held-out notes among those at which the classifier's own finds are at least ``min_precision``
right: a biller is told an item is there only when that is usually true.

Run: ``python -m cdt_nlp.threshold_cv`` (about four minutes on two cores).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .sentence_items import LEARNED_ITEMS, MANIFEST_FILE, train_from_files

#: thresholds tried, highest first
GRID = (0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5, 0.45, 0.4)
#: the share of the classifier's finds that must be right
MIN_PRECISION = 0.8

#: one held-out note: (labelled present, found by the classifier, its probability, present as checked)
Outcome = tuple[bool, bool, float, bool]


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def sweep(outcomes: Sequence[Outcome], grid: Sequence[float] = GRID) -> list[dict[str, float]]:
    """Per threshold: item F1, missing-class F1 and the precision of the classifier's finds."""
    rows = []
    for t in grid:
        tp = fp = fn = tn = learned_tp = learned_fp = 0
        for gold, learned, probability, present in outcomes:
            predicted = probability >= t if learned else present
            if learned and predicted:
                learned_tp += gold
                learned_fp += not gold
            tp += gold and predicted
            fn += gold and not predicted
            fp += (not gold) and predicted
            tn += (not gold) and not predicted
        finds = learned_tp + learned_fp
        rows.append(
            {
                "threshold": t,
                "f1": round(_f1(tp, fp, fn), 4),
                "missing_f1": round(_f1(tn, fn, fp), 4),
                "learned_precision": round(learned_tp / finds, 3) if finds else 1.0,
                "learned_finds": finds,
            }
        )
    return rows


def choose_threshold(rows: Sequence[dict[str, float]], min_precision: float = MIN_PRECISION) -> float:
    """The threshold with the best missing-class F1 whose finds are at least ``min_precision``
    right (ties: the higher threshold)."""
    allowed = [r for r in rows if r["learned_precision"] >= min_precision]
    if not allowed:
        return max(r["threshold"] for r in rows)
    return max(allowed, key=lambda r: (r["missing_f1"], r["threshold"]))["threshold"]


def folds(paths: Sequence[Path], k: int = 5) -> list[list[Path]]:
    """``k`` groups of whole files, dealt in name order."""
    ordered = sorted(paths, key=lambda p: p.name)
    return [ordered[i::k] for i in range(k)]


def held_out_outcomes(model_dir: Path, item: str, paths: Sequence[Path]) -> list[Outcome]:
    """Check the notes of ``paths`` with ``item``'s threshold near zero (others as saved)."""
    from .checker import Checker
    from .evaluate import read_labelled
    from .sentence_items import load_sentence_items

    manifest_path = model_dir / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["thresholds"] = {**manifest["thresholds"], item: 1e-6}
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    checker = Checker(suggester=None, sentence_items=load_sentence_items(model_dir))
    out: list[Outcome] = []
    for path in paths:
        for note in read_labelled(path):
            result = checker.check(note.text, note.target_code or note.best_code or "D0310").items[item]
            learned = result.found_by == "classifier"
            out.append((bool(note.items[item]), learned, float(result.confidence or 0.0), result.present))
    return out


def cross_validate(paths: Sequence[Path], items: Sequence[str] = tuple(LEARNED_ITEMS), k: int = 5) -> dict:
    """Per item: the sweep over the held-out notes of all folds and the chosen threshold."""
    outcomes: dict[str, list[Outcome]] = {item: [] for item in items}
    groups = folds(paths, k)
    with tempfile.TemporaryDirectory() as tmp:
        for i, held_out in enumerate(groups):
            train = [p for j, group in enumerate(groups) if j != i for p in group]
            model_dir = Path(tmp) / f"fold{i}"
            train_from_files(train, model_dir)
            saved = (model_dir / MANIFEST_FILE).read_text(encoding="utf-8")
            for item in items:
                (model_dir / MANIFEST_FILE).write_text(saved, encoding="utf-8")
                outcomes[item] += held_out_outcomes(model_dir, item, held_out)
    report = {}
    for item in items:
        rows = sweep(outcomes[item])
        report[item] = {"chosen": choose_threshold(rows), "shipped": LEARNED_ITEMS[item], "sweep": rows}
    return report


def main() -> None:  # pragma: no cover - a long run, exercised by hand
    corpus = Path(os.environ.get("CDT_NLP_CORPUS", "corpus"))
    report = cross_validate(sorted(corpus.glob("tune*.jsonl")))
    for item, entry in report.items():
        print(f"{item}: chosen {entry['chosen']:.2f} (shipped {entry['shipped']:.2f})")
        for row in entry["sweep"]:
            print(
                f"  {row['threshold']:.2f}  F1 {row['f1']:.4f}  missing F1 {row['missing_f1']:.4f}  "
                f"classifier finds {row['learned_finds']} ({row['learned_precision']:.0%} right)"
            )


if __name__ == "__main__":  # pragma: no cover
    main()
