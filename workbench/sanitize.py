"""The one display-boundary sanitiser for untrusted text.

Everything that comes from data (log lines, commit messages, span names, API
fields, DLQ payloads, titles, services) passes through :func:`sanitize` before a
terminal sees it, and is rendered as a ``Text``/``Content`` object, never as
markup. Rich and Textual strip only BEL, BS, VT, FF and CR: ESC, every C1 control
(including the 8-bit CSI ``0x9B``) and complete OSC/DCS sequences would reach the
terminal and could set its title, write the clipboard (OSC 52), inject
hyperlinks (OSC 8) or redraw the screen.

Policy: a complete escape sequence is replaced by one visible ``␛`` (the user
sees that something was there, the terminal sees nothing it would act on); any
other control character becomes a visible ``\\xNN``; bidi overrides and isolates
become ``<U+202E>`` (the "Trojan Source" class); lone surrogates become U+FFFD
so encoding the text for the terminal can never fail. ``\\t`` and ``\\n`` stay,
and ``\\r\\n`` becomes ``\\n`` so Windows line endings read normally.
"""

from __future__ import annotations

import re

ESCAPE_MARK = "\u241b"  # ␛ SYMBOL FOR ESCAPE: shows where a sequence was removed

# 7-bit and 8-bit introducers. Strings (OSC, DCS, SOS, PM, APC) end at ST (ESC \ or
# 0x9C) or, for OSC, BEL; an unterminated string runs to the end of the text,
# which is what a terminal would swallow too.
_STRING_SEQ = r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c|$)"
_CSI_SEQ = r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"
_ESC_SEQ = r"\x1b[\x20-\x2f]*[\x30-\x7e]?"
_SEQUENCES = re.compile(f"{_STRING_SEQ}|{_CSI_SEQ}|{_ESC_SEQ}")

_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# Every C0 control except \t and \n, DEL, every C1 control, bidi controls,
# line/paragraph separators and lone surrogates.
_SINGLE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}\u2028\u2029\ud800-\udfff]")


_JSON_UNSAFE = re.compile(f"[\x7f-\x9f{_BIDI}\u2028\u2029]")
"""What a JSON encoder leaves raw in strings but a terminal obeys (C1 controls such as
CSI ``\\x9b`` and OSC ``\\x9d``, DEL) or shows reordered (bidi overrides)."""


_UNSAFE_UTF8 = (
    (b"\x7f", None),
    (b"\xc2", re.compile(rb"\xc2[\x80-\x9f]")),
    (b"\xd8\x9c", None),
    (b"\xe2\x80", re.compile(rb"\xe2\x80[\x8e\x8f\xa8-\xae]")),
    (b"\xe2\x81", re.compile(rb"\xe2\x81[\xa6-\xa9]")),
)
""":data:`_JSON_UNSAFE` in UTF-8: a byte string each unsafe character's encoding starts
with (found by a substring search, far cheaper than a regex over the text), then the
exact test where that start is shared with safe characters (``µ`` begins with 0xC2)."""


def has_json_unsafe(document: bytes) -> bool:
    """Whether UTF-8 ``document`` holds a character :func:`json_safe` escapes."""
    if document.isascii():  # one pass in C; then DEL is the only candidate
        return b"\x7f" in document
    return any(lead in document and (exact is None or exact.search(document) is not None)
               for lead, exact in _UNSAFE_UTF8)


def json_safe(document: bytes) -> bytes:
    """JSON (UTF-8) with every terminal-unsafe character written as a ``\\uXXXX`` escape.

    Lossless: these characters can only occur inside JSON strings, and a parser reads
    the escape back as the same character. The encoder already escapes C0 controls.
    """
    if not has_json_unsafe(document):
        return document  # the common case, found without decoding a large document
    text = document.decode("utf-8")
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text).encode("utf-8")


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        return "\ufffd"
    if code in (0x2028, 0x2029):
        return "\n"
    if code > 0xFF:
        return f"<U+{code:04X}>"
    return f"\\x{code:02x}"


def sanitize(text: object) -> str:
    """``text`` as a string that is safe to hand to a terminal (see the module doc)."""
    value = text if isinstance(text, str) else str(text)
    value = value.replace("\r\n", "\n")
    value = _SEQUENCES.sub(ESCAPE_MARK, value)
    return _SINGLE.sub(_escape_one, value)


def sanitize_line(text: object, *, limit: int = 500) -> str:
    """:func:`sanitize` for one table cell: newlines and tabs shown inline, length capped."""
    value = text if isinstance(text, str) else str(text)
    if len(value) > limit * 4:
        value = value[: limit * 4]  # keep the regex work bounded on huge bodies
    value = sanitize(value).replace("\n", " \u21b5 ").replace("\t", " ")
    return value if len(value) <= limit else value[: limit - 1] + "\u2026"
