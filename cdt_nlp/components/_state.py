"""Shared per-doc state of the components: span metadata, the offset index, (de)serialisation.

Span extension attributes are keyed by character offsets, so two items found
on the same text would overwrite each other. Each evidence span instead gets
its metadata in ``doc.user_data`` keyed by (group, label, start, end), read
through the ``Span._.cdt`` getter.

The offset index (token offsets and sentence starts, read once per doc) answers what
``Doc.char_span``, ``Token.sent`` and span slices answer, without building spaCy objects
for every rule match; ``tests/test_tokenizer.py`` checks the answers are the same.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Callable
from pathlib import Path
from typing import Any

from spacy.attrs import IDX, LENGTH, SPACY
from spacy.tokens import Doc, Span

META_KEY = "cdt_nlp"


def _span_meta(span: Span) -> dict[str, Any]:
    return span.doc.user_data.get((META_KEY, span.label_, span.start_char, span.end_char), {})


#: ``span._.cdt`` without spaCy's extension machinery (the components read it in their inner loops)
meta_of = _span_meta


def set_meta(span: Span, _label: str | None = None, **meta: Any) -> None:
    """Attach metadata (trigger, section, status, ...) to an evidence span (``_label``: its label,
    when the caller has it at hand)."""
    key = (META_KEY, span.label_ if _label is None else _label, span.start_char, span.end_char)
    span.doc.user_data.setdefault(key, {}).update(meta)


if not Span.has_extension("cdt"):
    Span.set_extension("cdt", getter=_span_meta)
if not Doc.has_extension("cdt_sections"):
    Doc.set_extension("cdt_sections", default=None)
if not Doc.has_extension("cdt_facts"):
    Doc.set_extension("cdt_facts", default=None)


SENTS_KEY = (META_KEY, "sentence_starts")
TEXT_KEY = (META_KEY, "text")


def doc_text(doc: Doc) -> str:
    """``doc.text``, built once per doc (spaCy rebuilds it from the tokens on every access)."""
    text = doc.user_data.get(TEXT_KEY)
    if text is None:
        text = doc.user_data[TEXT_KEY] = doc.text
    return text


def sentence_index(doc: Doc) -> list[int]:
    """The first token of each sentence, computed once per doc and kept in ``doc.user_data``.

    The sections component sets it with the boundaries; spaCy itself finds a token's sentence
    by walking the document, which made sentence lookups the largest single cost of the pipeline.
    """
    starts = doc.user_data.get(SENTS_KEY)
    if starts is None or (starts and starts[-1] >= len(doc)):
        starts = [s.start for s in doc.sents] if len(doc) else [0]
        doc.user_data[SENTS_KEY] = starts
    return starts


TOKENS_KEY = (META_KEY, "token_offsets")
BOUNDS_KEY = (META_KEY, "sentence_bounds")


def token_offsets(doc: Doc) -> tuple[list[int], list[int], list[int]]:
    """Per token: start character, end of its text, end of its trailing whitespace (read once
    per doc). Tokens tile the text, so the token holding a character is found by bisection."""
    cached = doc.user_data.get(TOKENS_KEY)
    if cached is None or len(cached[0]) != len(doc):
        if len(doc):
            starts, lengths, spaces = doc.to_array([IDX, LENGTH, SPACY]).T.tolist()
        else:
            starts, lengths, spaces = [], [], []
        text_ends = [s + n for s, n in zip(starts, lengths, strict=True)]
        cached = (starts, text_ends, [e + w for e, w in zip(text_ends, spaces, strict=True)])
        doc.user_data[TOKENS_KEY] = cached
    return cached


def char_span(doc: Doc, start: int, end: int, label: str | int = 0) -> Span | None:
    """``doc.char_span(start, end, label=label, alignment_mode="expand")`` from the cached
    offsets (spaCy's builds Token objects for each boundary test)."""
    tokens = token_range(doc, start, end)
    return None if tokens is None else Span(doc, *tokens, label=label)


def token_at_char(doc: Doc, char: int) -> int | None:
    """The first token of an expanded char span starting at ``char``: the token holding it, or
    the next one when ``char`` is its trailing whitespace; None outside the text."""
    starts, text_ends, ws_ends = token_offsets(doc)
    k = bisect_right(starts, char) - 1
    if k < 0 or char >= ws_ends[k]:
        return None
    return k + 1 if char == text_ends[k] else k


def sentence_bounds(doc: Doc) -> tuple[list[int], list[tuple[int, int]]]:
    """The sentences' first tokens and their (start char, end char), as spaCy's sentence spans
    would give them, without building the spans."""
    if not len(doc):
        return [], []
    token_starts = sentence_index(doc)
    cached = doc.user_data.get(BOUNDS_KEY)
    if cached is None or cached[0] is not token_starts:
        starts, text_ends, _ = token_offsets(doc)
        ends = [*token_starts[1:], len(doc)]
        bounds = [(starts[s], text_ends[e - 1]) for s, e in zip(token_starts, ends, strict=True)]
        cached = doc.user_data[BOUNDS_KEY] = (token_starts, bounds)
    return cached


def token_range(doc: Doc, start: int, end: int) -> tuple[int, int] | None:
    """``(span.start, span.end)`` of ``char_span(doc, start, end)``, without the span."""
    first = token_at_char(doc, start)
    starts, _, ws_ends = token_offsets(doc)
    last = bisect_right(starts, end - 1) - 1
    if first is None or last < 0 or end - 1 >= ws_ends[last]:
        return None
    return first, last + 1


def contracted_length(doc: Doc, start: int, end: int) -> int:
    """``len(doc.char_span(start, end, alignment_mode="contract") or [])``: how many tokens lie
    wholly inside the characters ``start:end``."""
    starts, text_ends, ws_ends = token_offsets(doc)
    first = bisect_right(starts, start) - 1
    last = bisect_right(starts, end - 1) - 1
    if first < 0 or start >= ws_ends[first] or last < 0 or end - 1 >= ws_ends[last]:
        return 0
    if starts[first] < start:
        first += 1
    if end < text_ends[last]:
        last -= 1
    return max(0, last - first + 1)


def sentence_tokens(doc: Doc, i: int) -> tuple[int, int]:
    """``(sent.start, sent.end)`` of the sentence holding token ``i``, without the span."""
    token_starts, _ = sentence_bounds(doc)
    k = bisect_right(token_starts, i) - 1
    return token_starts[k], token_starts[k + 1] if k + 1 < len(token_starts) else len(doc)


def tokens_text(doc: Doc, lo: int, hi: int) -> str:
    """``doc[lo:hi].text`` for ``0 <= lo``, ``hi <= len(doc)``, from the cached offsets."""
    if lo >= hi:
        return ""
    starts, text_ends, _ = token_offsets(doc)
    return doc_text(doc)[starts[lo] : text_ends[hi - 1]]


def rules_to_disk(path: Path | str, rules: dict[str, Any]) -> None:
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / "rules.json").write_text(json.dumps(rules, indent=1, ensure_ascii=False), "utf-8")


def rules_from_disk(path: Path | str) -> dict[str, Any]:
    return json.loads((Path(path) / "rules.json").read_text("utf-8"))


def disk_serializers(write: Callable[[Path], None]) -> dict[str, Callable[[Path], None]]:
    return {"rules": write}
