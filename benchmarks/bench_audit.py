"""Batch throughput: `cdt-nlp audit` end to end against the tokenizer alone and medspaCy.

On one generated set of varied notes (default 20,000; compositions of the hand-written
fragments in corpus/fragments/ plus the hand-written non-imaging notes, several seeds), in one
run, each case in a fresh process, notes per second and peak memory (max RSS of the largest
process) for:

- tokenizer:  spaCy's blank English tokenizer alone over the same texts (the limit);
- medspacy:   ``medspacy.load()`` (its default pipeline), a peer users would pick, in its own
              virtual environment (benchmarks/.venv-medspacy, created on first use) because it
              pins older spaCy/NumPy; its per-token DEBUG logging is switched off, as a user would;
              timed on a slice of the notes when --medspacy-notes is set;
- audit-1:    ``cdt-nlp audit notes.jsonl -o out.jsonl --jobs 1``;
- audit-all:  the same with all cores (--jobs = os.cpu_count()).

Ratios are against the tokenizer in the same run. ``--memory-notes 200000`` adds an audit
with all cores on a larger set, to compare peak memory at the two sizes.

    python benchmarks/bench_audit.py                      (or: make bench)
    python benchmarks/bench_audit.py --notes 2000 --skip-medspacy
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MEDSPACY_VENV = ROOT / "benchmarks" / ".venv-medspacy"
MEDSPACY_PIN = "medspacy==1.3.1"

TOKENIZER = """
import json, sys, time, spacy, resource
texts = [json.loads(l)["text"] for l in open(sys.argv[1], encoding="utf-8")]
nlp = spacy.blank("en")
t = time.perf_counter()
for doc in nlp.pipe(texts, batch_size=256):
    pass
dt = time.perf_counter() - t
print(json.dumps({"seconds": dt, "notes": len(texts), "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""

MEDSPACY = """
import json, sys, time, resource
from loguru import logger
logger.remove()  # medspaCy's sentencizer logs every token at DEBUG by default; a user would turn it off
import medspacy
texts = [json.loads(l)["text"] for l in open(sys.argv[1], encoding="utf-8")]
nlp = medspacy.load()
t = time.perf_counter()
for doc in nlp.pipe(texts, batch_size=64):
    pass
dt = time.perf_counter() - t
print(json.dumps({"seconds": dt, "notes": len(texts), "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def make_notes(n: int, path: Path) -> None:
    """``n`` varied notes with target codes, from the corpus generator over several seeds."""
    sys.path.insert(0, str(ROOT / "corpus"))
    import generate  # corpus/generate.py

    written = 0
    seed = 1000
    with path.open("w", encoding="utf-8") as fh:
        while written < n:
            for note in generate.build(seed):
                fh.write(json.dumps({"id": f"s{seed}-{note['id']}", "text": note["text"], "code": note["target_code"]}))
                fh.write("\n")
                written += 1
                if written >= n:
                    break
            seed += 1


def head(path: Path, n: int, out: Path) -> Path:
    with path.open(encoding="utf-8") as src, out.open("w", encoding="utf-8") as dst:
        for i, line in enumerate(src):
            if i >= n:
                break
            dst.write(line)
    return out


def timed_child(cmd: list[str]) -> dict:
    """Run a child process; wall seconds and the peak RSS of its largest descendant."""
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:3]} failed:\n{proc.stderr[-2000:]}")
    return {"wall": wall, "stdout": proc.stdout}


def measure_in_child(python: str, script: str, notes: Path) -> dict:
    out = timed_child([python, "-c", script, str(notes)])
    data = json.loads(out["stdout"].strip().splitlines()[-1])
    return {"notes": data["notes"], "rate": data["notes"] / data["seconds"], "peak_mb": data["maxrss_kb"] / 1024}


def measure_audit(notes: Path, count: int, jobs: int, workdir: Path) -> dict:
    """`cdt-nlp audit` end to end (start-up and writing included), peak RSS of the largest process."""
    out = workdir / f"out-{jobs}-{count}.jsonl"
    script = (
        "import resource, subprocess, sys, time, json; t = time.perf_counter(); "
        "r = subprocess.run(sys.argv[1:]); dt = time.perf_counter() - t; "
        "print(json.dumps({'rc': r.returncode, 'seconds': dt, "
        "'maxrss_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))"
    )
    cli = [sys.executable, "-m", "cdt_nlp", "audit", str(notes), "-o", str(out), "--jobs", str(jobs), "--quiet"]
    res = timed_child([sys.executable, "-c", script, *cli])
    data = json.loads(res["stdout"].strip().splitlines()[-1])
    if data["rc"] != 0:
        raise SystemExit("cdt-nlp audit failed")
    rows = sum(1 for _ in out.open(encoding="utf-8"))
    assert rows == count, f"audit wrote {rows} rows for {count} notes"
    out.unlink()
    return {"notes": count, "rate": count / data["seconds"], "peak_mb": data["maxrss_kb"] / 1024}


def medspacy_python() -> str:
    python = MEDSPACY_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {MEDSPACY_VENV} with {MEDSPACY_PIN} (first run only)...", file=sys.stderr)
        venv.create(MEDSPACY_VENV, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", MEDSPACY_PIN], check=True)
    return str(python)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=20_000)
    parser.add_argument("--medspacy-notes", type=int, default=None, help="time medspaCy on the first N notes only")
    parser.add_argument("--skip-medspacy", action="store_true")
    parser.add_argument("--memory-notes", type=int, default=None, help="also audit N notes (all cores) for memory")
    parser.add_argument("--json", type=Path, default=None, help="write the results here too")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="cdt-bench-") as tmp:
        work = Path(tmp)
        notes = work / "notes.jsonl"
        make_notes(args.notes, notes)
        results["tokenizer"] = measure_in_child(sys.executable, TOKENIZER, notes)
        if not args.skip_medspacy:
            sub = head(notes, args.medspacy_notes, work / "medspacy.jsonl") if args.medspacy_notes else notes
            results["medspacy"] = measure_in_child(medspacy_python(), MEDSPACY, sub)
        results["audit-1"] = measure_audit(notes, args.notes, 1, work)
        results[f"audit-{cores}"] = measure_audit(notes, args.notes, cores, work)
        if args.memory_notes:
            big = work / "big.jsonl"
            make_notes(args.memory_notes, big)
            results[f"audit-{cores}-{args.memory_notes}"] = measure_audit(big, args.memory_notes, cores, work)
    base = results["tokenizer"]["rate"]
    print(f"{args.notes} generated notes, {cores} cores")
    print(f"{'case':<22}{'notes':>8}{'notes/s':>10}{'x tokenizer':>13}{'x medspacy':>12}{'peak MB':>10}")
    med = results.get("medspacy", {}).get("rate")
    for name, r in results.items():
        vs_med = f"{r['rate'] / med:.1f}" if med else "-"
        print(f"{name:<22}{r['notes']:>8}{r['rate']:>10.1f}{r['rate'] / base:>13.3f}{vs_med:>12}{r['peak_mb']:>10.0f}")
    print(json.dumps(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), "utf-8")


if __name__ == "__main__":
    main()
