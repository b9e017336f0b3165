"""Build the cdt-nlp spaCy pipeline on a blank English model (no downloaded weights)."""

from __future__ import annotations

import spacy
from spacy.language import Language

from . import tokenizer  # noqa: F401  (registers cdt_nlp.Tokenizer.v1)
from .components import context, items, sections, service  # noqa: F401  (registers factories)

#: (pipe name, factory) in pipeline order: sections first, context last
PIPES = (
    ("cdt_sections", "cdt_nlp_sections"),
    ("cdt_service", "cdt_nlp_service"),
    ("cdt_items", "cdt_nlp_items"),
    ("cdt_context", "cdt_nlp_context"),
)
PIPE_NAMES = tuple(name for name, _ in PIPES)
#: spaCy's English tokenizer that keeps the note text (see :mod:`cdt_nlp.tokenizer`)
TOKENIZER = {"@tokenizers": "cdt_nlp.Tokenizer.v1"}


def load() -> Language:
    """Return the checker's pipeline: tokenizer, sections, service facts, items, context.

    Examples
    --------
    >>> import cdt_nlp
    >>> nlp = cdt_nlp.load()
    >>> doc = nlp("IMPRESSION: deferred to radiologist.")
    >>> [s.label_ for s in doc.spans["cdt_items"]]
    ['interpretation']
    """
    nlp = spacy.blank("en", config={"nlp": {"tokenizer": TOKENIZER}})
    for name, factory in PIPES:
        nlp.add_pipe(factory, name=name)
    return nlp
