"""spaCy pipeline components of cdt-nlp, one per module."""
