"""Dask engine scaling: the local engine with all cores against a local Dask cluster of 1 and 2 workers.

On one generated set of notes (default 20,000, written as partitions of 500 notes), in one run,
each case a fresh `cdt-nlp audit` process: notes per second end to end (cluster start-up
included), peak memory of the largest process, and for Dask the largest peak of any worker
process (which each worker reports at the end of the run), plus the same at a small size
(default 1,000 notes) to show the engine's fixed overhead.

    python benchmarks/bench_dask.py                      (needs the dask extra)
    python benchmarks/bench_dask.py --notes 200000
    python benchmarks/bench_dask.py --sizes 20000,200000   (memory per worker at both sizes)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_audit import make_notes, timed_child  # noqa: E402

MEASURE = (
    "import resource, subprocess, sys, time, json; t = time.perf_counter(); "
    "r = subprocess.run(sys.argv[1:], stderr=subprocess.PIPE, text=True); dt = time.perf_counter() - t; "
    "print(json.dumps({'rc': r.returncode, 'seconds': dt, 'stderr': r.stderr[-2000:], "
    "'maxrss_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))"
)
#: the summary line `cdt-nlp audit --engine dask` prints about its workers' peak memory
WORKER_PEAK = re.compile(r"peak memory: (\d+) MB at most")


def split(src: Path, folder: Path, per: int) -> None:
    folder.mkdir()
    lines = src.read_text("utf-8").splitlines(keepends=True)
    for k in range(0, len(lines), per):
        (folder / f"p{k // per:05d}.jsonl").write_text("".join(lines[k : k + per]), "utf-8")


def run(args: list[str], count: int) -> dict:
    """One audit in a fresh process (not --quiet: its summary line reports the workers' memory)."""
    res = timed_child([sys.executable, "-c", MEASURE, sys.executable, "-m", "cdt_nlp", "audit", *args])
    data = json.loads(res["stdout"].strip().splitlines()[-1])
    if data["rc"] != 0:
        raise SystemExit(f"cdt-nlp audit {' '.join(args)} failed: {data['stderr']}")
    worker = WORKER_PEAK.search(data["stderr"])
    return {
        "notes": count,
        "rate": count / data["seconds"],
        "peak_mb": data["maxrss_kb"] / 1024,
        "worker_peak_mb": float(worker.group(1)) if worker else None,
    }


def cases(n: int, work: Path, per: int, dask_workers: tuple[int, ...] = (1, 2)) -> dict[str, dict]:
    notes = work / f"notes-{n}.jsonl"
    make_notes(n, notes)
    parts = work / f"parts-{n}"
    split(notes, parts, per)
    cores = os.cpu_count() or 1
    out = {}
    out[f"local --jobs {cores}"] = run([str(notes), "-o", str(work / f"local-{n}.jsonl"), "--jobs", str(cores)], n)
    for workers in dask_workers:
        target = work / f"dask{workers}-{n}"
        out[f"dask --workers {workers}"] = run(
            [str(parts), "-o", str(target), "--engine", "dask", "--workers", str(workers)], n
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=20_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--per-partition", type=int, default=500)
    parser.add_argument("--sizes", default=None, help="comma-separated sizes instead of --small and --notes")
    parser.add_argument("--dask-workers", default="1,2", help="local cluster sizes to run, comma-separated")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else [args.small, args.notes]
    results = {}
    with tempfile.TemporaryDirectory(prefix="cdt-bench-dask-") as tmp:
        for n in sizes:
            t = time.perf_counter()
            dask_workers = tuple(int(w) for w in args.dask_workers.split(","))
            results[n] = cases(n, Path(tmp), args.per_partition, dask_workers)
            print(f"{n} notes done in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    print(f"{'notes':>8}  {'case':<20}{'notes/s':>10}{'x local':>9}{'peak MB':>9}{'worker MB':>11}")
    for n, res in results.items():
        base = next(iter(res.values()))["rate"]
        for name, r in res.items():
            worker = f"{r['worker_peak_mb']:.0f}" if r["worker_peak_mb"] else "-"
            print(f"{n:>8}  {name:<20}{r['rate']:>10.1f}{r['rate'] / base:>9.2f}{r['peak_mb']:>9.0f}{worker:>11}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
