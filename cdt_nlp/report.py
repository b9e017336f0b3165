"""Plain-text rendering of a check result for terminals (colour when it is a TTY)."""

from __future__ import annotations

from functools import lru_cache

import click

from .catalog import ITEMS, CodeInfo
from .checker import CheckResult
from .rules import load_rules


@lru_cache(maxsize=1)
def _texts() -> dict:
    return load_rules("fixes.json")


def item_label(item: str) -> str:
    return _texts()["item_labels"][item]


def reason_phrase(reason: str | None) -> str:
    return _texts()["reason_phrases"].get(reason or "not_found", reason or "")


def render_text(result: CheckResult, info: CodeInfo) -> str:
    """A readable report: score, checklist with quoted evidence, fixes, warnings, suggestion."""
    lines = []
    score_colour = "green" if result.score >= 90 else "yellow" if result.score >= 70 else "red"
    lines.append(
        click.style(f"{info.code}  {info.name}", bold=True)
        + "   score "
        + click.style(f"{result.score:.1f}/100", fg=score_colour, bold=True)
    )
    lines.append("")
    lines.append(click.style("Checklist", bold=True))
    for item in ITEMS:
        r = result.items[item]
        required = "" if r.required else click.style(" (not required for this code)", dim=True)
        if r.present:
            mark = click.style("✔", fg="green")
            quote = f'  "{r.evidence[0].text}"' if r.evidence else ""
            learned = ""
            if r.found_by == "classifier":
                learned = click.style(
                    f" (found by the sentence classifier, {r.confidence:.0%}; check the quote)", dim=True
                )
            lines.append(f"  {mark} {item_label(item)}{required}{quote}{learned}")
        else:
            mark = click.style("✘", fg="red" if r.required else "yellow")
            why = reason_phrase(r.reason)
            quote = f': "{r.evidence[0].text}"' if r.evidence else ""
            lines.append(f"  {mark} {item_label(item)}{required} - {why}{quote}")
    if result.missing:
        lines.append("")
        lines.append(click.style("What to add", bold=True))
        for item, fix in zip(result.missing, result.fixes, strict=True):
            lines.append(f"  - {item_label(item)}: {fix}")
    if result.warnings:
        lines.append("")
        lines.append(click.style("Warnings", bold=True))
        for w in result.warnings:
            lines.append(click.style("  ! ", fg="yellow") + w.message)
    if result.best_is_no_service:
        lines.append("")
        text = f"Suggested code: none (no catalog imaging service documented, {result.no_service_probability:.0%})"
        lines.append(click.style(text, fg="red" if result.mismatch else None, bold=result.mismatch))
    elif result.suggestions:
        lines.append("")
        best = result.suggestions[0]
        text = f"Suggested code: {best['code']} ({best['probability']:.0%})"
        lines.append(click.style(text, fg="red" if result.mismatch else None, bold=result.mismatch))
    return "\n".join(lines)


def render_code(info: CodeInfo) -> str:
    """One code's catalog entry and checklist."""
    lines = [click.style(f"{info.code}  {info.name}", bold=True), info.description, ""]
    lines.append(
        f"Modality: {info.modality}   Component: {info.component.replace('_', ' ')}"
        + (f"   Field of view: {info.field_of_view.replace('_', ' ')}" if info.field_of_view else "")
    )
    lines.append("")
    lines.append(click.style("Checklist (weight)", bold=True))
    for item in ITEMS:
        if item in info.checklist:
            lines.append(f"  - {item_label(item)} ({info.checklist[item]:g})")
        else:
            lines.append(click.style(f"  - {item_label(item)} (not required)", dim=True))
    if info.checks:
        lines.append("")
        lines.append(click.style("Code-specific checks", bold=True))
        lines.extend(f"  - {c.replace('_', ' ')}" for c in info.checks)
    if info.confusables:
        lines.append("")
        lines.append(click.style("Often confused with", bold=True))
        lines.extend(f"  - {c.code}: {c.question}" for c in info.confusables)
    return "\n".join(lines)
