"""Numeric features of a note for the code suggester, from the pipeline's own extractions.

The suggester does not only read words: it sees what the negation-aware pipeline found
(modality performed or only ordered, capture vs interpretation documented, field of view,
number of 3D volumes, fusion/simulation/subtraction, outside images, contrast). That is what
moves "interpretation deferred to the radiologist" from D0370 to D0386.
"""

from __future__ import annotations

from typing import Any

from spacy.tokens import Doc

from .catalog import ITEMS, Catalog
from .components.service import ServiceFacts

MODALITIES = (
    "ultrasound",
    "mri",
    "cbct",
    "sialoendoscopy",
    "sialography",
    "arthrography",
    "tmj_radiograph",
    "tomography",
    "ct",
    "intraoral_scan",
    "facial_scan",
    "panoramic",
    "intraoral_film",
    "unspecified_imaging",
)
POSTPROCESSING = ("fusion", "simulation", "subtraction")
FIELDS_OF_VIEW = ("limited", "mandible", "maxilla", "both_jaws", "tmj", "one_arch", "single_exposure", "large_field")
FLAGS = ("capture", "read_elsewhere", "outside_images", "report", "contrast", "report_sections", "own_read")
REASONS = ("deferred", "negated", "empty", "restates_findings", "not_imaging")
#: every label the rule-derived candidate code can take: the catalog codes and NONE
RULE_LABELS = (*(info.code for info in Catalog.default()), "NONE")

#: the names of the numeric feature columns, in a fixed order
FEATURE_NAMES: tuple[str, ...] = (
    *(f"performed_{m}" for m in MODALITIES),
    *(f"ordered_{m}" for m in MODALITIES),
    *(f"prior_{m}" for m in MODALITIES),
    *(f"post_{p}" for p in POSTPROCESSING),
    *(f"fov_{f}" for f in FIELDS_OF_VIEW),
    *(f"flag_{f}" for f in FLAGS),
    "n_volumes",
    "imaging_performed",
    *(f"item_{i}" for i in ITEMS),
    *(f"interpretation_{r}" for r in REASONS),
    *(f"rule_{label}" for label in RULE_LABELS),
)


def note_features(facts: ServiceFacts, present: dict[str, bool], reasons: dict[str, str | None]) -> dict[str, float]:
    """The feature vector of one note as a name -> value mapping (all of FEATURE_NAMES)."""
    out: dict[str, float] = dict.fromkeys(FEATURE_NAMES, 0.0)
    for m in facts.performed:
        if m in MODALITIES:
            out[f"performed_{m}"] = 1.0
    for m in facts.ordered - facts.performed:  # done and also re-ordered counts as done
        if m in MODALITIES:
            out[f"ordered_{m}"] = 1.0
    for m in facts.prior:
        if m in MODALITIES:
            out[f"prior_{m}"] = 1.0
    for p in facts.postprocessing:
        out[f"post_{p}"] = 1.0
    for f in facts.fields_of_view:
        out[f"fov_{f}"] = 1.0
    for flag in FLAGS:
        out[f"flag_{flag}"] = float(bool(getattr(facts, flag)))
    out["n_volumes"] = float(min(len(facts.volumes), 3))
    out["imaging_performed"] = float(facts.imaging_performed)
    for item in ITEMS:
        out[f"item_{item}"] = float(present[item])
    reason = reasons.get("interpretation")
    if reason in REASONS:
        out[f"interpretation_{reason}"] = 1.0
    from .rule_code import rule_code

    out[f"rule_{rule_code(facts, present['interpretation'])}"] = 1.0
    return out


def doc_features(doc: Doc, item_results: dict[str, Any]) -> dict[str, float]:
    """Features from a processed doc and the checker's item results."""
    return note_features(
        doc._.cdt_facts,
        {k: v.present for k, v in item_results.items()},
        {k: v.reason for k, v in item_results.items()},
    )
