"""The RE2-accelerated patterns must give exactly the matches Python's ``re`` gives."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cdt_nlp
from cdt_nlp import fastre

ROOT = Path(__file__).resolve().parent.parent


def _spans(matches):
    return [(m.span(), m.groupdict(), m.group(0)) for m in matches]


def _pipeline_patterns() -> list[tuple[str, fastre.FastPattern]]:
    """Every compiled pattern the pipeline's components hold."""
    found: list[tuple[str, fastre.FastPattern]] = []

    def walk(obj, path, depth=0):
        if depth > 6:
            return
        if isinstance(obj, fastre.FastPattern):
            found.append((path, obj))
        elif isinstance(obj, dict):
            for k, v in obj.items():
                walk(v, f"{path}.{k}", depth + 1)
        elif isinstance(obj, list | tuple):
            for i, v in enumerate(obj):
                walk(v, f"{path}[{i}]", depth + 1)
        elif hasattr(obj, "__dict__") and not isinstance(obj, type):
            for k, v in vars(obj).items():
                walk(v, f"{path}.{k}", depth + 1)

    for name, proc in cdt_nlp.load().pipeline:
        walk(proc, name)
    return found


PIPELINE_PATTERNS = _pipeline_patterns()


def _corpus_texts(step: int = 9) -> list[str]:
    texts = []
    for path in sorted((ROOT / "corpus").glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            texts.extend(json.loads(line)["text"] for line in fh)
    return texts[::step]


def test_the_rule_patterns_are_accelerated():
    assert len(PIPELINE_PATTERNS) > 50
    slow = [path for path, p in PIPELINE_PATTERNS if not p.accelerated]
    assert not slow, f"patterns RE2 cannot pre-scan (they run on Python's engine alone): {slow}"


def test_pipeline_patterns_match_exactly_as_python_on_the_corpus():
    texts = _corpus_texts()
    # the same notes as exports often carry them: bullets, dashes, no-break spaces (RE2 path)...
    texts += [t.replace("- ", "• ").replace(" ", "\u00a0", 3).replace("-", "\u2013") for t in texts[:40]]
    # ...and with accented letters (the Python-only path)
    texts += [t.replace("e", "\u00e9", 2) for t in texts[:10]]
    for path, pattern in PIPELINE_PATTERNS:
        for text in texts:
            assert _spans(pattern.finditer(text)) == _spans(pattern.python.finditer(text)), path


TRICKY = [
    r"(?<![\w/#])(?:pain|swelling|ct|cone beam(?: ct)?)(?![\w])",
    r"(?m)^[ \t]*(?P<h>impression|findings)[ \t]*$",
    r"(?:(?<=^)|(?<=[\n\r])|(?<=[.;!?]\s))[ \t]*(?P<h>[SOAP])[ \t]*:(?!/)",
    r"(?<!(?-i:[A-Z]))(?P<h>plan|cc)[ \t]*:",
    r"\bx*\b",  # empty matches
    r"a?",
    r"[^\s\w]+",
    r"\S+\s*$",
    r"(?:\d+(?:\.\d+)?\s?(?:mm|cm))",
    r"k+",  # the Kelvin sign folds to k under IGNORECASE
    r"[\u2022\u2013]\s*\w+",
    r"(?s:.)+?\n",
    r"(.)\1",  # a backreference: not translated, Python alone
    # a no-word-before lookbehind, pre-scanned as \b or \B where the next character allows
    r"(?<![\w/#])(?:pain|#\s?\d+|-?ct|(?:no )?sk|s(?:ca|_)?)",
    r"(?<![\w/#])(?:(?:a|b)?c|(?:x|-)k)+s",
    r"(?<![\w/#])(?:\u00e9t|\u2013k|\u212a|\u0131n)",
    r"x(?<!\w)(?:p|\.)",
    # a header after a line start or a stop: the lookbehinds imply a boundary past "[ \t]*"
    r"(?:(?<=^)|(?<=[\n\r])|(?<=[.;!?]\s)|(?<=\t)|(?<=[.;!?][ \t]{2}))[ \t]*(?P<h>[SOAP]|cc|#x|pain)[ \t]*:",
    r"(?:(?<=^)|(?<=a))[ \t]*(?:x|\.)",
]
ALPHABET = "abkKsScpinxt SOAP:;.\n\t/#-_0123456789" + "\u2022\u2013\u00a0\u00e9\u212a\u0131\u017f\u0130\u0345"


@pytest.mark.parametrize("source", TRICKY)
@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(alphabet=ALPHABET, max_size=60), pos=st.integers(min_value=0, max_value=70))
def test_tricky_patterns_agree_with_python(source, text, pos):
    python = re.compile(source, re.IGNORECASE)
    fast = fastre.FastPattern(python)
    assert _spans(fast.finditer(text)) == _spans(python.finditer(text))
    assert _spans(fast.finditer(text, pos)) == _spans(python.finditer(text, pos))
    expected = python.search(text, pos)
    got = fast.search(text, pos)
    assert (got and got.span()) == (expected and expected.span())
    assert fast.findall(text) == python.findall(text)
    for method in ("match", "fullmatch"):  # anchored calls, which RE2 may reject up front
        expected = getattr(python, method)(text, pos)
        got = getattr(fast, method)(text, pos)
        assert (got and (got.span(), got.groupdict())) == (expected and (expected.span(), expected.groupdict()))


def test_lookarounds_are_dropped_for_the_prescan_only():
    pattern = fastre.compile(r"(?<![\w/#])(?:ct)(?![\w])", re.IGNORECASE)
    assert pattern.accelerated
    assert "(?<" not in fastre.superset_pattern(pattern.python)
    assert [m.span() for m in pattern.finditer("fact CT act /ct #ct ct")] == [(5, 7), (20, 22)]


