"""Plain-words explanation of a code mismatch (target code vs the code the note supports)."""

from __future__ import annotations

from functools import lru_cache

from .catalog import FOV_NAMES, Catalog, CodeInfo
from .rules import load_rules
from .suggester import NONE_LABEL


@lru_cache(maxsize=1)
def _messages() -> dict[str, str]:
    return load_rules("fixes.json")["mismatch_messages"]


def _reason(target: CodeInfo, top: CodeInfo, interp_reason: str | None) -> str:
    m = _messages()
    if top.component == "interpretation_only":
        return m["reason.outside"]
    if target.component == "interpretation_only":
        return m["reason.own_capture"]
    if top.modality == target.modality:
        if target.component == "capture_and_interpretation" and top.component == "capture_only":
            interp = {
                "deferred": "deferred or done elsewhere",
                "negated": "not done by this provider",
                "empty": "left blank",
            }.get(interp_reason or "", "not recorded")
            return m["reason.capture_only"].format(interp=interp)
        if target.component == "capture_only" and top.component == "capture_and_interpretation":
            return m["reason.own_read"]
        if top.field_of_view and top.field_of_view != target.field_of_view:
            return m["reason.fov"].format(fov=FOV_NAMES[top.field_of_view])
    return m["reason.modality"].format(noun=top.name.lower(), target_noun=target.name.lower())


def mismatch_message(
    catalog: Catalog,
    target: CodeInfo,
    top_code: str,
    probability: float,
    interp_reason: str | None,
    *,
    target_probability: float = 0.0,
    confident: bool = True,
) -> str:
    """The warning text for a mismatch between ``target`` and the suggested ``top_code``.

    ``confident=False`` is a mismatch raised because the target itself is improbable while no
    other reading is sure: the message says so instead of naming a code as the answer."""
    m = _messages()
    if not confident:
        nearest = m["unsupported.none"] if top_code == NONE_LABEL else catalog.get(top_code).code
        return m["unsupported"].format(
            target=target.code, target_probability=target_probability, nearest=nearest, probability=probability
        )
    if top_code == NONE_LABEL:
        return m["no_service"].format(probability=probability, target=target.code)
    top = catalog.get(top_code)
    return m["better_code"].format(
        code=top.code,
        name=top.name,
        target=target.code,
        probability=probability,
        reason=_reason(target, top, interp_reason),
    )
