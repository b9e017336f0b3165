"""Export the fitted suggester pipeline to plain arrays, and score with numpy alone.

The pipeline is linear: TF-IDF of the text and standardised features, then (per calibration
fold) a logistic regression whose per-class scores pass through a sigmoid calibration, the
folds' normalised probabilities averaged. :func:`export_arrays` writes exactly those numbers to
an ``.npz`` file (no pickle, so loading it runs no code), and :class:`LinearScorer` reproduces
``pipeline.predict_proba`` from them without importing scikit-learn, which is most of the
suggester's start-up time. ``tests/test_suggester.py`` checks both give the same probabilities.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np


def word_ngrams(tokens: list[str], lo: int, hi: int) -> list[str]:
    """scikit-learn's word n-grams (``ngram_range=(lo, hi)``) of a token list, shortest first."""
    grams: list[str] = []
    for n in range(lo, hi + 1):
        grams.extend(tokens if n == 1 else map(" ".join, zip(*(tokens[i:] for i in range(n)), strict=False)))
    return grams


def export_arrays(pipeline: Any, path: Path) -> None:
    """Write the numbers of a fitted :func:`cdt_nlp.suggester.build_pipeline` to ``path`` (.npz)."""
    columns = pipeline.named_steps["columns"]
    tfidf = columns.named_transformers_["text"]
    scaler = columns.named_transformers_["facts"]
    calibrated = pipeline.named_steps["classifier"]
    classes = [str(c) for c in calibrated.classes_]
    if len(classes) < 3:
        raise ValueError("array export supports three or more classes")
    vocabulary = sorted(tfidf.vocabulary_, key=tfidf.vocabulary_.get)
    arrays: dict[str, Any] = {
        "classes": np.array(classes),
        "vocabulary": np.array(vocabulary),
        "idf": tfidf.idf_,
        "token_pattern": np.array(tfidf.token_pattern),
        "ngram_range": np.array(tfidf.ngram_range),
        "sublinear_tf": np.array(bool(tfidf.sublinear_tf)),
        "mean": scaler.mean_,
        "scale": scaler.scale_,
        "n_folds": np.array(len(calibrated.calibrated_classifiers_)),
    }
    for i, fold in enumerate(calibrated.calibrated_classifiers_):
        estimator = fold.estimator
        arrays[f"fold{i}_coef"] = estimator.coef_
        arrays[f"fold{i}_intercept"] = estimator.intercept_
        arrays[f"fold{i}_columns"] = np.array([classes.index(str(c)) for c in estimator.classes_])
        arrays[f"fold{i}_a"] = np.array([c.a_ for c in fold.calibrators])
        arrays[f"fold{i}_b"] = np.array([c.b_ for c in fold.calibrators])
    np.savez(path, **arrays)


class LinearScorer:
    """``predict_proba`` of the exported pipeline with numpy only."""

    def __init__(self, path: Path) -> None:
        data = np.load(path, allow_pickle=False)
        self.classes_ = [str(c) for c in data["classes"]]
        self.index = {term: i for i, term in enumerate(data["vocabulary"].tolist())}
        self.idf = data["idf"]
        self.token_re = re.compile(str(data["token_pattern"]))
        self.ngram_range = tuple(int(n) for n in data["ngram_range"])
        self.sublinear = bool(data["sublinear_tf"])
        self.mean = data["mean"]
        self.scale = data["scale"]
        self.folds = [
            (
                data[f"fold{i}_coef"],
                data[f"fold{i}_intercept"],
                data[f"fold{i}_columns"],
                data[f"fold{i}_a"],
                data[f"fold{i}_b"],
            )
            for i in range(int(data["n_folds"]))
        ]
        n_text = len(self.idf)
        # every fold's classes side by side, so one sparse gather and one sigmoid score them all:
        # text terms x (fold, class), facts x (fold, class), and per (fold, class) the intercept
        # and calibration; ``_scatter`` says which (fold, class) each column is
        scatter: list[np.ndarray] = []
        text_coef, fact_coef, intercepts, a_all, b_all = [], [], [], [], []
        for coef, intercept, columns, a, b in self.folds:
            k = coef.shape[0]
            text_coef.append(coef[:, :n_text].T)
            fact_coef.append(coef[:, n_text:].T)
            intercepts.append(intercept[:k])
            a_all.append(a[:k])
            b_all.append(b[:k])
            scatter.append(columns[:k] + len(scatter) * len(self.classes_))
        self._text_coef = np.ascontiguousarray(np.hstack(text_coef))
        self._fact_coef = np.ascontiguousarray(np.hstack(fact_coef))
        self._intercept = np.concatenate(intercepts)
        self._a = np.concatenate(a_all)
        self._b = np.concatenate(b_all)
        self._scatter = np.concatenate(scatter)

    def _tfidf(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The note's l2-normalised tf-idf row as (column indices, values): most columns are 0."""
        grams = word_ngrams(self.token_re.findall(text.lower()), *self.ngram_range)
        counts = Counter(map(self.index.get, grams))
        counts.pop(None, None)  # terms outside the vocabulary
        columns = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
        values = np.fromiter(counts.values(), dtype=float, count=len(counts))
        if self.sublinear:
            values = 1.0 + np.log(values)
        values *= self.idf[columns]
        norm = np.sqrt(np.dot(values, values))
        return columns, (values / norm if norm > 0 else values)

    def predict_proba(self, table: np.ndarray) -> np.ndarray:
        """Same input as the sklearn pipeline: column 0 text, then the feature columns."""
        return self.proba_rows(table[:, 0], table[:, 1:].astype(float))

    def proba_rows(self, texts, facts: np.ndarray) -> np.ndarray:
        """Probabilities for ``texts`` with their feature rows ``facts`` (floats, one row each)."""
        n_classes = len(self.classes_)
        scores = (facts - self.mean) / self.scale @ self._fact_coef + self._intercept
        for r, text in enumerate(texts):
            columns, values = self._tfidf(str(text))
            scores[r] += values @ self._text_coef[columns]
        calibrated = 1.0 / (1.0 + np.exp(self._a * scores + self._b))
        # each fold's probabilities over all classes, normalised per fold (uniform when all 0)
        proba = np.zeros((len(texts), len(self.folds) * n_classes))
        proba[:, self._scatter] = calibrated
        proba = proba.reshape(len(texts), len(self.folds), n_classes)
        denominator = np.add.reduce(proba, axis=2, keepdims=True)
        if (denominator > 0).all():
            proba = proba / denominator
        else:
            safe = np.where(denominator > 0, denominator, 1.0)
            proba = np.where(denominator > 0, proba / safe, 1.0 / n_classes)
        return np.add.reduce(proba, axis=1) / len(self.folds)
