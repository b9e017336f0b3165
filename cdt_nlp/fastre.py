"""Fast scanning for the rule patterns, with exactly the answers of Python's ``re``.

The rule files compile to a few hundred large case-insensitive alternations (thousands of
terms each). Python's backtracking engine tries every alternative at every character, which
made regex scanning most of the pipeline's cost. :class:`FastPattern` keeps the Python
pattern as the authority and uses Google's RE2 (a linear-time automaton) only to skip ahead:

* the pattern is translated to an RE2 pattern that matches *at least* wherever the Python
  pattern matches (lookarounds dropped, classes widened, never narrowed);
* scanning asks RE2 for the next position where that superset matches, then runs the Python
  pattern anchored at that position; positions RE2 skips cannot start a Python match, so
  ``finditer`` and ``search`` return exactly the matches, in the order and with the groups,
  that ``re`` would.

The superset is only guaranteed on texts whose non-ASCII characters are caseless
non-alphanumeric symbols (bullets, dashes, quotes, no-break spaces); on any other text, and
for any pattern the translator does not handle, the Python pattern scans alone.
"""

from __future__ import annotations

import hashlib
import json
import re
from bisect import bisect_left
from functools import lru_cache
from pathlib import Path
from re import _constants as C  # noqa: N812  (the parser's opcode names)
from re import _parser
from typing import Any

try:  # google-re2 is a dependency; the fallback keeps the package importable without it
    import re2 as _re2_module
    from re2 import _re2
except ImportError:  # pragma: no cover - exercised only on a broken install
    _re2 = None
else:
    _UNANCHORED = _re2.RE2.Anchor.UNANCHORED
    _ANCHOR_START = _re2.RE2.Anchor.ANCHOR_START
    _ANCHOR_BOTH = _re2.RE2.Anchor.ANCHOR_BOTH


def _re2_options():
    """RE2 settings for the pre-scan: spans only (no groups), quiet, room for big alternations."""
    options = _re2_module.Options()
    options.max_mem = 64 << 20
    options.log_errors = False
    options.never_capture = True
    return options


__all__ = ["FastPattern", "PatternSet", "compile", "superset_pattern", "translate", "write_translations"]

_MAX_REPEAT_RE2 = 1000
#: bounded repeats with more than this many repetitions are pre-scanned as unbounded ones
_BOUNDED_REPEAT = 3
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
#: ASCII texts up to this length are encoded for each scan instead of going through the cache
_SHORT = 4096


class _Unsupported(Exception):
    """The pattern uses something the translator does not handle (backreferences)."""


def _hex(c: int) -> str:
    return f"\\x{{{c:x}}}"


def _class_char(c: int) -> str:
    ch = chr(c)
    if ch.isalnum() and c < 128:
        return ch
    return _hex(c)


def _ascii_members(items: list, flags: int) -> tuple[int, ...]:
    """The ASCII code points a class node matches, asked of Python's own engine."""
    return _probe(_class_source(items), flags & (re.IGNORECASE | re.ASCII))


@lru_cache(maxsize=4096)
def _probe(source: str, flags: int) -> tuple[int, ...]:
    probe = re.compile(source, flags)
    return tuple(c for c in range(128) if probe.fullmatch(chr(c)))


def _class_source(items: list) -> str:
    """A Python class equivalent to a parsed ``IN`` node (for probing membership)."""
    parts = []
    negate = False
    for op, av in items:
        if op is C.NEGATE:
            negate = True
        elif op is C.LITERAL:
            parts.append(re.escape(chr(av)))
        elif op is C.RANGE:
            parts.append(f"{re.escape(chr(av[0]))}-{re.escape(chr(av[1]))}")
        elif op is C.CATEGORY:
            parts.append(_CATEGORY_SOURCE[av])
        else:
            raise _Unsupported(str(op))
    return "[" + ("^" if negate else "") + "".join(parts) + "]"


_CATEGORY_SOURCE = {
    C.CATEGORY_DIGIT: r"\d",
    C.CATEGORY_NOT_DIGIT: r"\D",
    C.CATEGORY_SPACE: r"\s",
    C.CATEGORY_NOT_SPACE: r"\S",
    C.CATEGORY_WORD: r"\w",
    C.CATEGORY_NOT_WORD: r"\W",
}


