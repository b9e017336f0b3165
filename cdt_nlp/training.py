"""Training the code suggester from labelled notes, with cross-validated scores and threshold."""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from .checker import Checker
from .errors import CdtError
from .evaluate import LabelledNote, read_labelled
from .features import doc_features
from .suggester import NONE_LABEL, CodeSuggester, build_pipeline, feature_frame, save_suggester
from .textio import prepare_note

#: generated notes (ids "train-...") count once; hand-written notes count this many times
HAND_WRITTEN_WEIGHT = 3.0
#: F1 differences smaller than this are treated as ties when choosing the threshold
F1_TOLERANCE = 0.01
#: target floors whose F1 (at the chosen threshold) is within this of the best count as tied, and
#: the middle one of them is taken: the F1 curve over floors is nearly flat, its exact top moved from
#: shuffle to shuffle, and the middle of the flat stretch is the choice least moved by that noise
FLOOR_TOLERANCE = 0.005
#: thresholds tried for reporting a mismatch (probability of the top class)
THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.20, 0.96, 0.05))
#: target-code probabilities below which the target is reported as unsupported (0: never)
TARGET_FLOORS = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4)
#: cross-validation is repeated with this many shuffles (seed, seed + 1, ...); the threshold and
#: floor are chosen on the F1 averaged over them, so one lucky split does not move them
CV_REPEATS = 3


def label_of(note: LabelledNote) -> str:
    return note.best_code or NONE_LABEL


def extract_features(notes: Sequence[LabelledNote], checker: Checker) -> tuple[list[str], list[dict[str, float]]]:
    """Run the spaCy pipeline once per note and return (texts as the pipeline read them, feature
    dicts), so the model trains on the same text it scores at check time."""
    info = next(iter(checker.catalog))
    texts = [prepare_note(n.text, checker.max_chars)[1] for n in notes]
    features = []
    for doc in checker.nlp.pipe(texts, batch_size=64):
        features.append(doc_features(doc, checker.item_results(doc, info)))
    return texts, features


def mismatch_scores(
    targets: Sequence[str | None],
    golds: Sequence[str],
    ranked_top: Sequence[tuple[str, float]],
    threshold: float,
    target_probabilities: Sequence[float] | None = None,
    target_floor: float = 0.0,
) -> dict[str, float]:
    """Precision/recall/F1 of mismatch flags: gold mismatch is target != best code (or no service).
    A flag is raised as :meth:`CodeSuggester.is_mismatch` raises it: a confident other code, or
    (with ``target_probabilities``) a target whose probability is under ``target_floor``."""
    tp = fp = fn = 0
    p_targets = target_probabilities if target_probabilities is not None else [1.0] * len(golds)
    for target, gold, (top, p), p_target in zip(targets, golds, ranked_top, p_targets, strict=True):
        if target is None:
            continue
        truth = gold != target
        pred = top != target and (p >= threshold or p_target < target_floor)
        tp += truth and pred
        fp += pred and not truth
        fn += truth and not pred
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def brier(proba: np.ndarray, classes: Sequence[str], golds: Sequence[str]) -> float:
    onehot = np.array([[c == g for c in classes] for g in golds], dtype=float)
    return float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))


