"""Loading and compiling the rule data files shipped in ``cdt_nlp/resources``.

Every rule file is JSON with one documented top-level key (plus optional
companions listed in :data:`RULE_FILES`). Loading rejects unknown keys so a
typo in a rule file fails loudly instead of silently matching nothing.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any

from . import fastre
from .errors import CdtError

#: file name -> (required top-level key, allowed extra keys)
RULE_FILES: dict[str, tuple[str, frozenset[str]]] = {
    "sections.json": (
        "section_rules",
        frozenset(
            {
                "placeholder_bodies",
                "header_prefixes",
                "header_suffixes",
                "sentence_openers",
                "prior_note",
                "sublabels",
                "spoken_headers",
                "billing_comments",
                "charge_lines",
                "question_answer",
                "pie_layout",
            }
        ),
    ),
    "items.json": ("item_rules", frozenset({"sentence_filters", "combined_filters"})),
    "context.json": ("context_rules", frozenset({"scope"})),
    "lexicon.json": ("term_sets", frozenset()),
    "service.json": ("service_rules", frozenset()),
    "catalog.json": ("codes", frozenset()),
    "claims.json": ("claim_rules", frozenset()),
    "tokenizer.json": ("tokenizer_rules", frozenset()),
    "fixes.json": ("fixes", frozenset({"check_messages", "reason_phrases", "item_labels", "mismatch_messages"})),
}

_SET_REF = re.compile(r"\{([a-z_]+)\}")


def validate_rules(name: str, data: Any) -> dict[str, Any]:
    """Check a rule mapping has its top-level key and nothing unknown.

    Parameters
    ----------
    name:
        The rule file name, e.g. ``"items.json"``.
    data:
        The parsed JSON content.
    """
    key, extra = RULE_FILES[name]
    if not isinstance(data, dict) or key not in data:
        raise CdtError("E010", file=name, key=key)
    unknown = set(data) - {key} - extra
    if unknown:
        raise CdtError("E011", file=name, keys=", ".join(sorted(unknown)))
    return data


@cache
def _read_packaged(name: str) -> str:
    return resources.files("cdt_nlp").joinpath("resources", name).read_text(encoding="utf-8")


def load_rules(name: str) -> dict[str, Any]:
    """Return a fresh, validated copy of a packaged rule file."""
    return validate_rules(name, json.loads(_read_packaged(name)))


def term_alternation(entries: list[str]) -> str:
    """Join term-set entries into one regex alternation.

    Entries that start with ``=`` are case-sensitive (``=US`` matches the
    abbreviation, not the pronoun).
    """
    parts = []
    for entry in entries:
        if entry.startswith("="):
            parts.append(f"(?-i:{entry[1:]})")
        else:
            parts.append(f"(?:{entry})")
    return "|".join(parts)


def expand_sets(pattern: str, term_sets: dict[str, list[str]]) -> str:
    """Replace ``{set_name}`` references with the set's alternation."""

    def repl(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in term_sets:
            raise CdtError("E012", name=name)
        return f"(?:{term_alternation(term_sets[name])})"

    return _SET_REF.sub(repl, pattern)


def compile_terms(pattern: str, term_sets: dict[str, list[str]] | None = None) -> fastre.FastPattern:
    """Compile a rule pattern case-insensitively with word-like boundaries."""
    if term_sets:
        pattern = expand_sets(pattern, term_sets)
    return fastre.compile(rf"(?<![\w/#])(?:{pattern})(?![\w])", re.IGNORECASE)


def compile_list(patterns: list[str], term_sets: dict[str, list[str]] | None = None) -> fastre.FastPattern:
    """Compile a list of alternatives (``=``-prefixed ones case-sensitive)."""
    return compile_terms(term_alternation(patterns), term_sets)
