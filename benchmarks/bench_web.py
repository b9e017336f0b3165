"""Web API latency: `POST /api/check` under concurrent load from a second process on loopback.

Starts `cdt-nlp serve` on a free port, then a separate client process sends the bundled
example note (a typical ultrasound note, about 1 kB) with 1 client (the baseline) and with 8
concurrent clients, each for a fixed time, against a server of 1 and of 2 worker processes
(``--workers``), and reports requests per second, median and p95 latency, and the ratios
against the single-client, single-worker run.

    python benchmarks/bench_web.py                 (or: make bench)
    python benchmarks/bench_web.py --seconds 5
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTE = ROOT / "cdt_nlp" / "examples" / "ultrasound_capture_only.txt"

CLIENT = r"""
import http.client, json, statistics, sys, threading, time
port, clients, seconds, note = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), open(sys.argv[4]).read()
body = json.dumps({"note": note, "code": "D0370"}).encode()
lat, errors, lock = [], [0], threading.Lock()
stop = time.perf_counter() + seconds
def run():
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while time.perf_counter() < stop:
        t = time.perf_counter()
        conn.request("POST", "/api/check", body, {"content-type": "application/json"})
        r = conn.getresponse(); r.read()
        with lock:
            lat.append(time.perf_counter() - t)
            errors[0] += r.status != 200
threads = [threading.Thread(target=run) for _ in range(clients)]
t0 = time.perf_counter()
[t.start() for t in threads]; [t.join() for t in threads]
wall = time.perf_counter() - t0
lat.sort()
print(json.dumps({"requests": len(lat), "errors": errors[0], "rps": len(lat) / wall,
                  "p50_ms": 1000 * lat[len(lat) // 2], "p95_ms": 1000 * lat[int(0.95 * (len(lat) - 1))]}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(port: int, timeout: float = 60) -> None:
    end = time.time() + timeout
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--workers", default="1,2", help="server processes to try, comma-separated (cdt-nlp serve --workers)"
    )
    args = parser.parse_args()
    results = {}
    for workers in [int(w) for w in args.workers.split(",")]:
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "cdt_nlp", "serve", "--port", str(port), "--workers", str(workers)],
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_up(port)
            time.sleep(2 if workers > 1 else 0)  # let every worker finish loading the model
            for clients in (1, args.clients):
                out = subprocess.run(
                    [sys.executable, "-c", CLIENT, str(port), str(clients), str(args.seconds), str(NOTE)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                results[f"{workers}x{clients}"] = json.loads(out.stdout.strip().splitlines()[-1])
        finally:
            server.terminate()
            server.wait(30)
    base = results[next(iter(results))]
    print(
        f"{'workers':>8}{'clients':>8}{'requests':>10}{'errors':>8}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'p95 x 1 client, 1 worker':>27}"
    )
    for key, r in results.items():
        workers, clients = key.split("x")
        print(
            f"{workers:>8}{clients:>8}{r['requests']:>10}{r['errors']:>8}{r['rps']:>9.1f}{r['p50_ms']:>9.1f}"
            f"{r['p95_ms']:>9.1f}{r['p95_ms'] / base['p95_ms']:>27.2f}"
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
