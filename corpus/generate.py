"""Build the code-suggester training corpus (corpus/train.jsonl) from hand-written fragments.

Every note is a composition of hand-written sentences from corpus/fragments/: per code
(service, findings, interpretation, no_interpretation, region words), per topic (chief
complaint, rationale, follow-up) and whole hand-written notes that document no catalog
service (null.json). Variation comes from four note styles, header spellings, items left
out (with the labels saying so), empty headers, "per protocol" non-reasons, messy-export
formatting and wrong target codes drawn from each code's confusable codes.

Deterministic: the same fragments and seed give the same file byte for byte.

    python corpus/generate.py --seed 13 --out corpus/train.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

HERE = Path(__file__).parent
FRAGMENTS = HERE / "fragments"
CATALOG = HERE.parent / "cdt_nlp" / "resources" / "catalog.json"
ITEMS = ("chief_complaint", "anatomical_region", "findings", "interpretation", "rationale", "follow_up")

#: notes per code; confusable groups get more
BASE_PER_CODE = 60
EXTRA = {
    c: 25
    for c in (
        "D0370",
        "D0386",
        "D0364",
        "D0380",
        "D0367",
        "D0383",
        "D0368",
        "D0384",
        "D0369",
        "D0385",
        "D0371",
        "D0310",
        "D0391",
        "D0393",
        "D0394",
        "D0395",
    )
}
NULL_VARIANTS = 4
WRONG_TARGET_RATE = 0.3
DROP_RATE = {"chief_complaint": 0.1, "rationale": 0.15, "follow_up": 0.15, "findings": 0.08, "interpretation": 0.08}
NON_REASONS = [
    "Per protocol.",
    "Reason: pt request.",
    "Indication: routine per office protocol.",
    "Requested by patient.",
    "Indication: standard new-patient series.",
]
EMPTY_HEADERS = {
    "chief_complaint": "CC:",
    "rationale": "Indication:",
    "findings": "FINDINGS:",
    "interpretation": "IMPRESSION:",
    "follow_up": "Plan: ___",
}
HEADERS = {
    "soap": {
        "chief_complaint": ["CC:", "S:", "cc:", "HPI:"],
        "rationale": ["Reason:", "Indication:", "Why:", ""],
        "service": ["", "Proc:", "O:"],
        "findings": ["", "Findings:", "O:"],
        "interpretation": ["A:", "Imp:", "Dx:", ""],
        "follow_up": ["P:", "Plan:", "f/u:", ""],
    },
    "dictated": {
        "chief_complaint": ["CLINICAL HISTORY:", "HISTORY:", "CLINICAL INFORMATION:"],
        "rationale": ["INDICATION:", "REASON FOR EXAM:", "CLINICAL QUESTION:"],
        "service": ["EXAM:", "EXAMINATION:", "TECHNIQUE:"],
        "findings": ["FINDINGS:"],
        "interpretation": ["IMPRESSION:", "CONCLUSION:", "INTERPRETATION:"],
        "follow_up": ["RECOMMENDATION:", "RECOMMENDATIONS:", "PLAN:"],
    },
}
GREETINGS = ["Dear Dr. {name},", "Dear {name},", "Re: your patient", "Dr. {name} -"]
SIGN_OFFS = ["Sincerely,\nDr. {name}", "Kind regards,\n{name}, DDS", "Best wishes,\nDr. {name}", "-- {name}"]
NAMES = [
    "Okafor",
    "Lindqvist",
    "Ramos",
    "Chen",
    "Patel",
    "Novak",
    "Haddad",
    "Moreau",
    "Kowalski",
    "Ibrahim",
    "Tanaka",
    "Silva",
    "Brennan",
    "Osei",
    "Varga",
    "Mensah",
]


def load_fragments() -> tuple[dict, dict, list[str]]:
    codes = {}
    for path in sorted(FRAGMENTS.glob("D0*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        codes[data["code"]] = data
    topics = json.loads((FRAGMENTS / "topics.json").read_text(encoding="utf-8"))["topics"]
    null_notes = json.loads((FRAGMENTS / "null.json").read_text(encoding="utf-8"))["notes"]
    return codes, topics, null_notes


def load_confusables() -> dict[str, list[str]]:
    catalog = json.loads(CATALOG.read_text(encoding="utf-8"))["codes"]
    return {c["code"]: [x["code"] for x in c["confusables"]] for c in catalog}


def messy(text: str, rng: random.Random) -> str:
    """Export damage: lost line breaks, run-in headers, odd case."""
    choice = rng.random()
    if choice < 0.4:
        text = " ".join(line.strip() for line in text.splitlines() if line.strip())
    elif choice < 0.7:
        text = " /// ".join(line.strip() for line in text.splitlines() if line.strip())
    if rng.random() < 0.3:
        text = text.lower()
    elif rng.random() < 0.15:
        text = text.upper()
    return text.replace(": ", ":") if rng.random() < 0.3 else text


def compose(parts: dict[str, str | None], style: str, rng: random.Random) -> str:
    """Lay the parts out in one of four styles; ``None`` parts are left out."""
    order = ["chief_complaint", "rationale", "service", "findings", "interpretation", "follow_up"]
    if style in ("soap", "dictated", "messy"):
        table = HEADERS["dictated" if style == "dictated" else "soap"]
        if style == "dictated":
            order = ["service", "chief_complaint", "rationale", "findings", "interpretation", "follow_up"]
        lines = []
        for slot in order:
            value = parts.get(slot)
            if value is None:
                continue
            if value.endswith(":") or value.endswith("___"):  # an empty template header
                lines.append(value)
                continue
            header = "" if slot == "interpretation" and parts.get("capture_only") else rng.choice(table[slot])
            lines.append(f"{header} {value}".strip())
        text = "\n".join(lines)
        return messy(text, rng) if style == "messy" else text
    name, signer = rng.sample(NAMES, 2)
    paragraphs = [rng.choice(GREETINGS).format(name=name)]
    body = [parts[s] for s in order if parts.get(s) and not parts[s].endswith(":") and not parts[s].endswith("___")]
    split = max(1, len(body) // 2)
    paragraphs += [" ".join(body[:split]), " ".join(body[split:])]
    paragraphs.append(rng.choice(SIGN_OFFS).format(name=signer))
    return "\n\n".join(p for p in paragraphs if p)


def coded_note(code: str, frag: dict, topics: dict, rng: random.Random) -> tuple[str, dict[str, bool], str]:
    topic = topics[rng.choice(frag["topics"])]
    capture_only = not frag.get("interpretation")
    labels = dict.fromkeys(ITEMS, True)
    region = rng.choice(frag["region_words"])
    service = rng.choice(frag["service"])
    if region.lower() not in service.lower() and rng.random() < 0.7:
        service = f"{service.rstrip('.')} ({region})."
    parts: dict[str, str | None] = {
        "chief_complaint": rng.choice(topic["chief_complaint"]),
        "rationale": rng.choice(topic["rationale"]),
        "service": service,
        "findings": rng.choice(frag["findings"]) if frag.get("findings") and not capture_only else None,
        "interpretation": rng.choice(frag["interpretation"])
        if not capture_only
        else rng.choice(frag["no_interpretation"]),
        "follow_up": rng.choice(topic["follow_up"]),
        "capture_only": "yes" if capture_only else None,
    }
    if capture_only:
        labels["findings"] = False
        labels["interpretation"] = False
    for item, rate in DROP_RATE.items():
        if parts.get(item) is None or not labels[item] or rng.random() >= rate:
            continue
        labels[item] = False
        roll = rng.random()
        if item == "rationale" and roll < 0.35:
            parts[item] = rng.choice(NON_REASONS)
        elif roll < 0.6 and item in EMPTY_HEADERS:
            parts[item] = EMPTY_HEADERS[item]
        else:
            parts[item] = None
    style = rng.choice(["soap", "dictated", "letter", "messy"])
    return compose(parts, style, rng), labels, style


def build(seed: int) -> list[dict]:
    rng = random.Random(seed)
    codes, topics, null_notes = load_fragments()
    confusables = load_confusables()
    records = []
    for code in sorted(codes):
        for _ in range(BASE_PER_CODE + EXTRA.get(code, 0)):
            text, labels, style = coded_note(code, codes[code], topics, rng)
            target = code
            if rng.random() < WRONG_TARGET_RATE and confusables.get(code):
                target = rng.choice(confusables[code])
            records.append({"text": text, "target_code": target, "best_code": code, "items": labels, "style": style})
    all_codes = sorted(confusables)
    for note in null_notes:
        for variant in range(NULL_VARIANTS):
            text = note if variant == 0 else messy(note, rng) if variant == 1 else note.replace("\n", " ")
            if variant == 3:
                text = text.lower()
            labels = {
                "chief_complaint": True,
                "anatomical_region": True,
                "findings": False,
                "interpretation": False,
                "rationale": False,
                "follow_up": True,
            }
            records.append(
                {
                    "text": text,
                    "target_code": rng.choice(all_codes),
                    "best_code": None,
                    "items": labels,
                    "style": "null_note",
                    "labels_approximate": True,
                }
            )
    rng.shuffle(records)
    out = []
    for i, rec in enumerate(records, 1):
        out.append({"id": f"train-{i:05d}", **rec})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path, default=HERE / "train.jsonl")
    args = parser.parse_args()
    records = build(args.seed)
    with open(args.out, "w", encoding="utf-8", newline="\n") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n")
    print(f"wrote {len(records)} notes to {args.out}")


if __name__ == "__main__":
    main()
