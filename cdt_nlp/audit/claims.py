"""Claim-level rules: checks that look across the notes of one patient, not inside one note.

The rules use only the structured columns of an export (patient, date of service, provider,
code), never the note text, so they run in a cheap first pass before the notes are read:

- ``frequency``: the same code for the same patient inside the code's frequency window
  (``frequency_days`` in the catalog, overridable per code);
- ``once_per_day``: a once-per-date code (D0393) billed twice for one patient on one date;
- ``fusion_without_acquisition``: D0395 with no cone beam CT or MRI capture for the patient
  within the window before it;
- ``read_with_combined``: D0391 billed by the same provider on the same date as a code that
  already pays for capture and interpretation;
- ``interpretation_by_auxiliary``: a code that includes interpretation billed under a
  hygienist or assistant (from a role column, or the credential after the provider's name).

The claims are kept in a temporary SQLite file and read back one patient at a time, so memory
stays flat however many rows the export has. Vocabularies and messages are in
``resources/claims.json``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ..catalog import Catalog
from ..errors import CdtError
from ..rules import load_rules


@dataclass(frozen=True)
class Claim:
    """The structured fields of one input row that the claim rules read."""

    row: int
    id: str
    code: str | None
    patient: str | None = None
    date: Any = None
    provider: str | None = None
    role: str | None = None


class ClaimRules:
    """Apply the claim-level rules to a stream of claims.

    Parameters
    ----------
    catalog:
        The code catalog (frequency windows, components, modalities).
    frequency_days:
        Per-code overrides of the catalog's frequency window, e.g. ``{"D0367": 180}``.
    """

    def __init__(self, catalog: Catalog | None = None, frequency_days: dict[str, int] | None = None) -> None:
        self.catalog = catalog or Catalog.default()
        self.rules = load_rules("claims.json")["claim_rules"]
        self.messages: dict[str, str] = self.rules["messages"]
        self.frequency = {info.code: info.frequency_days for info in self.catalog}
        for code, days in (frequency_days or {}).items():
            self.frequency[self.catalog.get(code).code] = int(days)
        self._roles = {role: [t.lower() for t in terms] for role, terms in self.rules["roles"].items()}
        acq = self.rules["acquisition_3d"]
        self.acquisition_codes = {
            i.code for i in self.catalog if i.modality in acq["modalities"] and i.component in acq["components"]
        }
        self.interpretation_codes = {
            i.code for i in self.catalog if i.component in self.rules["interpretation_components"]
        }
        self.combined_codes = {i.code for i in self.catalog if i.component == "capture_and_interpretation"}

    # -- field parsing -----------------------------------------------------------
    def code_of(self, raw: Any) -> str | None:
        """The catalog code for a raw code value, or None when it is not a catalog code."""
        if raw is None:
            return None
        try:
            return self.catalog.get(str(raw).strip()).code
        except CdtError:
            return None

    def parse_date(self, raw: Any) -> dt.date | None:
        """A date of service from a string, date or datetime; None when unreadable or empty."""
        if raw is None or raw == "":
            return None
        if isinstance(raw, dt.datetime):
            return raw.date()
        if isinstance(raw, dt.date):
            return raw
        text = str(raw).strip()
        for fmt in self.rules["date_formats"]:
            try:
                return dt.datetime.strptime(text, fmt).date()
            except ValueError:
                continue
        return None

    def role_of(self, provider: str | None, role: str | None) -> str | None:
        """``hygienist``/``assistant`` from a role value, else from the credential after the name.

        Only the part after the last comma, or the last word, is read as a credential, so a
        name such as "Dr. Da Silva" is not taken for a dental assistant.
        """
        for value, whole in ((role, True), (provider, False)):
            if not value:
                continue
            text = str(value).strip().lower()
            if not whole:
                text = text.rsplit(",", 1)[1].strip() if "," in text else (text.split() or [""])[-1]
            text = re.sub(r"[^a-z\- ]", " ", text).strip()
            for name, terms in self._roles.items():
                if text in terms or any(re.search(rf"(?<![a-z]){re.escape(t)}(?![a-z])", text) for t in terms):
                    return name
        return None

    # -- rules -------------------------------------------------------------------
    def warnings(self, claims: Iterable[Claim]) -> dict[int, list[dict[str, str]]]:
        """Claim warnings by input row number (rows without warnings are absent)."""
        out: dict[int, list[dict[str, str]]] = {}

        def warn(row: int, rule: str, **fields: Any) -> None:
            out.setdefault(row, []).append({"rule": rule, "message": self.messages[rule].format(**fields)})

        fd, path = tempfile.mkstemp(suffix=".sqlite", prefix="cdt-claims-")
        os.close(fd)
        try:
            db = sqlite3.connect(path)
            db.execute("CREATE TABLE c (row INTEGER, id TEXT, code TEXT, patient TEXT, day TEXT, provider TEXT)")
            batch: list[tuple] = []
            for claim in claims:
                code = self.code_of(claim.code)
                if code is None:
                    continue
                role = self.role_of(claim.provider, claim.role)
                if role is not None and code in self.interpretation_codes:
                    warn(claim.row, "interpretation_by_auxiliary", code=code, provider=claim.provider or "", role=role)
                if claim.patient in (None, ""):
                    continue
                day = self.parse_date(claim.date)
                if day is None:
                    if claim.date not in (None, ""):
                        warn(claim.row, "bad_date", date=str(claim.date))
                    continue
                provider = None if claim.provider is None else str(claim.provider).strip()
                batch.append((claim.row, claim.id, code, str(claim.patient).strip(), day.isoformat(), provider))
                if len(batch) >= 10_000:
                    db.executemany("INSERT INTO c VALUES (?, ?, ?, ?, ?, ?)", batch)
                    batch.clear()
            db.executemany("INSERT INTO c VALUES (?, ?, ?, ?, ?, ?)", batch)
            db.execute("CREATE INDEX c_patient ON c (patient, day, row)")
            for group in self._by_patient(db):
                self._patient_rules(group, warn)
            db.close()
        finally:
            os.unlink(path)
        for row in out.values():
            row.sort(key=lambda w: w["rule"])
        return out

    @staticmethod
    def _by_patient(db: sqlite3.Connection) -> Iterator[list[tuple]]:
        group: list[tuple] = []
        current = None
        for rec in db.execute("SELECT row, id, code, patient, day, provider FROM c ORDER BY patient, day, row"):
            if rec[3] != current and group:
                yield group
                group = []
            current = rec[3]
            group.append(rec)
        if group:
            yield group

    def _patient_rules(self, group: list[tuple], warn) -> None:
        once = set(self.rules["once_per_day"])
        fusion = self.rules["fusion"]
        read_code = self.rules["independent_read"]["code"]
        last: dict[str, tuple] = {}
        same_day: dict[tuple[str, str], tuple] = {}
        for row, rid, code, _patient, day, provider in group:
            date = dt.date.fromisoformat(day)
            if code in once:
                first = same_day.get((code, day))
                if first is not None:
                    warn(row, "once_per_day", code=code, date=day, other_id=first[1])
                else:
                    same_day[(code, day)] = (row, rid)
            days = self.frequency.get(code, 0)
            prev = last.get(code)
            if days > 0 and prev is not None and not (code in once and prev[2] == day):
                gap = (date - dt.date.fromisoformat(prev[2])).days
                if gap < days:
                    warn(row, "frequency", code=code, other_date=prev[2], other_id=prev[1], days=days)
            last[code] = (row, rid, day)
            if code == fusion["code"]:
                window = int(fusion["window_days"])
                has_volume = any(
                    c in self.acquisition_codes and 0 <= (date - dt.date.fromisoformat(d)).days <= window
                    for _, _, c, _, d, _ in group
                )
                if not has_volume:
                    warn(row, "fusion_without_acquisition", days=window)
            if code == read_code and provider:
                for orow, orid, ocode, _, oday, oprov in group:
                    if oday == day and oprov == provider and ocode in self.combined_codes and orow != row:
                        warn(row, "read_with_combined", other_code=ocode, other_id=orid)
                        break
