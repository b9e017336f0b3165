"""cdt-nlp: does a dental chart note document the advanced-imaging code being billed?

>>> from cdt_nlp import Checker
>>> Checker().check(note_text, code="D0370").to_dict()  # doctest: +SKIP
"""

from __future__ import annotations

from .catalog import Catalog, CodeInfo
from .checker import Checker, CheckResult, Evidence, ItemResult
from .errors import CdtError
from .pipeline import load

__version__ = "0.1.0"
__all__ = [
    "Catalog",
    "CdtError",
    "CheckResult",
    "Checker",
    "CodeInfo",
    "Evidence",
    "ItemResult",
    "audit_frame",
    "load",
    "__version__",
]


def audit_frame(df, **options):  # noqa: ANN001, ANN201 - documented in cdt_nlp.audit.frame
    """Audit a pandas DataFrame in memory (see :func:`cdt_nlp.audit.frame.audit_frame`)."""
    from .audit.frame import audit_frame as _audit_frame

    return _audit_frame(df, **options)