def _may_match_non_ascii(items: list) -> bool:
    for op, av in items:
        if op is C.NEGATE or op is C.CATEGORY:
            return True
        if op is C.LITERAL and av >= 128:
            return True
        if op is C.RANGE and av[1] >= 128:
            return True
    return False


def _re2_class(items: list, flags: int) -> str:
    """An RE2 class matching every ASCII character the Python class does, and all of
    non-ASCII whenever the Python class might match any non-ASCII character."""
    members = _ascii_members(items, flags)
    wide = _may_match_non_ascii(items)
    if not members and not wide:
        return r"[^\x00-\x{10ffff}]"  # matches nothing, like the Python class on such texts
    body = "".join(_class_char(c) for c in members)
    if wide:
        body += r"\x{80}-\x{10ffff}"
    return f"[{body}]"


def _flag_letters(flags: int) -> str:
    return "".join(
        letter for bit, letter in ((re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s")) if flags & bit
    )


_WORD_ASCII = frozenset(c for c in range(128) if re.fullmatch(r"\w", chr(c), re.ASCII))
_WORD_CATEGORIES = (C.CATEGORY_DIGIT, C.CATEGORY_WORD)


def _char_members(op: Any, av: Any, flags: int) -> frozenset[int] | None:
    """The ASCII characters a one-character node (a literal, class or category) matches, asked
    of Python's own engine; ``None`` for any other node."""
    if op is C.LITERAL:
        return frozenset(_probe(re.escape(chr(av)), flags & (re.IGNORECASE | re.ASCII)))
    if op is C.IN:
        return frozenset(_ascii_members(av, flags))
    if op is C.CATEGORY:
        return frozenset(_ascii_members([(op, av)], flags))
    return None


def _first_chars(seq: Any, flags: int) -> tuple[frozenset[int] | None, bool]:
    """``(chars, nullable)`` for a parsed sequence: the ASCII characters a match can begin with
    (``None`` when that is not known for sure, e.g. for ``.`` or a class that can match a
    non-ASCII symbol) and whether it can match the empty string. Non-ASCII letters and digits
    are left out: the texts RE2 scans never hold any (see :func:`_prepare`)."""
    chars: frozenset[int] = frozenset()
    for op, av in seq:
        if op in (C.ASSERT, C.ASSERT_NOT, C.AT):
            continue  # zero-width: the next node holds the first character
        first, nullable = _first_node(op, av, flags)
        if first is None:
            return None, True
        chars |= first
        if not nullable:
            return chars, False
    return chars, True


def _first_node(op: Any, av: Any, flags: int) -> tuple[frozenset[int] | None, bool]:
    if op is C.LITERAL:
        if av >= 128 and not chr(av).isalnum():
            return None, False
        return _char_members(op, av, flags), False
    if op is C.IN:
        for item, value in av:
            if item is C.NEGATE or (item is C.CATEGORY and value not in _WORD_CATEGORIES):
                return None, False
            if item is C.LITERAL and value >= 128 and not chr(value).isalnum():
                return None, False
            if item is C.RANGE and value[1] >= 128:
                return None, False
        return _char_members(op, av, flags), False
    if op is C.CATEGORY:
        return (_char_members(op, av, flags) if av in _WORD_CATEGORIES else None), False
    if op is C.BRANCH:
        firsts = [_first_chars(alt, flags) for alt in av[1]]
        if any(first is None for first, _ in firsts):
            return None, True
        return frozenset().union(*(first for first, _ in firsts)), any(nullable for _, nullable in firsts)
    if op is C.SUBPATTERN:
        _group, add, delete, sub = av
        return _first_chars(sub, (flags | add) & ~delete)
    if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
        first, nullable = _first_chars(av[2], flags)
        return first, nullable or av[0] == 0
    if op is C.ATOMIC_GROUP:
        return _first_chars(av, flags)
    return None, True  # ., references and the rest: not worth proving


def _excludes_words_behind(av: Any, flags: int) -> bool:
    r"""``av`` (an ``ASSERT_NOT`` node) is a one-character lookbehind that rules out every ASCII
    word character before the position, as ``(?<![\w/#])`` does."""
    direction, sub = av
    if direction != -1 or len(sub) != 1:
        return False
    members = _char_members(*sub[0], flags)
    return members is not None and _WORD_ASCII <= members


_LINE_STARTS = (C.AT_BEGINNING, C.AT_BEGINNING_STRING)


def _non_word_char(op: Any, av: Any, flags: int) -> bool:
    """``(op, av)`` matches one character, never an ASCII word character (a non-ASCII one, on the
    texts RE2 scans, is never a word character either)."""
    members = _char_members(op, av, flags)
    return members is not None and not _WORD_ASCII & members


def _non_word_run(op: Any, av: Any, flags: int) -> bool:
    """``(op, av)`` is one non-word character or a repeat of one (``[ \t]*``): whatever it
    consumes, no word character stands before the position after it."""
    if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
        sub = list(av[2])
        return len(sub) == 1 and _non_word_char(*sub[0], flags)
    return _non_word_char(op, av, flags)


def _ends_non_word(seq: Any, flags: int) -> bool:
    """A lookbehind's body (``seq``) can only end with a non-word character or at a line start."""
    nodes = list(seq)
    if not nodes:
        return False
    op, av = nodes[-1]
    if op is C.AT:
        return av in _LINE_STARTS
    if op is C.SUBPATTERN:
        return _ends_non_word(av[3], flags)
    if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
        return av[0] >= 1 and _ends_non_word(av[2], flags)
    return _non_word_char(op, av, flags)


def _no_word_behind(op: Any, av: Any, flags: int) -> bool:
    """A zero-width node that rules out a word character before the position: ``(?<![\\w/#])``,
    ``(?<=\\s)``, ``(?<=^)``, or a group of alternatives of such (``(?:(?<=^)|(?<=[.;]\\s))``)."""
    if op is C.ASSERT_NOT:
        return _excludes_words_behind(av, flags)
    if op is C.ASSERT:
        return av[0] == -1 and _ends_non_word(av[1], flags)
    if op is C.BRANCH:
        return all(
            alt
            and all(o in (C.ASSERT, C.ASSERT_NOT, C.AT) for o, _ in alt)
            and any(_no_word_behind(o, a, flags) for o, a in alt)
            for alt in av[1]
        )
    return False


def _boundary(nodes: list, flags: int) -> str | None:
    """The RE2 assertion implied where no word character comes before ``nodes``: ``\\b`` when
    every match of ``nodes`` begins with a word character, ``\\B`` when none does, ``None``
    when that is not known."""
    first, nullable = _first_chars(nodes, flags)
    if first is None or nullable:
        return None
    if first <= _WORD_ASCII:
        return r"\b"
    return r"\B" if not first & _WORD_ASCII else None


def _translate(tree: Any, flags: int, after_non_word: bool = False) -> str:
    """RE2 source for a parsed sequence. ``after_non_word``: the sequence starts where a
    lookbehind such as ``(?<![\\w/#])`` has ruled out a word character before.

    Lookbehinds cannot be said in RE2, but one that rules out a word character before (or a
    group of them: ``(?:(?<=^)|(?<=[.;]\\s))``), together with the characters a match can begin
    with, implies a word boundary (``\\b``) or its absence (``\\B``). Keeping that condition
    stops RE2's automaton from starting a match inside every word of the text, which for the
    large alternations means far fewer states to build. Where only some alternatives begin with
    a word character, each alternative gets its own condition; a run of non-word characters
    (``[ \\t]*``) carries the condition past it."""
    out = []
    nodes = list(tree)
    for i, (op, av) in enumerate(nodes):
        if op in (C.ASSERT, C.ASSERT_NOT, C.BRANCH) and _no_word_behind(op, av, flags):
            after_non_word = True
            if op is C.BRANCH:  # of zero-width alternatives only: it translates to empty ones
                out.append(_translate_node(op, av, flags, False))
            continue
        if after_non_word and op not in (C.ASSERT, C.ASSERT_NOT, C.AT):
            condition = _boundary(nodes[i:], flags)
            if condition is not None:
                out.append(condition)
                after_non_word = False
            elif _non_word_run(op, av, flags):
                out.append(_translate_node(op, av, flags, False))  # "[ \t]*": the condition holds after it
                continue
            else:
                after_non_word = False
                if op in (C.BRANCH, C.SUBPATTERN, C.ATOMIC_GROUP):
                    out.append(_translate_node(op, av, flags, True))
                    continue
        out.append(_translate_node(op, av, flags, False))
    return "".join(out)


def _translate_node(op: Any, av: Any, flags: int, after_non_word: bool) -> str:
    """One parsed node; ``after_non_word`` is passed to the start of each alternative or group
    (never into a repeat, whose later rounds start elsewhere)."""
    if op is C.LITERAL:
        ch = chr(av)
        return re.escape(ch) if av < 128 and ch.isprintable() else _hex(av)
    if op is C.NOT_LITERAL:
        return _re2_class([(C.NEGATE, None), (C.LITERAL, av)], flags)
    if op is C.ANY:
        return "(?s:.)" if flags & re.DOTALL else "[^\\n]"
    if op is C.IN:
        return _re2_class(av, flags)
    if op is C.CATEGORY:
        return _re2_class([(C.CATEGORY, av)], flags)
    if op is C.BRANCH:
        return "(?:" + "|".join(_translate(b, flags, after_non_word) for b in av[1]) + ")"
    if op is C.SUBPATTERN:
        _group, add, delete, sub = av
        inner_flags = (flags | add) & ~delete
        letters_on, letters_off = _flag_letters(add), _flag_letters(delete)
        spec = letters_on + ("-" + letters_off if letters_off else "")
        return f"(?{spec}:{_translate(sub, inner_flags, after_non_word)})"
    if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
        lo, hi, sub = av
        inner = _translate(sub, flags)
        lo = min(lo, _MAX_REPEAT_RE2)
        if hi == C.MAXREPEAT or hi > _BOUNDED_REPEAT:
            # an unbounded repeat is wider, and much cheaper for RE2's automaton than {0,28}
            return f"(?:{inner}){{{lo},}}"
        return f"(?:{inner}){{{lo},{hi}}}"
    if op is C.ATOMIC_GROUP:
        return f"(?:{_translate(av, flags, after_non_word)})"
    if op in (C.ASSERT, C.ASSERT_NOT):
        return ""  # zero-width conditions are dropped: the superset ignores them
    if op is C.AT:
        return _AT.get(av, "") if not (flags & re.MULTILINE) else _AT_MULTILINE.get(av, "")
    raise _Unsupported(str(op))  # GROUPREF, GROUPREF_EXISTS, ...


# Python's "$" also matches before a final newline, which RE2 cannot say: it is dropped (wider)
_AT = {
    C.AT_BEGINNING: "^",
    C.AT_BEGINNING_STRING: r"\A",
    C.AT_END_STRING: r"\z",
    C.AT_BOUNDARY: r"\b",
    C.AT_NON_BOUNDARY: r"\B",
}
_AT_MULTILINE = {**_AT, C.AT_BEGINNING: "(?m:^)", C.AT_END: "(?m:$)"}


def superset_pattern(pattern: re.Pattern[str]) -> str | None:
    """RE2 source matching wherever ``pattern`` matches (on the texts :func:`_prepare` accepts),
    or ``None`` when the pattern cannot be translated.

    Translating parses the pattern a second time in Python, about half a second for the
    pipeline's rules at every start-up, so the translations of the shipped rules are read from
    ``resources/re2_translations.json`` (written by ``make re2-cache``). Its entries are keyed
    by the pattern, its flags and this module's own source, so an edited rule or translator
    simply misses the file and is translated here."""
    if not isinstance(pattern.pattern, str):
        return None
    shipped = _shipped_translations()
    key = translation_key(pattern)
    if key in shipped:
        return shipped[key]
    return translate(pattern)


def translate(pattern: re.Pattern[str]) -> str | None:
    """:func:`superset_pattern` worked out from the pattern itself."""
    try:
        tree = _parser.parse(pattern.pattern, pattern.flags & ~re.UNICODE)
        flags = tree.state.flags
        body = _translate(tree, flags)
    except (_Unsupported, re.error, RecursionError):
        return None
    head = _flag_letters(flags & re.IGNORECASE)
    return (f"(?{head})" if head else "") + body


TRANSLATIONS_FILE = Path(__file__).resolve().parent / "resources" / "re2_translations.json"


@lru_cache(maxsize=1)
def translator_id() -> str:
    """A digest of this module's source: translations made by other code are not reused."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def translation_key(pattern: re.Pattern[str]) -> str:
    return hashlib.sha256(f"{pattern.flags}:{pattern.pattern}".encode()).hexdigest()[:24]


@lru_cache(maxsize=1)
def _shipped_translations() -> dict[str, str | None]:
    """The translation file's entries, or none when it is missing, unreadable or was written
    by another version of this module."""
    try:
        data = json.loads(TRANSLATIONS_FILE.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("translator") != translator_id():
        return {}
    patterns = data.get("patterns")
    if not isinstance(patterns, dict):
        return {}
    return {k: v for k, v in patterns.items() if v is None or isinstance(v, str)}


def write_translations(patterns: list[re.Pattern[str]], path: Path = TRANSLATIONS_FILE) -> int:
    """Write the translations of ``patterns`` (the pipeline's, see :mod:`cdt_nlp.re2_cache`) to
    ``path``; returns how many were written."""
    entries = {translation_key(p): translate(p) for p in patterns if isinstance(p.pattern, str)}
    data = {"translator": translator_id(), "patterns": dict(sorted(entries.items()))}
    path.write_text(json.dumps(data, indent=0, ensure_ascii=True) + "\n", "utf-8")
    _shipped_translations.cache_clear()
    return len(entries)


def _caseless_symbol(ch: str) -> bool:
    return not ch.isalnum() and ch.lower() == ch and ch.upper() == ch and ch != "\u0345"


class _Prepared:
    """A text encoded once for RE2, with char <-> byte offset conversion."""

    __slots__ = ("text", "data", "_chars", "_bytes", "_extra")

    def __init__(self, text: str, data: bytes, non_ascii: list[int]) -> None:
        self.text = text
        self.data = data
        self._chars = non_ascii  # char index of each non-ASCII char
        extra, total = [], 0
        byte_pos = []
        for i in non_ascii:
            byte_pos.append(i + total)
            extra.append(total)
            total += len(text[i].encode("utf-8")) - 1
        self._bytes = byte_pos
        self._extra = extra + [total]

    def to_byte(self, char: int) -> int:
        if not self._chars:
            return char
        return char + self._extra[bisect_left(self._chars, char)]

    def to_char(self, byte: int) -> int:
        if not self._chars:
            return byte
        return byte - self._extra[bisect_left(self._bytes, byte)]


#: the last few texts prepared (a note and its sentences are scanned by many patterns in a row)
_CACHE: list[_Prepared | None] = [None, None, None, None]


def _prepare(text: str) -> _Prepared | None:
    """The text ready for RE2, or ``None`` when its non-ASCII letters make RE2 unreliable."""
    for cached in _CACHE:
        if cached is not None and cached.text is text:
            return cached
    if text.isascii():
        prepared = _Prepared(text, text.encode("ascii"), [])
    else:
        non_ascii = [m.start() for m in _NON_ASCII.finditer(text)]
        if not all(_caseless_symbol(text[i]) for i in non_ascii):
            return None
        prepared = _Prepared(text, text.encode("utf-8"), non_ascii)
    _CACHE.insert(0, prepared)
    _CACHE.pop()
    return prepared


class FastPattern:
    """A compiled pattern: Python's ``re`` semantics, RE2's speed where it is safe.

    Behaves like the :class:`re.Pattern` it wraps for ``finditer``, ``search``, ``match``,
    ``fullmatch`` and ``findall``; ``.python`` is the wrapped pattern.
    """

    __slots__ = ("python", "pattern", "flags", "groupindex", "_re2", "_source")

    def __init__(self, python: re.Pattern[str], use_re2: bool = True) -> None:
        self.python = python
        self.pattern = python.pattern
        self.flags = python.flags
        self.groupindex = python.groupindex
        self._re2 = None
        self._source = superset_pattern(python) if (use_re2 and _re2 is not None) else None
        if self._source is not None:
            compiled = _re2.RE2(self._source.encode("utf-8"), _re2_options())
            self._re2 = compiled if compiled.ok() else None

    def __repr__(self) -> str:
        return f"FastPattern({self.python!r}, re2={self._re2 is not None})"

    def __reduce__(self):
        return (FastPattern, (self.python, self._source is not None))

    @property
    def accelerated(self) -> bool:
        """Whether RE2 skips ahead for this pattern."""
        return self._re2 is not None

    def _next_ascii(self, text: str, data: bytes, pos: int) -> re.Match[str] | None:
        """The first Python match from ``pos`` on in an ASCII ``text`` (``data``, its bytes, has
        the same offsets): the lean path of the common case, without the text cache."""
        find, anchored, n = self._re2.Match, self.python.match, len(text)
        while pos <= n:
            start = find(_UNANCHORED, data, pos, n)[0][0]
            if start < 0:
                return None
            m = anchored(text, start)
            if m is not None:
                return m
            pos = start + 1
        return None

    def _candidates(self, text: str, pos: int):
        """Python matches from ``pos`` on, found by trying only where the superset matches."""
        pos = min(max(pos, 0), len(text))  # as re does with an out-of-range pos
        if self._re2 is not None and len(text) <= _SHORT and text.isascii():
            data = text.encode("ascii")
            while (m := self._next_ascii(text, data, pos)) is not None:
                if m.end() == m.start():  # an empty match: let Python carry on with its own rules
                    yield from self.python.finditer(text, m.start())
                    return
                yield m
                pos = m.end()
            return
        prepared = _prepare(text) if self._re2 is not None else None
        if prepared is None:
            yield from self.python.finditer(text, pos)
            return
        data, end = prepared.data, len(prepared.data)
        find = self._re2.Match
        anchored = self.python.match
        n = len(text)
        while pos <= n:
            spans = find(_UNANCHORED, data, prepared.to_byte(pos), end)
            start = spans[0][0]
            if start < 0:
                return
            start = prepared.to_char(start)
            m = anchored(text, start)
            if m is None:
                pos = start + 1
                continue
            if m.end() == start:  # an empty match: let Python carry on with its own rules
                yield from self.python.finditer(text, start)
                return
            yield m
            pos = m.end()

    def finditer(self, text: str, pos: int = 0):
        return self._candidates(text, pos)

    def search(self, text: str, pos: int = 0):
        if self._re2 is not None and len(text) <= _SHORT and text.isascii():
            # without a generator: sentences are searched often
            m = self._next_ascii(text, text.encode("ascii"), min(max(pos, 0), len(text)))
            return m if m is None or m.end() != m.start() else self.python.search(text, m.start())
        return next(self._candidates(text, pos), None)

    def findall(self, text: str, pos: int = 0) -> list:
        if self.python.groups:
            return self.python.findall(text, pos)
        return [m.group(0) for m in self._candidates(text, pos)]

    def _excluded(self, text: str, pos: int, anchor) -> bool:
        """True when RE2 shows the superset cannot match anchored at ``pos`` (so neither can Python)."""
        if not 0 <= pos <= len(text):
            return False
        prepared = _prepare(text)
        if prepared is None:
            return False
        return self._re2.Match(anchor, prepared.data, prepared.to_byte(pos), len(prepared.data))[0][0] < 0

    def match(self, text: str, pos: int = 0):
        if self._re2 is not None and self._excluded(text, pos, _ANCHOR_START):
            return None
        return self.python.match(text, pos)

    def fullmatch(self, text: str, pos: int = 0):
        if self._re2 is not None and self._excluded(text, pos, _ANCHOR_BOTH):
            return None
        return self.python.fullmatch(text, pos)


def compile(pattern: str | re.Pattern[str], flags: int = 0) -> FastPattern:  # noqa: A001
    """Like :func:`re.compile`, returning a :class:`FastPattern`."""
    python = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern, flags)
    return FastPattern(python)


class PatternSet:
    """Which of several patterns can match a text, from one RE2 pass over it.

    ``candidates(text)`` returns the indices of the patterns worth running on ``text``: every
    pattern whose superset matches somewhere in it, plus every pattern RE2 cannot pre-scan.
    A pattern left out has no match in the text, so running only the candidates gives the
    same matches as running them all.
    """

    __slots__ = ("patterns", "_set", "_always", "_members")

    def __init__(self, patterns: list[FastPattern]) -> None:
        self.patterns = list(patterns)
        self._set = None
        self._always: list[int] = []
        self._members: list[int] = []
        if _re2 is not None:
            regex_set = _re2.Set(_UNANCHORED, _re2_options())
            for i, pattern in enumerate(self.patterns):
                if pattern.accelerated and regex_set.Add(pattern._source.encode("utf-8")) >= 0:
                    self._members.append(i)
                else:
                    self._always.append(i)
            if self._members and regex_set.Compile():
                self._set = regex_set
        if self._set is None:
            self._always = list(range(len(self.patterns)))
            self._members = []

    def candidates(self, text: str) -> list[int]:
        """Indices (ascending) of the patterns that may match ``text``."""
        prepared = _prepare(text) if self._set is not None else None
        if prepared is None:
            return list(range(len(self.patterns)))
        hits = self._set.Match(prepared.data) or []
        found = [self._members[k] for k in hits]
        return sorted(found + self._always) if self._always else sorted(found)
