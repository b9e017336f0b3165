"""The pipeline's tokenizer and the per-doc offset index the components look things up in.

Both exist for speed, so the property that matters is that they answer exactly what spaCy's own
tokenizer and ``Doc``/``Span`` methods answer.
"""

from __future__ import annotations

import spacy
from hypothesis import given, settings
from hypothesis import strategies as st

from cdt_nlp.components._state import (
    char_span,
    contracted_length,
    doc_text,
    sentence_bounds,
    sentence_tokens,
    token_range,
    tokens_text,
)
from cdt_nlp.tokenizer import TextKeepingTokenizer, extra_infixes

from .conftest import ROOT, read_jsonl

#: spaCy's own English tokenizer with the pipeline's extra infixes: the reference
SPACY_EN = spacy.blank("en")
SPACY_EN.tokenizer.infix_finditer = spacy.util.compile_infix_regex(
    list(SPACY_EN.Defaults.infixes) + extra_infixes()
).finditer
#: pieces that exercise spaCy's special cases, whitespace handling and affixes
PIECES = [
    "CC:", "cannot", "Dr.", "e.g.", "vs.", "I'm", "Wharton's", "w/", "c/o", "L", "submandibular",
    "(12 MHz)", "5.8 x 4.1 mm", "IMPRESSION:", "\n", "\n\n", "\t", "\xa0", "  ", " - ", "•", "2/14/25",
    "don't", "a.m.", "US", ";", ".", ",", "|", "x2wk|O:", "///", "a||b", "report<br>Imp", "<BR/>",
]  # fmt: skip
texts = st.lists(st.sampled_from(PIECES), min_size=1, max_size=40).map(" ".join)


def _tokens(doc):
    return [(t.text, t.idx, t.whitespace_) for t in doc]


def test_tokenizer_is_spacys_with_the_text_kept(nlp):
    assert isinstance(nlp.tokenizer, TextKeepingTokenizer)
    notes = [r["text"] for r in read_jsonl(ROOT / "corpus" / "dev.jsonl")]
    for text in notes:
        doc = nlp.make_doc(text)
        assert _tokens(doc) == _tokens(SPACY_EN.make_doc(text))
        assert doc_text(doc) is text and doc.text == text


@settings(max_examples=150, deadline=None)
@given(texts)
def test_tokenizer_matches_spacy_on_special_cases_and_whitespace(nlp, text):
    assert _tokens(nlp.make_doc(text)) == _tokens(SPACY_EN.make_doc(text))


def test_saved_pipeline_names_and_reloads_the_tokenizer(nlp, tmp_path):
    nlp.to_disk(tmp_path / "pipe")
    assert '@tokenizers = "cdt_nlp.Tokenizer.v1"' in (tmp_path / "pipe" / "config.cfg").read_text("utf-8")
    reloaded = spacy.load(tmp_path / "pipe")
    assert isinstance(reloaded.tokenizer, TextKeepingTokenizer)
    text = "Pt cannot open.\nDr. Lee: CBCT (8x8 cm) taken."
    assert _tokens(reloaded.make_doc(text)) == _tokens(SPACY_EN.make_doc(text))
    assert "\n" not in reloaded.tokenizer.rules  # the whitespace special cases stay dropped


@settings(max_examples=150, deadline=None)
@given(texts, st.data())
def test_offset_index_answers_like_spacy(nlp, text, data):
    doc = nlp(text)
    n = len(text)
    start = data.draw(st.integers(0, n - 1))
    end = data.draw(st.integers(start + 1, n))
    expected = doc.char_span(start, end, label="x", alignment_mode="expand")
    got = char_span(doc, start, end, label="x")
    assert (got.start, got.end, got.label_) == (expected.start, expected.end, expected.label_)
    assert token_range(doc, start, end) == (expected.start, expected.end)
    contracted = doc.char_span(start, end, alignment_mode="contract")
    assert contracted_length(doc, start, end) == (len(contracted) if contracted is not None else 0)
    i = data.draw(st.integers(0, len(doc) - 1))
    sent = doc[i].sent
    assert sentence_tokens(doc, i) == (sent.start, sent.end)
    lo = data.draw(st.integers(0, len(doc)))
    hi = data.draw(st.integers(0, len(doc)))
    assert tokens_text(doc, lo, hi) == (doc[lo:hi].text if lo < hi else "")
    first_tokens, bounds = sentence_bounds(doc)
    assert first_tokens == [s.start for s in doc.sents]
    assert bounds == [(s.start_char, s.end_char) for s in doc.sents]


def test_field_separators_split_glued_words(nlp):
    doc = nlp.make_doc("S: pain LL x2wk|O: CBCT #19|A: abscess///P: f/u 2wk")
    words = [t.text for t in doc]
    assert "x2wk" in words and "|" in words and "O" in words and "///" in words
    assert "x2wk|O" not in words and "abscess" in words and "f" in words
