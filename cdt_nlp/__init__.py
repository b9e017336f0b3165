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
__all__ = ["Catalog", "CdtError", "CheckResult", "Checker", "CodeInfo", "Evidence", "ItemResult", "load", "__version__"]
