"""The pipeline's tokenizer: spaCy's English tokenizer that also keeps the note's text.

spaCy rebuilds ``doc.text`` from the tokens on every access; every component of this
pipeline reads the note text, so the tokenizer stores the string it was given in
``doc.user_data`` (read through :func:`cdt_nlp.components._state.doc_text`). The tokens
are spaCy's own, with two changes:

* the whitespace-only special cases (``"\\n"``, ``"\\t"``, ``" "``, no-break space) are
  dropped. They produce the same tokens without the special case, but any special-case hit
  switches off spaCy's per-word cache for the rest of the document, and nearly every note has a
  line break;
* the infixes of ``resources/tokenizer.json`` are added to spaCy's: field separators of one-line
  exports (``"pain x2wk|O: CBCT"``, ``"... ///..."``) split the words they are glued to, so a
  section or a sentence can start right after them.

Registered as ``cdt_nlp.Tokenizer.v1`` so a saved pipeline's config names it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from .components._state import TEXT_KEY
from .rules import load_rules


def extra_infixes() -> list[str]:
    """The infix patterns the pipeline adds to spaCy's English ones."""
    return list(load_rules("tokenizer.json")["tokenizer_rules"]["extra_infixes"])


class TextKeepingTokenizer:
    """Wraps a spaCy tokenizer; ``doc.user_data`` keeps the text each doc was made from."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        rules = getattr(tokenizer, "rules", None)
        if rules:
            tokenizer.rules = {key: value for key, value in rules.items() if key.strip()}

    def __call__(self, text: str) -> Doc:
        doc = self.tokenizer(text)
        doc.user_data[TEXT_KEY] = text
        return doc

    def pipe(self, texts: Iterable[str], batch_size: int = 1000) -> Iterator[Doc]:
        for text in texts:
            yield self(text)

    def __getattr__(self, name: str) -> Any:  # rules, vocab, explain, ... of the wrapped tokenizer
        if name == "tokenizer":
            raise AttributeError(name)
        return getattr(self.tokenizer, name)

    # spaCy's serialisation protocol, delegated
    def to_disk(self, path, **kwargs) -> None:
        self.tokenizer.to_disk(path, **kwargs)

    def from_disk(self, path, **kwargs) -> TextKeepingTokenizer:
        self.tokenizer.from_disk(path, **kwargs)
        return self

    def to_bytes(self, **kwargs) -> bytes:
        return self.tokenizer.to_bytes(**kwargs)

    def from_bytes(self, data: bytes, **kwargs) -> TextKeepingTokenizer:
        self.tokenizer.from_bytes(data, **kwargs)
        return self


@spacy.registry.tokenizers("cdt_nlp.Tokenizer.v1")
def create_tokenizer() -> Callable[[Language], TextKeepingTokenizer]:
    """spaCy's default tokenizer for the language with the extra infixes, wrapped in
    :class:`TextKeepingTokenizer`."""
    base = spacy.registry.tokenizers.get("spacy.Tokenizer.v1")()

    def make(nlp: Language) -> TextKeepingTokenizer:
        tokenizer = base(nlp)
        infixes = list(nlp.Defaults.infixes or []) + extra_infixes()
        tokenizer.infix_finditer = spacy.util.compile_infix_regex(infixes).finditer
        return TextKeepingTokenizer(tokenizer)

    return make
