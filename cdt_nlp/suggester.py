"""The code suggester: which imaging code does the note actually support?

A scikit-learn ``Pipeline`` over a table with the note text and the pipeline's extracted
features (see :mod:`cdt_nlp.features`): TF-IDF on the text plus the numeric features,
into a calibrated logistic regression. Classes are the 23 catalog codes and ``NONE``
(the note documents none of the catalog's services).

Models are saved with joblib next to a JSON manifest holding the file's sha256. Loading a
pickle runs code, so :func:`load_suggester` refuses a file whose checksum does not match.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CdtError
from .features import FEATURE_NAMES

NONE_LABEL = "NONE"
MODEL_FILE = "suggester.joblib"
#: the same model as plain arrays (no pickle), scored without scikit-learn
ARRAYS_FILE = "suggester.npz"
MANIFEST_FILE = "manifest.json"


def build_pipeline(seed: int = 0, max_features: int = 8000):
    """The untrained estimator: ``Pipeline(ColumnTransformer -> CalibratedClassifierCV(LogisticRegression))``."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    columns = ColumnTransformer(
        [
            (
                "text",
                TfidfVectorizer(
                    lowercase=True,
                    ngram_range=(1, 2),
                    min_df=2,
                    max_features=max_features,
                    sublinear_tf=True,
                    token_pattern=r"(?u)\b[\w#/]+\b",
                ),
                0,
            ),
            ("facts", StandardScaler(), list(range(1, len(FEATURE_NAMES) + 1))),
        ]
    )
    classifier = CalibratedClassifierCV(
        LogisticRegression(C=4.0, max_iter=3000, random_state=seed), method="sigmoid", cv=3
    )
    return Pipeline([("columns", columns), ("classifier", classifier)])


def feature_frame(texts: Sequence[str], features: Sequence[dict[str, float]]) -> np.ndarray:
    """The table the pipeline reads: column 0 the note text, then one column per feature (no pandas)."""
    table = np.empty((len(texts), len(FEATURE_NAMES) + 1), dtype=object)
    table[:, 0] = list(texts)
    if len(texts):
        table[:, 1:] = np.array([[f[name] for name in FEATURE_NAMES] for f in features], dtype=float)
    return table


@dataclass
class Suggestion:
    code: str
    probability: float

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "probability": round(self.probability, 3)}


class CodeSuggester:
    """A trained pipeline plus the mismatch threshold chosen for it.

    Parameters
    ----------
    pipeline:
        A fitted estimator from :func:`build_pipeline`.
    threshold:
        Minimum probability of the top class for a disagreement with the target code to be
        reported as a mismatch (chosen by cross-validation on the training corpus).
    target_floor:
        A target code whose own probability is below this is reported as a mismatch even when
        no other class reaches ``threshold``: the note gives the billed code almost no support
        (a letter or an admin entry the model cannot place confidently). Chosen together with
        ``threshold``; 0 turns it off.
    """

    def __init__(self, pipeline, threshold: float = 0.5, target_floor: float = 0.0) -> None:
        self.pipeline = pipeline
        self.threshold = threshold
        self.target_floor = target_floor

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.pipeline.classes_]

    def predict_proba(self, texts: Sequence[str], features: Sequence[dict[str, float]]) -> np.ndarray:
        return self.pipeline.predict_proba(feature_frame(texts, features))

    def rank(self, proba: np.ndarray) -> list[Suggestion]:
        order = np.argsort(-proba, kind="stable").tolist()
        classes = self.pipeline.classes_
        values = proba.tolist()
        return [Suggestion(str(classes[i]), values[i]) for i in order]

    def suggest(self, text: str, features: dict[str, float]) -> list[Suggestion]:
        """All classes for one note, most probable first."""
        scorer = getattr(self.pipeline, "proba_rows", None)
        if scorer is not None:  # the exported arrays: no object table to build for one note
            facts = np.array([[features[name] for name in FEATURE_NAMES]], dtype=float)
            return self.rank(scorer([text], facts)[0])
        return self.rank(self.predict_proba([text], [features])[0])

    def is_mismatch(self, target: str, ranked: list[Suggestion]) -> bool:
        """True when the top class is not the target and is confident enough, or when the target
        itself gets almost no probability."""
        top = ranked[0]
        if top.code == target:
            return False
        return top.probability >= self.threshold or self.target_probability(target, ranked) < self.target_floor

    @staticmethod
    def target_probability(target: str, ranked: list[Suggestion]) -> float:
        return next((s.probability for s in ranked if s.code == target), 0.0)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_suggester(suggester: CodeSuggester, directory: Path, manifest: dict[str, Any]) -> Path:
    """Write the model with joblib and a manifest with its checksum; return the manifest path."""
    import joblib

    directory.mkdir(parents=True, exist_ok=True)
    model_path = directory / MODEL_FILE
    joblib.dump(
        {"pipeline": suggester.pipeline, "threshold": suggester.threshold, "target_floor": suggester.target_floor},
        model_path,
        compress=0,
    )
    from .linear_export import export_arrays

    arrays_path = directory / ARRAYS_FILE
    export_arrays(suggester.pipeline, arrays_path)
    manifest = {
        **manifest,
        "features": list(FEATURE_NAMES),
        "arrays_file": ARRAYS_FILE,
        "arrays_sha256": sha256_file(arrays_path),
        "model_file": MODEL_FILE,
        "model_sha256": sha256_file(model_path),
        "threshold": suggester.threshold,
        "target_floor": suggester.target_floor,
        "classes": suggester.classes,
    }
    manifest_path = directory / MANIFEST_FILE
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return manifest_path


def read_manifest(directory: Path) -> dict[str, Any]:
    path = Path(directory) / MANIFEST_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CdtError("E030", path=path, reason=str(exc)) from exc


def load_suggester(directory: Path, prefer_arrays: bool = True) -> CodeSuggester:
    """Load a saved suggester after checking its sha256 against the manifest.

    By default the plain-array export is used (numpy only: fast, and loading it runs no code);
    ``prefer_arrays=False`` loads the scikit-learn pipeline from the joblib file. Either way a
    file whose checksum does not match the manifest is refused (:class:`CdtError` E031).
    """
    directory = Path(directory)
    manifest = read_manifest(directory)
    threshold = float(manifest.get("threshold", 0.5))
    target_floor = float(manifest.get("target_floor", 0.0))
    if manifest.get("features") != list(FEATURE_NAMES):
        raise CdtError("E033", path=directory)
    if prefer_arrays and manifest.get("arrays_file"):
        from .linear_export import LinearScorer

        arrays_path = verified_file(directory / manifest["arrays_file"], manifest.get("arrays_sha256"))
        return CodeSuggester(LinearScorer(arrays_path), threshold=threshold, target_floor=target_floor)
    import joblib

    model_path = verified_file(directory / manifest.get("model_file", MODEL_FILE), manifest.get("model_sha256"))
    data = joblib.load(model_path)
    return CodeSuggester(
        data["pipeline"], threshold=float(data["threshold"]), target_floor=float(data.get("target_floor", 0.0))
    )


def verified_file(path: Path, expected: str | None) -> Path:
    """``path`` when it exists and its sha256 is ``expected`` (from a manifest); otherwise a
    :class:`CdtError`: E030 for a missing file, E031 for a checksum that does not match. Call it
    before loading any model file."""
    if not path.is_file():
        raise CdtError("E030", path=path, reason="file not found")
    actual = sha256_file(path)
    if actual != expected:
        raise CdtError("E031", path=path, expected=expected, actual=actual)
    return path
