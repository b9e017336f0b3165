"""Build the cdt-nlp spaCy pipeline on a blank English model (no downloaded weights)."""

from __future__ import annotations

import spacy
from spacy.language import Language

from .components import context, items, sections, service  # noqa: F401  (registers factories)

PIPE_NAMES = ("cdt_sections", "cdt_items", "cdt_service", "cdt_context")


def load() -> Language:
    """Return the checker's pipeline: sections, service facts, items, context.

    Examples
    --------
    >>> import cdt_nlp
    >>> nlp = cdt_nlp.load()
    >>> doc = nlp("IMPRESSION: deferred to radiologist.")
    >>> [s.label_ for s in doc.spans["cdt_items"]]
    ['interpretation']
    """
    nlp = spacy.blank("en")
    nlp.add_pipe("cdt_nlp_sections", name="cdt_sections")
    nlp.add_pipe("cdt_nlp_service", name="cdt_service")
    nlp.add_pipe("cdt_nlp_items", name="cdt_items")
    nlp.add_pipe("cdt_nlp_context", name="cdt_context")
    return nlp
