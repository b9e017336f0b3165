"""Code-specific documentation checks (capture vs interpretation, field of view, ...).

Each check is a function of (code, item presence, service facts) that returns
the messages of what failed; an empty list means the check passed. Messages
are data (``resources/fixes.json``); checks are registered by the id used in
the catalog's ``checks`` lists.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from .catalog import FOV_NAMES, Catalog, CodeInfo
from .components.service import ServiceFacts
from .rules import load_rules

_FOV_EXAMPLES = {
    "limited": "limited FOV 5 x 5 cm, #19-#20 region",
    "mandible": "full mandibular arch FOV",
    "maxilla": "full maxillary arch FOV",
    "both_jaws": "large FOV, both jaws",
    "tmj": "bilateral TMJ series, open and closed",
}
_TIMEPOINTS = re.compile(
    r"baseline|prior|previous|earlier|initial|pre-?op|post-?op|follow-?up|\bthen\b|compared|comparison|"
    r"\b(two|2|both|serial|sequential)\b|\d{1,2}/\d{1,2}(/\d{2,4})?|\b(19|20)\d{2}\b|months? (later|apart|ago)",
    re.IGNORECASE,
)
_GLAND = re.compile(r"parotid|submandibular|sublingual|wharton|stens[eo]n|duct|gland|smg", re.IGNORECASE)


@dataclass(frozen=True)
class CheckContext:
    info: CodeInfo
    present: dict[str, bool]
    reasons: dict[str, str | None]
    facts: ServiceFacts
    catalog: Catalog
    text: str


CheckFn = Callable[[CheckContext], list[str]]
CHECKS: dict[str, CheckFn] = {}


def register(name: str) -> Callable[[CheckFn], CheckFn]:
    def deco(fn: CheckFn) -> CheckFn:
        CHECKS[name] = fn
        return fn

    return deco


@lru_cache(maxsize=1)
def messages() -> dict[str, str]:
    return load_rules("fixes.json")["check_messages"]


def msg(key: str, ctx: CheckContext, **fields: object) -> str:
    base = {"code": ctx.info.code, "image_noun": ctx.info.image_noun}
    return messages()[key].format(**{**base, **fields})


def _captured(ctx: CheckContext) -> bool:
    """Whether the note records this code's imaging as captured here: the modality performed, or
    capture wording ("images acquired and saved") when no other modality is named as the one done
    (bitewings taken at a hygiene visit are no cone beam capture)."""
    f = ctx.facts
    if ctx.info.modality in f.performed:
        return True
    other_only = bool(f.performed) and "unspecified_imaging" not in f.performed
    return f.capture and not f.outside_images and not other_only


@register("capture_and_interpretation")
def capture_and_interpretation(ctx: CheckContext) -> list[str]:
    if not _captured(ctx):
        return [msg("capture_and_interpretation.no_capture", ctx)]
    out = []
    if not ctx.present["interpretation"]:
        reason = ctx.reasons.get("interpretation")
        detail = {
            "deferred": " (the interpretation is deferred or sent elsewhere)",
            "negated": " (the note says it was not interpreted)",
            "empty": " (the impression header is empty)",
        }.get(reason or "", "")
        sibling = ctx.catalog.sibling(ctx.info, "capture_only")
        if sibling is not None:
            out.append(
                msg("capture_and_interpretation.no_interpretation", ctx, detail=detail, capture_code=sibling.code)
            )
        else:
            out.append(msg("capture_and_interpretation.no_interpretation_nocode", ctx, detail=detail))
    return out


@register("capture_only")
def capture_only(ctx: CheckContext) -> list[str]:
    out = []
    if not _captured(ctx):
        out.append(msg("capture_only.no_capture", ctx))
    if ctx.present["interpretation"] and not ctx.facts.read_elsewhere:
        sibling = ctx.catalog.sibling(ctx.info, "capture_and_interpretation")
        if sibling is not None:
            out.append(msg("capture_only.own_interpretation", ctx, combined_code=sibling.code))
        else:
            out.append(msg("capture_only.own_interpretation_nocode", ctx))
    return out


@register("cbct_field_of_view")
def cbct_field_of_view(ctx: CheckContext) -> list[str]:
    want = ctx.info.field_of_view
    found = ctx.facts.named_fields_of_view
    if want is None or want in found or not _captured(ctx):
        return []  # nothing captured here: the missing capture is the message, not its field
    if not found:
        return [msg("cbct_field_of_view.missing", ctx, fov_name=FOV_NAMES[want], fov_example=_FOV_EXAMPLES[want])]
    other = found[0]
    code = ctx.catalog.cbct_code(ctx.info.component, other)
    return [
        msg(
            "cbct_field_of_view.mismatch",
            ctx,
            fov_name=FOV_NAMES[want],
            found_name=FOV_NAMES[other],
            detail="",
            fov_code=code.code if code else "another code",
        )
    ]


@register("independent_reader")
def independent_reader(ctx: CheckContext) -> list[str]:
    out = []
    if not ctx.facts.outside_images:
        if ctx.facts.capture:
            out.append(msg("independent_reader.own_capture", ctx))
        else:
            out.append(msg("independent_reader.no_source", ctx))
    if not (ctx.present["interpretation"] and (ctx.facts.report or ctx.present["findings"])):
        out.append(msg("independent_reader.no_report", ctx))
    return out


@register("sialoendoscopy_gland_and_result")
def sialoendoscopy_gland_and_result(ctx: CheckContext) -> list[str]:
    out = []
    if "sialoendoscopy" not in ctx.facts.performed:
        out.append(msg("sialoendoscopy_gland_and_result.no_scope", ctx))
    if not _GLAND.search(ctx.text):
        out.append(msg("sialoendoscopy_gland_and_result.gland", ctx))
    if not ctx.present["findings"]:
        out.append(msg("sialoendoscopy_gland_and_result.result", ctx))
    return out


@register("contrast_injection")
def contrast_injection(ctx: CheckContext) -> list[str]:
    return [] if ctx.facts.contrast else [msg("contrast_injection.missing", ctx)]


@register("simulation_purpose_and_result")
def simulation_purpose_and_result(ctx: CheckContext) -> list[str]:
    if "simulation" not in ctx.facts.postprocessing:
        return [msg("simulation_purpose_and_result.no_simulation", ctx)]
    out = []
    if not ctx.present["rationale"]:
        out.append(msg("simulation_purpose_and_result.purpose", ctx))
    if not ctx.present["findings"]:
        out.append(msg("simulation_purpose_and_result.result", ctx))
    if not ctx.present["follow_up"]:
        out.append(msg("simulation_purpose_and_result.plan", ctx))
    if not ctx.facts.volumes & {"cbct", "ct", "mri"}:
        out.append(msg("simulation_purpose_and_result.volume", ctx))
    return out


@register("subtraction_same_modality")
def subtraction_same_modality(ctx: CheckContext) -> list[str]:
    if "subtraction" in ctx.facts.postprocessing and _TIMEPOINTS.search(ctx.text):
        return []
    return [msg("subtraction_same_modality.missing", ctx)]


@register("fusion_volumes")
def fusion_volumes(ctx: CheckContext) -> list[str]:
    if "fusion" not in ctx.facts.postprocessing:
        return [msg("fusion_volumes.no_fusion", ctx)]
    out = []
    if len(ctx.facts.volumes) < 2:
        out.append(msg("fusion_volumes.count", ctx, count=len(ctx.facts.volumes)))
    if not ctx.present["rationale"]:
        out.append(msg("fusion_volumes.why", ctx))
    return out


def run_checks(ctx: CheckContext) -> list[tuple[str, list[str]]]:
    """Run every check the code lists; return (check id, failure messages) pairs."""
    return [(name, CHECKS[name](ctx)) for name in ctx.info.checks]
