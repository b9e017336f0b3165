"""Turning user input (str or bytes from a file, stdin or a request) into note text."""

from __future__ import annotations

from .errors import CdtError

#: notes longer than this are refused (a 10 MB export is a file, not a note)
MAX_CHARS = 1_000_000
_FALLBACK_ENCODINGS = ("utf-8-sig", "cp1252")


def decode_note(data: bytes) -> str:
    """Decode note bytes: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252.

    Binary data (NUL bytes outside UTF-16) is refused with a clear error.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise CdtError("E003") from exc
    nul = data.count(b"\x00")
    if nul:
        raise CdtError("E002", nul=nul)
    for encoding in _FALLBACK_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CdtError("E003")


def clean_note(note: object, max_chars: int = MAX_CHARS) -> str:
    """Validate a note and return its text, or raise :class:`CdtError`."""
    if isinstance(note, (bytes, bytearray)):
        note = decode_note(bytes(note))
    if not isinstance(note, str):
        raise CdtError("E008", type=type(note).__name__)
    if "\x00" in note:
        raise CdtError("E002", nul=note.count("\x00"))
    if len(note) > max_chars:
        raise CdtError("E004", size=len(note), limit=max_chars)
    control = sum(1 for ch in note if ord(ch) < 32 and ch not in "\n\r\t\f\v")
    if control > max(8, len(note) // 100):
        raise CdtError("E002", nul=control)
    if not note.strip():
        raise CdtError("E001")
    return note.replace("\r\n", "\n").replace("\r", "\n")
