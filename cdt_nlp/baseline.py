"""A keyword-rule code baseline: the modality words alone decide the code.

It knows nothing of negation, deferral, who read the images or field of view beyond a few
words, which is exactly what the suggester adds. Used by ``cdt-nlp evaluate --baseline keyword``.
"""

from __future__ import annotations

import re

from .suggester import NONE_LABEL

#: (pattern, code) in priority order: the first pattern found in the note names the code
RULES: tuple[tuple[str, str], ...] = (
    (r"fus(ion|ed)|co-?regist|merged", "D0395"),
    (r"subtract", "D0394"),
    (r"simulat|virtual", "D0393"),
    (r"sial-?o?endoscop", "D0371"),
    (r"sialogra", "D0310"),
    (r"arthrogra", "D0320"),
    (r"transcranial|tmj (films|views)", "D0321"),
    (r"tomogra", "D0322"),
    (r"outside|second opinion", "D0391"),
    (r"\bmri\b|magnetic resonance", "D0369"),
    (r"ultrasound|\bus\b|sonograph", "D0370"),
    (r"(cbct|cone beam).{0,60}tmj|tmj.{0,60}(cbct|cone beam)", "D0368"),
    (r"(cbct|cone beam).{0,60}(both jaws|large fov)", "D0367"),
    (r"(cbct|cone beam).{0,60}(maxill|upper) arch", "D0366"),
    (r"(cbct|cone beam).{0,60}(mandib|lower) arch", "D0365"),
    (r"cbct|cone beam", "D0364"),
)
_COMPILED = tuple((re.compile(p, re.IGNORECASE | re.DOTALL), code) for p, code in RULES)


def keyword_code(text: str) -> str:
    """The baseline's code for a note, or NONE when no modality word is found."""
    for regex, code in _COMPILED:
        if regex.search(text):
            return code
    return NONE_LABEL