def choose_setting(grids: Sequence[dict[tuple[float, float], dict[str, float]]]) -> tuple[float, float, dict]:
    """(threshold, target floor, the averaged grid) from per-shuffle mismatch grids, each mapping
    (threshold, floor) to precision/recall/F1. The scores are averaged over the shuffles first.

    The F1 surface is flat near its top: among settings within F1_TOLERANCE of the best, take the
    threshold closest to 0.5 rather than an extreme that wins by one note, then the
    middle one of the floors within FLOOR_TOLERANCE of the best F1 at that threshold (the lower
    middle for an even count)."""
    grid = {
        key: {name: round(float(np.mean([g[key][name] for g in grids])), 4) for name in grids[0][key]}
        for key in grids[0]
    }
    top_f1 = max(v["f1"] for v in grid.values())
    plateau = [key for key, v in grid.items() if v["f1"] >= top_f1 - F1_TOLERANCE]
    threshold = min((t for t, _ in plateau), key=lambda t: abs(t - 0.5))
    best_at_threshold = max(grid[threshold, f]["f1"] for f in TARGET_FLOORS if (threshold, f) in grid)
    near_best = sorted(f for t, f in grid if t == threshold and grid[t, f]["f1"] >= best_at_threshold - FLOOR_TOLERANCE)
    floor = near_best[(len(near_best) - 1) // 2]
    return threshold, floor, grid


@dataclass
class TrainingResult:
    suggester: CodeSuggester
    cv: dict[str, Any] = field(default_factory=dict)


def train_suggester(
    notes: Sequence[LabelledNote], checker: Checker, seed: int = 0, folds: int = 5, repeats: int = CV_REPEATS
) -> TrainingResult:
    """Fit the suggester; choose the mismatch threshold and target floor on cross-validated
    probabilities (``repeats`` shuffles of ``folds`` folds, F1 averaged over the shuffles). The
    notes are sorted by id first, so the model does not depend on the order they come in."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    if not notes:
        raise CdtError("E032", path="(given notes)")
    # one canonical row order: the classifier's inner calibration folds are not shuffled, so the
    # fitted model would otherwise depend on the order of the files and of the lines in them
    notes = sorted(notes, key=lambda n: (n.id, n.text))
    texts, features = extract_features(notes, checker)
    frame = feature_frame(texts, features)
    golds = [label_of(n) for n in notes]
    pipeline = build_pipeline(seed)
    counts = np.unique(golds, return_counts=True)[1]
    folds = max(2, min(folds, int(counts.min())))
    weights = np.array([1.0 if n.id.startswith("train-") else HAND_WRITTEN_WEIGHT for n in notes])
    fit_params = {"classifier__sample_weight": weights}
    classes = sorted(set(golds))
    column = {c: j for j, c in enumerate(classes)}
    targets = [n.target_code for n in notes]
    runs = []  # per shuffle: top-1, top-3, Brier and the mismatch grid
    for repeat in range(max(1, repeats)):
        cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed + repeat)
        proba = cross_val_predict(build_pipeline(seed), frame, golds, cv=cv, method="predict_proba", params=fit_params)
        order = np.argsort(-proba, axis=1, kind="stable")
        top = [(classes[row[0]], float(proba[i, row[0]])) for i, row in enumerate(order)]
        top3 = [g in {classes[j] for j in row[:3]} for row, g in zip(order, golds, strict=True)]
        p_targets = [float(proba[i, column[t]]) if t in column else 0.0 for i, t in enumerate(targets)]
        runs.append(
            {
                "top1": float(np.mean([t[0] == g for t, g in zip(top, golds, strict=True)])),
                "top3": float(np.mean(top3)),
                "brier": brier(proba, classes, golds),
                "grid": {
                    (t, f): mismatch_scores(targets, golds, top, t, p_targets, f)
                    for t in THRESHOLDS
                    for f in TARGET_FLOORS
                },
            }
        )
    threshold, floor, grid = choose_setting([run["grid"] for run in runs])
    top1 = float(np.mean([run["top1"] for run in runs]))
    top3 = float(np.mean([run["top3"] for run in runs]))
    pipeline.fit(frame, golds, **fit_params)
    scores = {
        "folds": folds,
        "top1": round(top1, 4),
        "top3": round(top3, 4),
        "brier": round(float(np.mean([run["brier"] for run in runs])), 4),
        "repeats": len(runs),
        "mismatch": grid[threshold, floor],
        "mismatch_without_floor": grid[threshold, 0.0],
        "threshold": threshold,
        "target_floor": floor,
        # the averaged F1 at the chosen threshold for every floor tried: how flat the choice was
        "f1_by_floor": {str(f): grid[threshold, f]["f1"] for f in TARGET_FLOORS},
    }
    return TrainingResult(CodeSuggester(pipeline, threshold=threshold, target_floor=floor), scores)


def corpus_sha256(paths: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(Path(path).name.encode())
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    import joblib
    import sklearn
    import spacy

    from . import __version__

    return {
        "python": platform.python_version(),
        "cdt_nlp": __version__,
        "scikit-learn": sklearn.__version__,
        "spacy": spacy.__version__,
        "numpy": np.__version__,
        "joblib": joblib.__version__,
    }


def provenance(paths: Sequence[Path], n_notes: int, seed: int) -> dict[str, Any]:
    """What a model manifest records of its training: when, seed, notes, files and their sha256,
    library versions."""
    return {
        "trained_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "seed": seed,
        "notes": n_notes,
        "corpus_files": [Path(p).name for p in paths],
        "corpus_sha256": corpus_sha256(paths),
        "versions": library_versions(),
    }


def train_from_files(paths: Sequence[Path], out: Path, seed: int = 0, checker: Checker | None = None) -> dict[str, Any]:
    """Read corpora, train, save model + manifest to ``out``; return the manifest."""
    import json

    notes: list[LabelledNote] = []
    for path in paths:
        notes.extend(read_labelled(path))
    checker = checker or Checker(suggester=None)
    result = train_suggester(notes, checker, seed=seed)
    manifest = {**provenance(paths, len(notes), seed), "cv_scores": result.cv}
    manifest_path = save_suggester(result.suggester, Path(out), manifest)
    return json.loads(manifest_path.read_text(encoding="utf-8"))
