"""The imaging code catalog (``resources/catalog.json``) and code normalisation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .errors import CdtError
from .rules import load_rules

ITEMS = ("chief_complaint", "anatomical_region", "findings", "interpretation", "rationale", "follow_up")
FOV_NAMES = {
    "limited": "limited-field",
    "mandible": "one-arch mandible",
    "maxilla": "one-arch maxilla",
    "both_jaws": "both-jaws",
    "tmj": "TMJ-series",
}
_CODE = re.compile(r"^\s*[dD]?(\d{4})\s*$")


@dataclass(frozen=True)
class Confusable:
    code: str
    question: str


@dataclass(frozen=True)
class CodeInfo:
    """One catalog entry: what a code pays for and what its note must show."""

    code: str
    name: str
    description: str
    modality: str
    component: str
    field_of_view: str | None
    image_noun: str
    checklist: dict[str, float]
    checks: tuple[str, ...]
    confusables: tuple[Confusable, ...]
    frequency_days: int
    keywords: tuple[str, ...]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CodeInfo:
        return cls(
            code=d["code"],
            name=d["name"],
            description=d["description"],
            modality=d["modality"],
            component=d["component"],
            field_of_view=d.get("field_of_view"),
            image_noun=d["image_noun"],
            checklist=dict(d["checklist"]),
            checks=tuple(d.get("checks", [])),
            confusables=tuple(Confusable(**c) for c in d.get("confusables", [])),
            frequency_days=int(d.get("frequency_days", 0)),
            keywords=tuple(d.get("keywords", [])),
        )


class Catalog:
    """All codes of the catalog, looked up by normalised code."""

    def __init__(self, entries: list[dict[str, Any]]) -> None:
        self._codes = {e["code"]: CodeInfo.from_dict(e) for e in entries}

    @classmethod
    def default(cls) -> Catalog:
        return _default_catalog()

    def __iter__(self):
        return iter(self._codes.values())

    def __len__(self) -> int:
        return len(self._codes)

    def __contains__(self, code: object) -> bool:
        return code in self._codes

    @staticmethod
    def normalize(code: str) -> str:
        """Turn ``d0370``, ``0370``, ``D0370`` into ``D0370``; reject what is not a code (``d370``)."""
        m = _CODE.match(str(code))
        if not m:
            raise CdtError("E006", code=code)
        return "D" + m.group(1)

    def get(self, code: str) -> CodeInfo:
        """Return the entry for a code written in any accepted form."""
        norm = self.normalize(code)
        if norm not in self._codes:
            raise CdtError("E005", code=code)
        return self._codes[norm]

    def sibling(self, info: CodeInfo, component: str) -> CodeInfo | None:
        """The code with the same modality and field of view but another component."""
        for other in self._codes.values():
            if (
                other.component == component
                and other.modality == info.modality
                and other.field_of_view == info.field_of_view
            ):
                return other
        return None

    def cbct_code(self, component: str, fov: str) -> CodeInfo | None:
        for other in self._codes.values():
            if other.modality == "cbct" and other.component == component and other.field_of_view == fov:
                return other
        return None

    def search(self, query: str) -> list[CodeInfo]:
        """Codes whose code, name, description or keywords contain every word of the query."""
        words = query.lower().split()
        out = []
        for info in self._codes.values():
            hay = " ".join([info.code, info.name, info.description, *info.keywords]).lower()
            if all(w in hay for w in words):
                out.append(info)
        return out


@lru_cache(maxsize=1)
def _default_catalog() -> Catalog:
    return Catalog(load_rules("catalog.json")["codes"])
