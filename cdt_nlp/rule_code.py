"""A deterministic candidate code from the extracted service facts.

This is the catalog's own logic (post-processing first, then whose images, then modality,
then capture vs interpretation and field of view) applied to what the pipeline found. The
suggester gets it as features and learns how far to trust it against the text.
"""

from __future__ import annotations

from .catalog import Catalog
from .components.service import ServiceFacts
from .suggester import NONE_LABEL

#: modality priority when a note mentions several performed modalities (a sialogram note often
#: names sialendoscopy as the next step; chosen on the tune sets)
MODALITY_ORDER = (
    "sialography",
    "sialoendoscopy",
    "arthrography",
    "mri",
    "ultrasound",
    "tmj_radiograph",
    "tomography",
    "cbct",
)
SINGLE_CODES = {
    "sialoendoscopy": "D0371",
    "sialography": "D0310",
    "arthrography": "D0320",
    "tmj_radiograph": "D0321",
    "tomography": "D0322",
}
#: catalog services that are procedures done on the patient here, never a read of outside images
PROCEDURES = frozenset({"sialoendoscopy", "sialography", "arthrography"})
FOV_ORDER = ("both_jaws", "tmj", "maxilla", "mandible", "limited")


def rule_code(facts: ServiceFacts, interpretation_present: bool, catalog: Catalog | None = None) -> str:
    """The code the facts point to, or ``NONE`` when no catalog service is documented."""
    catalog = catalog or Catalog.default()
    if "fusion" in facts.postprocessing:
        return "D0395"
    if "simulation" in facts.postprocessing:
        return "D0393"
    if "subtraction" in facts.postprocessing:
        return "D0394"
    performed = [m for m in MODALITY_ORDER if m in facts.performed]
    procedure = next((m for m in performed if m in PROCEDURES), None)
    if procedure is not None:  # a procedure done here cannot be someone else's images
        return SINGLE_CODES[procedure]
    if facts.images_unavailable and not facts.own_read:
        return NONE_LABEL  # only another provider's written report was seen
    if facts.outside_images and (interpretation_present or facts.own_read):
        return "D0391"
    if facts.outside_images and not (facts.capture or facts.own_read or interpretation_present):
        return NONE_LABEL  # someone else's images, neither read nor captured here
    if not performed:
        if facts.capture and facts.named_fields_of_view and not facts.ordered & {"cbct", "ct"}:
            performed = ["cbct"]  # "we captured the full mandibular arch": a volume without its name
        else:
            return NONE_LABEL
    modality = performed[0]
    if modality in SINGLE_CODES:
        return SINGLE_CODES[modality]
    # a read sent elsewhere beats interpretation-like wording, unless the note says this provider read
    # it or is itself a report (findings and impression sections with content)
    read_here = facts.own_read or (interpretation_present and (facts.report_sections or not facts.read_elsewhere))
    if facts.own_read_of and modality in facts.read_elsewhere_of and modality not in facts.own_read_of:
        read_here = False  # two studies: this provider read the other one, this one went out for its read
    capture_only = not read_here
    component = "capture_only" if capture_only else "capture_and_interpretation"
    if modality in ("mri", "ultrasound"):
        for info in catalog:
            if info.modality == modality and info.component == component:
                return info.code
    fovs = set(facts.named_fields_of_view)
    fov = next((f for f in FOV_ORDER if f in fovs), "limited")
    code = catalog.cbct_code(component, fov)
    return code.code if code else NONE_LABEL
