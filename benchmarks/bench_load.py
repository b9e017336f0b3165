"""Cold start: loading the checker and the code suggester, up to the first result.

Each case runs in a fresh Python process (what a biller's first `cdt-nlp check` pays), five
times; the median is reported with its ratio to the baseline in the same run:

- baseline:  import spaCy, build ``spacy.blank("en")`` and tokenise the note (the floor);
- checker:   ``Checker(suggester=None).check(note, code)`` (rules only);
- suggester: ``Checker().check(note, code)`` with the shipped, checksum-verified model;

and, timed inside a process that has imported spaCy, the suggester's own cost: loading the
model (checksum included) and the first suggestion.

    python benchmarks/bench_load.py            (or: make bench)
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTE = ROOT / "cdt_nlp" / "examples" / "ultrasound_capture_only.txt"
CASES = {
    "baseline": "import spacy; nlp = spacy.blank('en'); nlp(open({note!r}).read())",
    "checker": "from cdt_nlp import Checker; Checker(suggester=None).check(open({note!r}).read(), code='D0370')",
    "suggester": "from cdt_nlp import Checker; r = Checker().check(open({note!r}).read(), code='D0370'); "
    "assert r.suggestions",
}
RUNS = 5
#: inside a fresh process: seconds from nothing loaded to the first suggestion (spaCy already imported)
SUGGESTER_ONLY = (
    "import time, spacy; from cdt_nlp.features import FEATURE_NAMES; t = time.perf_counter(); "
    "from cdt_nlp.suggester import load_suggester; s = load_suggester('models/suggester'); "
    "s.suggest(open({note!r}).read(), dict.fromkeys(FEATURE_NAMES, 0.0)); print(time.perf_counter() - t)"
)


def time_case(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code.format(note=str(NOTE))], check=True, cwd=ROOT)
    return time.perf_counter() - start


def main() -> None:
    results = {}
    for name, code in CASES.items():
        times = [time_case(code) for _ in range(RUNS)]
        results[name] = statistics.median(times)
    inner = []
    for _ in range(RUNS):
        proc = subprocess.run(
            [sys.executable, "-c", SUGGESTER_ONLY.format(note=str(NOTE))],
            check=True,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        inner.append(float(proc.stdout.strip().splitlines()[-1]))
    base = results["baseline"]
    print(f"{'case':<10} {'median s':>9} {'x baseline':>11}")
    for name, seconds in results.items():
        print(f"{name:<10} {seconds:9.2f} {seconds / base:11.2f}")
    load_first = statistics.median(inner)
    print(f"suggester load + first suggestion (in process): {load_first:.3f} s")
    print(json.dumps({"median_seconds": results, "suggester_load_and_first_s": load_first, "runs": RUNS}))


if __name__ == "__main__":
    main()