def test_a_no_word_before_lookbehind_becomes_a_boundary():
    """RE2 cannot say ``(?<![\\w/#])``; before a word character it implies ``\\b`` and before a
    non-word one ``\\B``, each alternative on its own. Keeping it keeps RE2 from starting a
    match inside every word."""
    source = fastre.superset_pattern(re.compile(r"(?<![\w/#])(?:pain|#\d|(?:no )?ct|-?x)", re.IGNORECASE))
    assert source == r"(?i)(?:\bpain|\B\#[0123456789\x{80}-\x{10ffff}]|\b(?:no\ ){0,1}ct|(?:\-){0,1}\bx)"
    assert fastre.superset_pattern(re.compile(r"(?<![\w/#])(?:ab|cd)+")) == r"\b(?:(?:ab|cd)){1,}"
    header = re.compile(r"(?:(?<=^)|(?<=[.;]\s))[ \t]*(?P<h>cc|hx)[ \t]*:", re.IGNORECASE)
    assert fastre.superset_pattern(header) == r"(?i)(?:|)(?:[\x{9}\x{20}]){0,}\b(?:(?:cc|hx))(?:[\x{9}\x{20}]){0,}:"
    pattern = fastre.compile(r"(?<![\w/#])(?:ct|#\d)", re.IGNORECASE)
    assert [m.span() for m in pattern.finditer("fact CT act /ct #ct ct #4 a#5")] == [(5, 7), (20, 22), (23, 25)]


def test_the_shipped_translations_are_fresh():
    """resources/re2_translations.json holds every pipeline pattern's translation, as the
    translator gives it now; rewrite it with `make re2-cache` after editing a rule file."""
    shipped = fastre._shipped_translations()
    assert shipped, "re2_translations.json is missing or was written by another fastre.py: run `make re2-cache`"
    stale = [
        path
        for path, p in PIPELINE_PATTERNS
        if shipped.get(fastre.translation_key(p.python), "missing") != fastre.translate(p.python)
    ]
    assert not stale, f"stale RE2 translations (run `make re2-cache`): {stale[:5]}"


def test_translations_are_read_from_the_file_and_never_trusted_blindly(tmp_path, monkeypatch):
    pattern = re.compile(r"(?<![\w/#])(?:ct|cbct)", re.IGNORECASE)
    expected = fastre.translate(pattern)
    assert expected == r"(?i)\bc(?:t|bct)"
    monkeypatch.setattr(fastre, "TRANSLATIONS_FILE", tmp_path / "re2_translations.json")
    fastre._shipped_translations.cache_clear()
    try:
        assert fastre.write_translations([pattern], fastre.TRANSLATIONS_FILE) == 1
        # read from the file: the translator is not run again
        monkeypatch.setattr(fastre, "translate", lambda p: pytest.fail("translated again"))
        assert fastre.superset_pattern(pattern) == expected
        monkeypatch.undo()
        monkeypatch.setattr(fastre, "TRANSLATIONS_FILE", tmp_path / "re2_translations.json")
        # a file written by another version of fastre.py, or garbage, is ignored
        data = json.loads(fastre.TRANSLATIONS_FILE.read_text("utf-8"))
        data["patterns"] = {k: "x" for k in data["patterns"]}
        data["translator"] = "another"
        fastre.TRANSLATIONS_FILE.write_text(json.dumps(data), "utf-8")
        fastre._shipped_translations.cache_clear()
        assert fastre.superset_pattern(pattern) == expected
        fastre.TRANSLATIONS_FILE.write_bytes(b"\x00not json")
        fastre._shipped_translations.cache_clear()
        assert fastre.superset_pattern(pattern) == expected
        fastre.TRANSLATIONS_FILE.write_text("[1, 2]", "utf-8")  # JSON, but not the file's shape
        fastre._shipped_translations.cache_clear()
        assert fastre.superset_pattern(pattern) == expected
    finally:
        monkeypatch.undo()
        fastre._shipped_translations.cache_clear()


def test_untranslatable_patterns_still_work():
    pattern = fastre.compile(r"(a)\1")
    assert not pattern.accelerated
    assert [m.span() for m in pattern.finditer("xaay aa")] == [(1, 3), (5, 7)]


def test_patterns_pickle():
    pattern = fastre.compile(r"(?<!\w)pain(?!\w)", re.IGNORECASE)
    clone = pickle.loads(pickle.dumps(pattern))
    assert clone.accelerated and clone.search("jaw PAIN").span() == (4, 8)


def test_pattern_set_keeps_every_pattern_that_matches():
    """A rule left out by the one-pass pre-scan must have no match in the text."""
    patterns = [p for path, p in PIPELINE_PATTERNS if path.startswith(("cdt_context", "cdt_service"))]
    patterns.append(fastre.compile(r"(a)\1"))  # not pre-scannable: always a candidate
    prescan = fastre.PatternSet(patterns)
    texts = _corpus_texts(step=25)
    texts += ["", "No swelling. Pt denies pain.", "CBCT ordered \u2022 see report", "caf\u00e9 aa"]
    for text in texts:
        keep = set(prescan.candidates(text))
        assert len(patterns) - 1 in keep
        for i, pattern in enumerate(patterns):
            if pattern.python.search(text):
                assert i in keep, (pattern.pattern[:80], text[:80])
    assert len(prescan.candidates("zzzz")) < len(patterns) / 2  # and it does leave rules out
