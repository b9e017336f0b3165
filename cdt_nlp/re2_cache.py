"""Write ``resources/re2_translations.json``: the RE2 pre-scan of every rule pattern, worked out
once instead of at every start-up (see :func:`cdt_nlp.fastre.superset_pattern`).

    python -m cdt_nlp.re2_cache          (or: make re2-cache)

Run it after editing a rule file or ``fastre.py``; ``tests/test_fastre.py`` fails while the file
is stale. A stale or missing file costs start-up time only, never a wrong match: its entries are
keyed by each pattern and by the translator's source.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path

from . import fastre


def pipeline_patterns() -> list:
    """The Python patterns behind every :class:`~cdt_nlp.fastre.FastPattern` that the checker
    builds (its pipeline's components and the checker's own)."""
    from .checker import Checker

    checker = Checker()
    found = {id(o.python): o.python for o in gc.get_objects() if isinstance(o, fastre.FastPattern)}
    del checker
    return sorted(found.values(), key=lambda p: (p.pattern, p.flags))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path = Path(argv[0]) if argv else fastre.TRANSLATIONS_FILE
    count = fastre.write_translations(pipeline_patterns(), path)
    print(f"wrote {count} pattern translations to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
