"""The audit summary report: one self-contained HTML file an auditor can hand to an office manager.

Built while the rows stream past (counts, a 1-point score histogram, a bounded heap of the
lowest scores, bounded listings), so memory does not grow with the export. The file has no
scripts and fetches nothing: it opens offline. Note text is only kept with ``include_text``.
"""

from __future__ import annotations

import datetime as dt
import heapq
import os
import tempfile
from collections import Counter, defaultdict
from html import escape
from pathlib import Path
from typing import Any

from ..catalog import ITEMS
from ..checker import no_service_is_best

ITEM_LABELS = {
    "chief_complaint": "Chief complaint / history",
    "anatomical_region": "Anatomical region",
    "findings": "Findings",
    "interpretation": "Interpretation",
    "rationale": "Rationale (medical necessity)",
    "follow_up": "Follow-up",
}
TEXT_LIMIT = 2_000
TEXT_NOTE = "Note text of the lowest-scoring notes is included."

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;max-width:72rem;margin:2rem auto;
padding:0 1rem;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:2px solid #d0d7de;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.92rem}th,td{border:1px solid #d0d7de;padding:.3rem .55rem;
text-align:left;vertical-align:top}th{background:#eef1f4}tr:nth-child(even) td{background:#f7f8fa}
td.num,th.num{text-align:right}.meta{color:#4a535c}.big{font-size:1.3rem;font-weight:600}
pre{white-space:pre-wrap;background:#f7f8fa;border:1px solid #d0d7de;padding:.5rem;max-height:20rem;overflow:auto}
@media print{body{margin:0}h2{page-break-after:avoid}}
"""


class AuditReport:
    """Accumulate audit result rows and write the HTML report.

    Parameters
    ----------
    include_text:
        Keep the note text of the lowest-scoring notes (truncated) in the report.
    lowest:
        How many lowest-scoring notes to list.
    max_listed:
        The most rows listed in each listing (mismatches, claim warnings, errors).
    """

    def __init__(
        self,
        *,
        include_text: bool = False,
        lowest: int = 20,
        max_listed: int = 200,
        title: str = "cdt-nlp audit report",
    ) -> None:
        self.include_text = include_text
        self.lowest = lowest
        self.max_listed = max_listed
        self.title = title
        self.total = self.ok = self.errors = self.with_missing = self.mismatches = self.with_claims = 0
        self.score_sum = 0.0
        self.hist = [0] * 101  # 1-point bins of rounded scores, for the median and the plot
        self.per_code: dict[str, Counter] = defaultdict(Counter)
        self.code_notes: Counter = Counter()
        self.pairs: Counter = Counter()
        self.mismatch_list: list[tuple] = []
        self.claim_rules: Counter = Counter()
        self.claim_list: list[tuple] = []
        self.error_kinds: Counter = Counter()
        self.error_list: list[tuple] = []
        self._heap: list[tuple] = []  # (-score, -row, entry): the largest of the kept lowest on top

    def add(self, row: dict[str, Any], text: str | None = None) -> None:
        """Count one result row (``text`` is discarded unless ``include_text``)."""
        self.total += 1
        if row["status"] != "ok":
            self.errors += 1
            message = row.get("error") or "unknown error"
            self.error_kinds[message.split(":", 1)[0] if ":" in message[:12] else message[:80]] += 1
            if len(self.error_list) < self.max_listed:
                self.error_list.append((row["row"], row["id"], message))
        else:
            self._add_ok(row, text)
        if row.get("claim_warnings"):
            self.with_claims += 1
            for w in row["claim_warnings"]:
                self.claim_rules[w["rule"]] += 1
                if len(self.claim_list) < self.max_listed:
                    self.claim_list.append(
                        (row["id"], row.get("patient"), row.get("date"), row.get("provider"), w["rule"], w["message"])
                    )

    def _add_ok(self, row: dict[str, Any], text: str | None) -> None:
        self.ok += 1
        score = float(row["score"])
        self.score_sum += score
        self.hist[min(100, max(0, round(score)))] += 1
        code = row.get("code") or "?"
        self.code_notes[code] += 1
        if row.get("missing"):
            self.with_missing += 1
        for item in row.get("missing") or []:
            self.per_code[code][item] += 1
        top = (row.get("suggestions") or [None])[0]
        if no_service_is_best(row.get("suggestions") or [], row.get("no_service_probability")):
            top = None  # the best reading: no catalog service
        if row.get("mismatch"):
            self.mismatches += 1
            suggested = top["code"] if top else "none of the catalog's services"
            self.pairs[(code, suggested)] += 1
            if len(self.mismatch_list) < self.max_listed:
                probability = top["probability"] if top else row.get("no_service_probability")
                self.mismatch_list.append((row["id"], code, suggested, probability))
        entry = (
            row["row"],
            row["id"],
            code,
            score,
            list(row.get("missing") or []),
            list(row.get("fixes") or []),
            (text or "")[:TEXT_LIMIT] if self.include_text else None,
        )
        key = (-score, -row["row"], entry)
        if len(self._heap) < self.lowest:
            heapq.heappush(self._heap, key)
        elif self.lowest and key > self._heap[0]:
            heapq.heapreplace(self._heap, key)

    # -- output -------------------------------------------------------------------------------------
    def _median(self) -> float | None:
        if not self.ok:
            return None
        half, seen = (self.ok + 1) / 2, 0
        for score, n in enumerate(self.hist):
            seen += n
            if seen >= half:
                return float(score)
        return 100.0

    def _svg(self) -> str:
        bins = [sum(self.hist[i * 10 : i * 10 + 10]) for i in range(10)]
        bins[9] += self.hist[100]
        w, h, left, bottom, top = 640, 300, 60, 50, 40
        peak = max(bins) or 1
        bw = (w - left - 20) / 10
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img" '
            'aria-label="Histogram of documentation scores">',
            "<title>Documentation scores of the audited notes</title>",
            f'<text x="{w / 2}" y="22" text-anchor="middle" font-weight="600">Score distribution (ok notes)</text>',
            f'<line x1="{left}" y1="{h - bottom}" x2="{w - 20}" y2="{h - bottom}" stroke="#1b1f24"/>',
            f'<line x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}" stroke="#1b1f24"/>',
        ]
        for i, n in enumerate(bins):
            bh = (h - bottom - top) * n / peak
            x = left + i * bw
            y = h - bottom - bh
            parts.append(f'<rect x="{x + 3:.1f}" y="{y:.1f}" width="{bw - 6:.1f}" height="{bh:.1f}" fill="#2f6fb3"/>')
            parts.append(f'<text x="{x + bw / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" font-size="11">{n}</text>')
            label = f"{i * 10}–{i * 10 + 10}"
            parts.append(
                f'<text x="{x + bw / 2:.1f}" y="{h - bottom + 16}" text-anchor="middle" font-size="11">{label}</text>'
            )
        parts.append(
            f'<text x="{left + (w - left) / 2}" y="{h - 10}" text-anchor="middle">Documentation score (0–100)</text>'
        )
        parts.append(
            f'<text transform="translate(16 {top + (h - top - bottom) / 2}) rotate(-90)" '
            'text-anchor="middle">Notes (count)</text>'
        )
        parts.append("</svg>")
        return "".join(parts)

    def to_html(self) -> str:
        """The report as one HTML document."""
        e = escape
        mean = f"{self.score_sum / self.ok:.1f}" if self.ok else "–"
        median = self._median()
        now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
        out = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{e(self.title)}</title><style>{CSS}</style></head><body>",
            f"<h1>{e(self.title)}</h1>",
            f'<p class="meta">Generated {e(now)} by cdt-nlp, on this machine. '
            + (
                "Note text of the lowest-scoring notes is included."
                if self.include_text
                else "No note text is included."
            )
            + "</p>",
            '<h2 id="totals">Totals</h2><table>',
        ]
        totals = [
            ("Notes audited", self.total),
            ("Checked (ok)", self.ok),
            ("Errors (could not be checked)", self.errors),
            ("Mean score", mean),
            ("Median score", "–" if median is None else f"{median:.0f}"),
            ("Notes missing at least one item", self.with_missing),
            ("Code mismatches (note supports another code)", self.mismatches),
            ("Notes with claim warnings", self.with_claims),
        ]
        out += [f'<tr><th>{e(k)}</th><td class="num">{e(str(v))}</td></tr>' for k, v in totals]
        out.append("</table>")
        out.append('<h2 id="scores">Score distribution</h2>')
        out.append(self._svg() if self.ok else "<p>No checked notes to plot.</p>")
        out.append('<h2 id="missing">Missing items per code</h2>')
        if self.code_notes:
            head = "".join(f'<th class="num">{e(ITEM_LABELS[i])}</th>' for i in ITEMS)
            out.append(f'<table><tr><th>Code</th><th class="num">Notes</th>{head}</tr>')
            for code in sorted(self.code_notes):
                n = self.code_notes[code]
                cells = "".join(
                    f'<td class="num">{self.per_code[code][i]} ({100 * self.per_code[code][i] / n:.0f}%)</td>'
                    for i in ITEMS
                )
                out.append(f'<tr><td>{e(code)}</td><td class="num">{n}</td>{cells}</tr>')
            out.append("</table>")
        else:
            out.append("<p>No checked notes.</p>")
        out.append('<h2 id="mismatches">Suggested-code mismatches</h2>')
        if self.pairs:
            pairs = sorted(self.pairs.items(), key=lambda kv: (-kv[1], kv[0]))
            out.append(_table(["Billed code", "Note supports", "#Notes"], [(c, s, n) for (c, s), n in pairs]))
            out.append(
                _table(
                    ["Id", "Billed", "Suggested", "#Probability"],
                    [(rid, c, s, "–" if p is None else f"{100 * p:.0f}%") for rid, c, s, p in self.mismatch_list],
                )
            )
            out.append(self._more(self.mismatches, len(self.mismatch_list)))
        else:
            out.append("<p>No code mismatches.</p>")
        out.append('<h2 id="claims">Claim warnings</h2>')
        if self.claim_rules:
            out.append(_table(["Rule", "#Warnings"], self.claim_rules.most_common()))
            out.append(_table(["Id", "Patient", "Date", "Provider", "Rule", "Warning"], self.claim_list))
            out.append(self._more(sum(self.claim_rules.values()), len(self.claim_list)))
        else:
            out.append("<p>No claim warnings.</p>")
        out.append('<h2 id="lowest">Lowest-scoring notes</h2>')
        lowest = sorted((entry for _, _, entry in self._heap), key=lambda en: (en[3], en[0]))
        if lowest:
            out.append(
                '<table><tr><th>Id</th><th>Code</th><th class="num">Score</th><th>Missing</th><th>How to fix</th></tr>'
            )
            for _row, rid, code, score, missing, fixes, text in lowest:
                miss = ", ".join(ITEM_LABELS.get(m, m) for m in missing) or "–"
                fix = "<br>".join(e(f) for f in fixes) or "–"
                out.append(
                    f'<tr><td>{e(str(rid))}</td><td>{e(code)}</td><td class="num">{score:.1f}</td>'
                    f"<td>{e(miss)}</td><td>{fix}</td></tr>"
                )
                if text is not None:
                    out.append(f'<tr><td colspan="5"><details><summary>Note text</summary><pre>{e(text)}</pre>')
                    out.append("</details></td></tr>")
            out.append("</table>")
        else:
            out.append("<p>No checked notes.</p>")
        out.append('<h2 id="errors">Errors</h2>')
        if self.errors:
            out.append(_table(["Error", "#Rows"], self.error_kinds.most_common()))
            out.append(_table(["#Row", "Id", "Message"], self.error_list))
            out.append(self._more(self.errors, len(self.error_list)))
        else:
            out.append("<p>No errors: every note was checked.</p>")
        out.append("</body></html>")
        return "\n".join(out)

    @staticmethod
    def _more(total: int, shown: int) -> str:
        return (
            f'<p class="meta">Showing {shown} of {total}; the results file has them all.</p>' if total > shown else ""
        )

    def write(self, path: str | os.PathLike) -> None:
        """Write the report atomically (a temporary file in the same folder, then a rename)."""
        path = Path(path)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(self.to_html())
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; a report is an ordinary file
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _table(columns: list[str], rows) -> str:
    """An HTML table of escaped cells (``None`` shows empty); a column named ``"#Label"`` is
    numeric: labelled "Label" and right-aligned."""
    opens = ['<td class="num">' if c.startswith("#") else "<td>" for c in columns]
    head = "".join(f"<th{o[3:-1]}>{escape(c.lstrip('#'))}</th>" for o, c in zip(opens, columns, strict=True))
    out = [f"<table><tr>{head}</tr>"]
    for row in rows:
        cells = "".join(f"{o}{escape('' if v is None else str(v))}</td>" for o, v in zip(opens, row, strict=True))
        out.append(f"<tr>{cells}</tr>")
    out.append("</table>")
    return "".join(out)
