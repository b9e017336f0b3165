"""Execute the notebooks top to bottom, in place (``make notebooks``) or just check them (``--check``).

python notebooks/execute.py            # re-run every notebook and save it with its outputs
python notebooks/execute.py --check    # run them without saving; exit 1 on the first error
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent


def execute(path: Path, save: bool, timeout: int = 600) -> float:
    """Run one notebook in the notebooks folder; returns the seconds it took."""
    book = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(book, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute()
    if save:
        nbformat.write(book, path)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--check", action="store_true", help="run without saving the outputs")
    args = parser.parse_args()
    for path in args.notebooks or sorted(HERE.glob("[0-9][0-9]_*.ipynb")):
        seconds = execute(path, save=not args.check)
        print(f"{path.name}: ran in {seconds:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
